import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { nodeHashes } from './nodeBackend.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('nodeHashes (OpenSSL HKDF/HMAC/SHA-256, pooled random bytes)', () => {
  it('gives the bytes noble gives, empty salt and key included', () => {
    for (const [ikm, salt, info, length] of [
      [bytes(16, 1), new Uint8Array(0), 'header', 32],
      [bytes(32, 2), bytes(16, 3), 'payload', 32],
      [bytes(32, 4), bytes(64, 5), 'age-encryption.org/v1/X25519', 32],
      [bytes(0, 0), bytes(3, 6), '', 80],
    ] as const) {
      const infoBytes = new TextEncoder().encode(info);
      expect(nodeHashes.hkdfSha256(ikm, salt, infoBytes, length)).toEqual(
        hkdf(sha256, ikm, salt, infoBytes, length),
      );
    }
    for (const [key, message] of [
      [new Uint8Array(0), bytes(10, 1)],
      [bytes(32, 2), new Uint8Array(0)],
      [bytes(100, 3), bytes(5000, 4)],
    ] as const) {
      expect(nodeHashes.hmacSha256(key, message)).toEqual(hmac(sha256, key, message));
      expect(nodeHashes.sha256(message)).toEqual(sha256(message));
    }
  });

  it('hands out fresh random arrays the caller owns, across pool refills and for large requests', () => {
    const seen = new Set<string>();
    const taken: Uint8Array[] = [];
    for (let i = 0; i < 400; i++) {
      const r = nodeHashes.randomBytes(32);
      expect(r).toHaveLength(32);
      expect(r.byteOffset).toBe(0);
      expect(r.buffer.byteLength).toBe(32); // a copy, not a view of the pool
      seen.add(Buffer.from(r).toString('hex'));
      taken.push(r);
    }
    expect(seen.size).toBe(400);
    const copy = Buffer.from(taken[0] as Uint8Array).toString('hex');
    for (let i = 0; i < 200; i++) nodeHashes.randomBytes(16); // refills the pool
    expect(Buffer.from(taken[0] as Uint8Array).toString('hex')).toBe(copy);
    expect(nodeHashes.randomBytes(5000)).toHaveLength(5000);
    expect(nodeHashes.randomBytes(0)).toHaveLength(0);
  });
});
