/**
 * Property tests (fast-check): round trips at chunk boundaries, tamper
 * resistance (T-13) and freshness of keys and nonces (T-14).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError } from '../errors/crypto.ts';
import { nobleCryptoBackend } from './backend.ts';
import { Decryptor, decrypt } from './decrypt.ts';
import { encrypt } from './encrypt.ts';
import { parseHeader } from './header.ts';
import { nodeCryptoBackend } from './node/nodeBackend.ts';
import {
  CHUNK_SIZE,
  decryptPayload,
  encryptPayload,
  PayloadDecryptor,
  SEALED_CHUNK_SIZE,
} from './payload.ts';
import { X25519Identity } from './x25519.ts';

const identity = X25519Identity.generate();
const recipients = [identity.recipient];
const backend = nodeCryptoBackend;

/** Sizes concentrated around chunk boundaries: k·64 KiB + δ, plus small ones. */
const boundarySize = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -2, max: 2 }))
    .map(([k, d]) => Math.max(0, k * CHUNK_SIZE + d)),
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 3 * CHUNK_SIZE + 5 }),
);

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

/** Decrypts, returning what was released and whether it failed with a CryptoError. */
async function attempt(ciphertext: Uint8Array, armor: boolean | 'auto' = false) {
  const decryptor = new Decryptor({ identities: [identity], backend, armor });
  const released: Uint8Array[] = [];
  const sink = (p: Uint8Array) => released.push(p);
  try {
    await decryptor.write(ciphertext, sink);
    await decryptor.end(sink);
    return { failed: false, released: Buffer.concat(released) };
  } catch (error) {
    if (!(error instanceof CryptoError)) throw error;
    return { failed: true, released: Buffer.concat(released) };
  }
}

describe('round trips', () => {
  it('F-14 decrypt(encrypt(x)) = x for sizes around chunk boundaries (node backend, 1000 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(boundarySize, fc.integer(), fc.boolean(), async (size, seed, armor) => {
        const plaintext = pattern(size, seed);
        const ciphertext = await encrypt({ recipients, plaintext, armor, backend });
        const back = await decrypt({ identities: [identity], ciphertext, backend });
        expect(Buffer.from(back).equals(Buffer.from(plaintext))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  }, 300_000);

  it('the noble and node backends produce and read the same payloads, fed in random pieces', async () => {
    await fc.assert(
      fc.asyncProperty(boundarySize, fc.integer({ min: 1, max: 200_000 }), async (size, piece) => {
        const plaintext = pattern(size, size);
        const fileKey = new Uint8Array(16).fill(7);
        const fromNode = encryptPayload({ plaintext, fileKey, backend: nodeCryptoBackend });
        const back = decryptPayload({ fileKey, payload: fromNode.payload, backend: nobleCryptoBackend });
        expect(Buffer.from(back).equals(Buffer.from(plaintext))).toBe(true);
        // stream the file through the Decryptor in pieces of `piece` bytes
        const file = await encrypt({ recipients, plaintext, backend: nobleCryptoBackend });
        const decryptor = new Decryptor({ identities: [identity], backend: nodeCryptoBackend });
        const parts: Uint8Array[] = [];
        for (let i = 0; i < file.length; i += piece)
          await decryptor.write(file.subarray(i, i + piece), (p) => parts.push(p));
        await decryptor.end((p) => parts.push(p));
        expect(Buffer.concat(parts).equals(Buffer.from(plaintext))).toBe(true);
      }),
      { numRuns: 150 },
    );
  }, 300_000);
});

