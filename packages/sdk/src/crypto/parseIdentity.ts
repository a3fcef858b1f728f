import { InvalidIdentityError } from '../errors/crypto.ts';
import { MlKem768X25519Identity } from './mlkem768x25519.ts';
import type { Identity } from './recipient.ts';
import { X25519Identity } from './x25519.ts';

/**
 * Parses one age identity string: `AGE-SECRET-KEY-PQ-1...` or `AGE-SECRET-KEY-1...`.
 * @throws InvalidIdentityError if it is neither (the input is never quoted).
 */
export function parseIdentity(identity: string): Identity {
  const text = identity.trim();
  if (text.startsWith('AGE-SECRET-KEY-PQ-1')) return new MlKem768X25519Identity(text);
  if (text.startsWith('AGE-SECRET-KEY-1')) return new X25519Identity(text);
  throw new InvalidIdentityError();
}

/**
 * Parses an identity file as `age-keygen` writes it: one identity per line,
 * `#` comments and blank lines ignored.
 * @throws InvalidIdentityError (with the line number) on a bad line, or if there is none.
 */
export function parseIdentityFile(text: string): Identity[] {
  const identities: Identity[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    try {
      identities.push(parseIdentity(line));
    } catch (cause) {
      throw new InvalidIdentityError({ cause, details: { line: index + 1 } });
    }
  }
  if (identities.length === 0) throw new InvalidIdentityError({ details: { reason: 'no identity in file' } });
  return identities;
}
