import { BaseError } from './BaseError.ts';

/**
 * A signed request to the node is malformed, stale, replayed, for another node or chain, or signed by someone
 * who may not act for the identity it names. Refusals say which check failed, never more.
 */
export class SignedRequestError extends BaseError {
  override name = 'SignedRequestError';
  /** Stable reason code, e.g. `expired`, `replayed`, `wrong-audience`, `bad-signature`. */
  readonly reason: SignedRequestRefusal;
  constructor(reason: SignedRequestRefusal, message: string) {
    super(message, { details: { reason } });
    this.reason = reason;
  }
}

/** Why a signed request was refused. */
export type SignedRequestRefusal =
  | 'malformed'
  | 'not-yet-valid'
  | 'expired'
  | 'lifetime-too-long'
  | 'wrong-audience'
  | 'wrong-chain'
  | 'bad-signature'
  | 'replayed'
  | 'body-mismatch'
  | 'request-mismatch';
