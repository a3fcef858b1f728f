import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** Why a set of recovery shares could not give back the secret. */
export type RecoveryRefusal =
  | 'malformed-share'
  | 'too-few-shares'
  | 'duplicate-share'
  | 'mixed-sets'
  | 'stale-epoch'
  | 'wrong-set'
  | 'corrupted-share'
  | 'secret-mismatch'
  | 'invalid-parameters'
  | 'duplicate-guardian'
  | 'self-guardian'
  | 'too-few-guardians'
  | 'too-many-guardians'
  | 'invalid-threshold'
  | 'guardian-without-key';

/** Splitting a secret or recovering it from guardians' shares failed. */
export class RecoveryError extends BaseError {
  override name = 'RecoveryError';
  readonly reason: RecoveryRefusal;
  constructor(reason: RecoveryRefusal, shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(shortMessage, { ...parameters, details: { reason, ...parameters.details } });
    this.reason = reason;
  }
}
