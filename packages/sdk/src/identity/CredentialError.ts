import { BaseError, type BaseErrorParameters } from '../errors/BaseError.ts';

/**
 * Why a credential or presentation was refused. Stable codes: the node answers them as problem+json `code`, the
 * CLI prints them, tests switch on them (THREAT-MODEL T-7).
 */
export type CredentialRefusal =
  | 'malformed'
  | 'unsupported-alg'
  | 'did-unresolvable'
  | 'untrusted-issuer'
  | 'bad-signature'
  | 'expired'
  | 'not-yet-valid'
  | 'revoked'
  | 'status-unavailable'
  | 'missing-key-binding'
  | 'bad-key-binding'
  | 'wrong-audience'
  | 'wrong-nonce'
  | 'stale-presentation'
  | 'tampered-disclosure';

/** A credential, presentation or DID refused by the identity layer; `reason` says which check failed. */
export class CredentialError extends BaseError {
  override name = 'CredentialError';
  readonly reason: CredentialRefusal;

  constructor(reason: CredentialRefusal, shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(shortMessage, { ...parameters, details: { reason, ...(parameters.details ?? {}) } });
    this.reason = reason;
  }
}
