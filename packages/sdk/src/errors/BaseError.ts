/**
 * The one base class of every Carekey error (after viem's `BaseError`).
 *
 * `name` is stable and machine-readable; `message` is one short line that says
 * what was wrong, quotes the offending value where it is safe to, and hints at
 * the fix. Crypto errors say little on purpose (see `CryptoError`).
 */
export type BaseErrorParameters = {
  /** Extra machine-readable facts (never key material). */
  details?: Record<string, unknown>;
  /** The lower-level error that caused this one. */
  cause?: unknown;
  /** A hint at how to fix the problem, appended to the message. */
  hint?: string;
};

export class BaseError extends Error {
  override name = 'CarekeyError';
  readonly details: Record<string, unknown>;
  readonly shortMessage: string;

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    super(parameters.hint ? `${shortMessage} (${parameters.hint})` : shortMessage, {
      cause: parameters.cause,
    });
    this.shortMessage = shortMessage;
    this.details = parameters.details ?? {};
  }
}
