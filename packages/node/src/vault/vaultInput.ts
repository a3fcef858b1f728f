import { decodeStanza, encodeStanza } from '@carekey/sdk/crypto';
import { VaultInputError } from '@carekey/sdk/errors';
import { type Address, getAddress, type Hex, isAddress, isHex, size } from 'viem';

/** Stanza types the vault stores: public-key recipients only (never `scrypt`, a passphrase wrap). */
export const STANZA_TYPES: readonly string[] = ['X25519', 'mlkem768x25519'];

/** Longest stored stanza text, characters (an ML-KEM hybrid stanza is about 1.5 KB). */
export const MAX_STANZA_LENGTH = 4096;

/**
 * A 32-byte value from outside, lower-cased.
 * @throws {VaultInputError} `invalid-bytes32` naming the field.
 */
export function toBytes32(value: unknown, field: string): Hex {
  if (typeof value !== 'string' || !isHex(value, { strict: true }) || size(value) !== 32) {
    throw new VaultInputError('invalid-bytes32', `${field} must be 32 bytes of 0x-hex`, {
      details: { field },
    });
  }
  return value.toLowerCase() as Hex;
}

/**
 * An address from outside, checksummed.
 * @throws {VaultInputError} `invalid-address` naming the field.
 */
export function toAddress(value: unknown, field: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new VaultInputError('invalid-address', `${field} must be a 20-byte 0x-hex address`, {
      details: { field },
    });
  }
  return getAddress(value.toLowerCase());
}

/**
 * Checks that `text` is exactly one age recipient stanza of a public-key type, in canonical form
 * (`encodeStanza(decodeStanza(text)) === text`), and carries no secret key.
 *
 * @throws {VaultInputError} `invalid-stanza` naming the field.
 */
export function checkStanza(text: unknown, field: string): string {
  const fail = (why: string): never => {
    throw new VaultInputError('invalid-stanza', `${field} is not an age recipient stanza (${why})`, {
      details: { field },
      hint: 'send the output of encodeStanza(wrapFileKey(...)) for an X25519 recipient',
    });
  };
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_STANZA_LENGTH) return fail('size');
  if (text.toUpperCase().includes('AGE-SECRET-KEY-')) return fail('contains a secret key');
  let canonical: string;
  try {
    const stanza = decodeStanza(text);
    if (!STANZA_TYPES.includes(stanza.type)) return fail(`type ${stanza.type.slice(0, 20)}`);
    canonical = encodeStanza(stanza);
  } catch {
    return fail('does not parse');
  }
  if (canonical !== text) fail('not canonical');
  return text;
}
