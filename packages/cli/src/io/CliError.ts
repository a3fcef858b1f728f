import { BaseError } from '@carekey/sdk/errors';

/** A command-line usage or environment problem: printed as one line, exit code 1. */
export class CliError extends BaseError {
  override name = 'CliError';
}
