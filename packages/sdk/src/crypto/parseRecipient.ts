import { InvalidRecipientError } from '../errors/crypto.ts';
import { MlKem768X25519Recipient } from './mlkem768x25519.ts';
import type { Recipient } from './recipient.ts';
import { X25519Recipient } from './x25519.ts';

/**
 * Parses an age recipient string: `age1pq1...` (hybrid post-quantum) or
 * `age1...` (X25519). Surrounding whitespace is ignored.
 * @throws InvalidRecipientError (quoting the start of the string) if it is neither.
 * @example parseRecipient('age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p')
 */
export function parseRecipient(recipient: string): Recipient {
  const text = recipient.trim();
  if (text.startsWith('age1pq1')) return new MlKem768X25519Recipient(text);
  if (text.startsWith('age1')) return new X25519Recipient(text);
  throw new InvalidRecipientError({ details: { recipient: text.slice(0, 20) } });
}
