import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/** Why a reference to someone (an address or a DID) was refused. */
export type IdentityRefRefusal = 'malformed' | 'bad-checksum' | 'other-chain';

/** An address or DID that cannot name a Carekey identity; `reason` says why. */
export class IdentityRefError extends BaseError {
  override name = 'IdentityRefError';
  readonly reason: IdentityRefRefusal;
  constructor(reason: IdentityRefRefusal, shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(shortMessage, { ...parameters, details: { reason, ...parameters.details } });
    this.reason = reason;
  }
}
