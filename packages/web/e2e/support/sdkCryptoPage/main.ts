/**
 * The browser half of the SDK crypto tests and the web bench: `@carekey/sdk/crypto` exactly as the portal bundles
 * it, driven by `page.evaluate(() => window.sdkCrypto.…)`. Bytes move over HTTP (`fetch`), not the DevTools
 * protocol, so large files cost what they cost in the portal.
 */
import {
  decryptStream,
  encrypt,
  encryptStream,
  parseIdentity,
  parseRecipient,
  ScryptRecipient,
  X25519Identity,
} from '@carekey/sdk/crypto';

/** A refusal as the page reports it: the SDK error's class name and message. */
export type Refusal = { ok: false; name: string; message: string };
export type Digest = { ok: true; length: number; sha256: string };

function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    all.set(part, at);
    at += part.length;
  }
  return all;
}

async function sha256Hex(parts: readonly Uint8Array[]): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', concat(parts)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function upload(url: string, body: Uint8Array): Promise<void> {
  const response = await fetch(url, { method: 'POST', body: concat([body]) });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status}`);
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return parts;
    parts.push(value);
  }
}

/** A stream of `bytes` in `size`-byte pieces (as a file read or a download would deliver them). */
function pieces(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + size));
      at += size;
    },
  });
}

const api = {
  /** A fresh X25519 key pair made in the browser. */
  generate(): { identity: string; recipient: string } {
    const identity = X25519Identity.generate();
    return { identity: identity.toString(), recipient: identity.recipient.toString() };
  },

  /** Fetches plaintext, encrypts it to `recipient` (whole, or streamed), uploads the age file. */
  async encrypt(parameters: {
    from: string;
    to: string;
    recipient: string;
    streamed: boolean;
  }): Promise<number> {
    const plaintext = await fetchBytes(parameters.from);
    const recipients = [parseRecipient(parameters.recipient)];
    const file = parameters.streamed
      ? concat(await drain(pieces(plaintext, 10_000).pipeThrough(encryptStream({ recipients }))))
      : await encrypt({ recipients, plaintext });
    await upload(parameters.to, file);
    return file.length;
  },

  /** Fetches plaintext, encrypts it with a passphrase (scrypt, `logN`), uploads the age file. */
  async encryptWithPassphrase(parameters: { from: string; to: string; passphrase: string; logN: number }) {
    const plaintext = await fetchBytes(parameters.from);
    const file = await encrypt({
      recipients: [new ScryptRecipient(parameters.passphrase, { logN: parameters.logN })],
      plaintext,
    });
    await upload(parameters.to, file);
    return file.length;
  },

  /** Streams an age file from `from` through `decryptStream`; the plaintext's length and SHA-256, or the refusal. */
  async decrypt(parameters: { from: string; identity: string }): Promise<Digest | Refusal> {
    const response = await fetch(parameters.from);
    if (!response.ok || response.body === null) throw new Error(`GET ${parameters.from}: ${response.status}`);
    try {
      const parts = await drain(
        response.body.pipeThrough(decryptStream({ identities: [parseIdentity(parameters.identity)] })),
      );
      return { ok: true, length: parts.reduce((n, p) => n + p.length, 0), sha256: await sha256Hex(parts) };
    } catch (error) {
      const e = error as Error;
      return { ok: false, name: e.name, message: e.message };
    }
  },

  /**
   * Bench: fetches an age file into memory, then times `decryptStream` over it in 1 MiB pieces (what a download
   * delivers), counting the plaintext bytes. Network time is not counted.
   */
  async timeDecrypt(parameters: { from: string; identity: string }): Promise<{ bytes: number; ms: number }> {
    const file = await fetchBytes(parameters.from);
    const started = performance.now();
    const reader = pieces(file, 1 << 20)
      .pipeThrough(decryptStream({ identities: [parseIdentity(parameters.identity)] }))
      .getReader();
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
    }
    return { bytes, ms: performance.now() - started };
  },
};

export type SdkCryptoPageApi = typeof api;
(window as unknown as { sdkCrypto: SdkCryptoPageApi }).sdkCrypto = api;
document.body.dataset.ready = 'true';
