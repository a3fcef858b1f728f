import { BaseError } from '@carekey/sdk/errors';
import { Command, CommanderError } from 'commander';
import { registerInit } from './commands/init.ts';
import { registerWhoami } from './commands/whoami.ts';

/** Builds the `carekey` program with every command. */
export function buildProgram(): Command {
  const program = new Command('carekey')
    .description('Carekey: your medical records, encrypted, shared on your terms')
    .showHelpAfterError()
    .exitOverride();
  registerInit(program);
  registerWhoami(program);
  return program;
}

/**
 * Runs the CLI and returns the exit code: 0 on success, 1 on a Carekey error (one line on stderr), 2 on bad usage.
 */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof BaseError) {
      process.stderr.write(`carekey: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