describe('T-13 tampering is refused', () => {
  const plaintext = pattern(2 * CHUNK_SIZE + 1000, 42); // three chunks
  let file: Uint8Array;
  let headerLength: number;

  it('T-13 refuses a flipped byte anywhere in a 3-chunk file (every header, nonce and tag byte, every 97th payload byte) and releases only authentic whole chunks', async () => {
    file = await encrypt({ recipients, plaintext, backend });
    headerLength = parseHeader(file).length;
    const payloadStart = headerLength + 16;
    const positions = new Set<number>();
    for (let i = 0; i < payloadStart; i++) positions.add(i);
    for (let c = 0; c < 3; c++) {
      const chunkEnd = Math.min(payloadStart + (c + 1) * SEALED_CHUNK_SIZE, file.length);
      for (let i = chunkEnd - 16; i < chunkEnd; i++) positions.add(i); // the tag
      positions.add(payloadStart + c * SEALED_CHUNK_SIZE); // first byte of the chunk
    }
    for (let i = payloadStart; i < file.length; i += 97) positions.add(i);
    for (const position of positions) {
      const tampered = Uint8Array.from(file);
      tampered[position] = (tampered[position] as number) ^ 0x01;
      const { failed, released } = await attempt(tampered);
      expect(failed, `flip at ${position}`).toBe(true);
      // whatever came out is a whole-chunk prefix of the plaintext, before the damaged chunk
      const damagedChunk =
        position < payloadStart ? 0 : Math.floor((position - payloadStart) / SEALED_CHUNK_SIZE);
      expect(released.length % CHUNK_SIZE, `flip at ${position}`).toBe(0);
      expect(released.length <= damagedChunk * CHUNK_SIZE, `flip at ${position}`).toBe(true);
      expect(released.equals(Buffer.from(plaintext.subarray(0, released.length)))).toBe(true);
    }
    expect(positions.size).toBeGreaterThan(1500);
  }, 300_000);

  it('F-14 T-13 refuses any flipped bit, truncation, appended bytes or reordered chunks (1000 runs)', async () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('append' as const),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 70_000 }),
      }),
      fc.record({
        kind: fc.constant('swap' as const),
        a: fc.integer({ min: 0, max: 2 }),
        b: fc.integer({ min: 0, max: 2 }),
      }),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        let tampered: Uint8Array;
        if (m.kind === 'flip') {
          tampered = Uint8Array.from(file);
          const at = m.at % file.length;
          tampered[at] = (tampered[at] as number) ^ (1 << m.bit);
        } else if (m.kind === 'truncate') {
          tampered = file.subarray(0, m.at % file.length);
        } else if (m.kind === 'append') {
          tampered = Buffer.concat([file, m.bytes]);
        } else {
          fc.pre(m.a !== m.b);
          const start = headerLength + 16;
          const chunks = [0, 1, 2].map((c) =>
            file.subarray(start + c * SEALED_CHUNK_SIZE, start + (c + 1) * SEALED_CHUNK_SIZE),
          );
          [chunks[m.a], chunks[m.b]] = [chunks[m.b] as Uint8Array, chunks[m.a] as Uint8Array];
          tampered = Buffer.concat([file.subarray(0, start), ...chunks]);
        }
        const { failed, released } = await attempt(tampered);
        expect(failed).toBe(true);
        expect(released.equals(Buffer.from(plaintext.subarray(0, released.length)))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  }, 300_000);
});

describe('long payloads', () => {
  it('T-13 a 41-chunk payload round-trips across backends, and decryption releases exactly the chunks before a damaged one', () => {
    const plaintext = pattern(40 * CHUNK_SIZE + 123, 9);
    const fileKey = new Uint8Array(16).fill(3);
    const { payload } = encryptPayload({ plaintext, fileKey, backend });
    // readable by the one-chunk-at-a-time noble path
    expect(
      Buffer.from(decryptPayload({ fileKey, payload, backend: nobleCryptoBackend })).equals(
        Buffer.from(plaintext),
      ),
    ).toBe(true);
    for (const damaged of [0, 3, 19, 20, 30, 39, 40]) {
      const tampered = Uint8Array.from(payload);
      const at = 16 + damaged * SEALED_CHUNK_SIZE + 5;
      tampered[at] = (tampered[at] as number) ^ 0x80;
      const released: Uint8Array[] = [];
      let failed = false;
      try {
        const decryptor = new PayloadDecryptor(fileKey, { backend });
        decryptor.write(tampered, (p) => released.push(p));
        decryptor.end((p) => released.push(p));
      } catch (error) {
        failed = error instanceof CryptoError;
      }
      expect(failed, `chunk ${damaged}`).toBe(true);
      const out = Buffer.concat(released);
      expect(out.length, `chunk ${damaged}`).toBe(damaged * CHUNK_SIZE);
      expect(out.equals(Buffer.from(plaintext.subarray(0, out.length)))).toBe(true);
    }
  });
});

describe('T-14 fresh keys and nonces', () => {
  it('T-14 10^5 payload encryptions of the same plaintext: all file keys, nonces and ciphertexts distinct', () => {
    const plaintext = new TextEncoder().encode('the same record, again and again');
    const keys = new Set<string>();
    const nonces = new Set<string>();
    const payloads = new Set<string>();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const { fileKey, payload } = encryptPayload({ plaintext, backend });
      keys.add(Buffer.from(fileKey).toString('hex'));
      nonces.add(Buffer.from(payload.subarray(0, 16)).toString('hex'));
      payloads.add(createHash('sha256').update(payload).digest('hex'));
    }
    expect([keys.size, nonces.size, payloads.size]).toEqual([n, n, n]);
  }, 300_000);

  it('T-14 1000 full encryptions to the same recipient: fresh ephemeral shares, stanzas, MACs and nonces', async () => {
    const plaintext = new Uint8Array(10);
    const seen = {
      shares: new Set<string>(),
      bodies: new Set<string>(),
      macs: new Set<string>(),
      nonces: new Set<string>(),
    };
    for (let i = 0; i < 1000; i++) {
      const file = await encrypt({ recipients, plaintext, backend });
      const header = parseHeader(file);
      const stanza = header.stanzas[0];
      seen.shares.add(stanza?.args[0] ?? '');
      seen.bodies.add(Buffer.from(stanza?.body ?? []).toString('hex'));
      seen.macs.add(Buffer.from(header.mac).toString('hex'));
      seen.nonces.add(Buffer.from(file.subarray(header.length, header.length + 16)).toString('hex'));
    }
    expect(Object.values(seen).map((s) => s.size)).toEqual([1000, 1000, 1000, 1000]);
  }, 300_000);
});
