import { BaseError } from '../errors/BaseError.ts';

/** The patient index cannot do what was asked (e.g. an IPS without any Patient record). */
export class ClinicalError extends BaseError {
  override name = 'ClinicalError';
}
