import { BaseError, type BaseErrorParameters } from './BaseError.ts';

/**
 * Base class of every age / crypto failure. Messages are deliberately uniform
 * ("invalid header", "invalid ciphertext", ...) and never echo key material,
 * passphrases or plaintext (typage, the TypeScript age, does the same).
 * `details.reason` may say which rule was broken, for debugging.
 */
export class CryptoError extends BaseError {
  override name = 'CryptoError';
}

/** The age header (or the payload nonce right after it) is malformed. */
export class InvalidHeaderError extends CryptoError {
  override name = 'InvalidHeaderError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('invalid header', parameters);
  }
}

/** The payload failed authentication: tampered, truncated, reordered or extended. */
export class InvalidCiphertextError extends CryptoError {
  override name = 'InvalidCiphertextError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('invalid ciphertext', parameters);
  }
}

/** None of the given identities (keys or passphrases) unwraps any stanza of the header. */
export class NoIdentityMatchError extends CryptoError {
  override name = 'NoIdentityMatchError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('no identity matched', {
      hint: 'check that the file was encrypted to this key, or that the passphrase is right',
      ...parameters,
    });
  }
}

/** A file key was unwrapped but the header MAC is wrong: the header was modified. */
export class HeaderMacMismatchError extends CryptoError {
  override name = 'HeaderMacMismatchError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('header MAC mismatch', parameters);
  }
}

/** The ASCII armor (PEM-like wrapper) is malformed. */
export class InvalidArmorError extends CryptoError {
  override name = 'InvalidArmorError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('invalid armor', parameters);
  }
}

/** A recipient of a kind this SDK cannot encrypt to (or combine), e.g. scrypt mixed with others. */
export class UnsupportedRecipientError extends CryptoError {
  override name = 'UnsupportedRecipientError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('unsupported recipient', parameters);
  }
}

/** A recipient string (`age1...`, `age1pq1...`) could not be parsed. Public keys are safe to quote. */
export class InvalidRecipientError extends CryptoError {
  override name = 'InvalidRecipientError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('invalid recipient', {
      hint: 'expected an age public key such as "age1..." or "age1pq1..."',
      ...parameters,
    });
  }
}

/** An identity string (`AGE-SECRET-KEY-1...`) could not be parsed. Never quotes the input. */
export class InvalidIdentityError extends CryptoError {
  override name = 'InvalidIdentityError';
  constructor(parameters: BaseErrorParameters = {}) {
    super('invalid identity', {
      hint: 'expected an age secret key such as "AGE-SECRET-KEY-1..." or "AGE-SECRET-KEY-PQ-1..."',
      ...parameters,
    });
  }
}
