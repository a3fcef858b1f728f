import { readFileSync } from 'node:fs';
import { x25519 } from '@noble/curves/ed25519.js';
import { hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { nobleChunkCipher } from './chunkCipher.ts';
import { nodeChunkCipher, nodeX25519 } from './node/nodeBackend.ts';
import { hkdfSha256 } from './primitives.ts';
import { sharedDataPath } from './testing/ageTestKit.ts';
import { x25519SharedSecret } from './x25519.ts';

type Group<T> = { testGroups: { ivSize?: number; tests: T[] }[] };
type AeadTest = {
  tcId: number;
  key: string;
  iv: string;
  aad: string;
  msg: string;
  ct: string;
  tag: string;
  result: string;
  comment: string;
};
type XdhTest = {
  tcId: number;
  public: string;
  private: string;
  shared: string;
  result: string;
  flags: string[];
};
type HkdfTest = {
  tcId: number;
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
  result: string;
};

function load<T>(name: string): T[] {
  const file = JSON.parse(readFileSync(sharedDataPath(`wycheproof/${name}`), 'utf8')) as Group<T>;
  return file.testGroups.flatMap((g) => g.tests);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const concat = (parts: Uint8Array[]) => Buffer.concat(parts);

describe('Wycheproof ChaCha20-Poly1305 against both chunk ciphers', () => {
  const tests = load<AeadTest>('chacha20_poly1305_test.json');
  it('has the 325 vectors', () => expect(tests.length).toBe(325));
  for (const [name, factory] of [
    ['node:crypto', nodeChunkCipher],
    ['noble', nobleChunkCipher],
  ] as const) {
    it(`${name}: every vector gives its expected result (valid → seal and open match; invalid → refused)`, () => {
      let valid = 0;
      let invalid = 0;
      for (const t of tests) {
        const cipher = factory(hexToBytes(t.key));
        const nonce = hexToBytes(t.iv);
        const aad = hexToBytes(t.aad);
        const msg = hexToBytes(t.msg);
        const sealed = concat([hexToBytes(t.ct), hexToBytes(t.tag)]);
        const opened = cipher.open(nonce, sealed, aad);
        if (t.result === 'valid') {
          expect(opened && hex(opened), `tcId ${t.tcId}`).toBe(t.msg);
          expect(hex(concat(cipher.seal(nonce, msg, aad))), `tcId ${t.tcId}`).toBe(t.ct + t.tag);
          valid++;
        } else {
          expect(opened, `tcId ${t.tcId} ${t.comment}`).toBeUndefined();
          // sealing with a bad nonce size must throw, or at least not produce the vector's ciphertext
          let produced: string | undefined;
          try {
            produced = hex(concat(cipher.seal(nonce, msg, aad)));
          } catch {
            produced = undefined;
          }
          expect(produced, `tcId ${t.tcId}`).not.toBe(t.ct + t.tag);
          invalid++;
        }
      }
      expect([valid, invalid]).toEqual([256, 69]);
    });
  }
});

describe('Wycheproof X25519 through the age X25519 path', () => {
  const tests = load<XdhTest>('x25519_test.json');
  it('has the 518 vectors, 31 with an all-zero shared secret', () => {
    expect(tests.length).toBe(518);
    expect(tests.filter((t) => t.flags.includes('ZeroSharedSecret')).length).toBe(31);
  });
  it.each([
    ['noble', x25519SharedSecret],
    ['OpenSSL (node backend)', nodeX25519.sharedSecret],
    [
      'OpenSSL, public key and shared secret at once (a wrap)',
      (scalar: Uint8Array, point: Uint8Array) => {
        const both = nodeX25519.publicKeyAndSharedSecret?.(scalar, point);
        expect(both && hex(both.publicKey)).toBe(hex(x25519.getPublicKey(scalar)));
        return both?.sharedSecret;
      },
    ],
  ])(
    '%s computes every valid and acceptable shared secret and rejects the 31 all-zero ones',
    (_, sharedSecret) => {
      let rejected = 0;
      let computed = 0;
      for (const t of tests) {
        const shared = sharedSecret(hexToBytes(t.private), hexToBytes(t.public));
        if (t.flags.includes('ZeroSharedSecret')) {
          expect(t.shared, `tcId ${t.tcId}`).toBe('00'.repeat(32));
          expect(shared, `tcId ${t.tcId}`).toBeUndefined();
          rejected++;
        } else {
          expect(['valid', 'acceptable']).toContain(t.result);
          expect(shared && hex(shared), `tcId ${t.tcId}`).toBe(t.shared);
          computed++;
        }
      }
      expect([computed, rejected]).toEqual([487, 31]);
    },
  );
  it('the node backend derives the same public keys as noble', () => {
    for (const t of tests.slice(0, 50)) {
      const scalar = hexToBytes(t.private);
      expect(hex(nodeX25519.publicKey(scalar)), `tcId ${t.tcId}`).toBe(hex(x25519.getPublicKey(scalar)));
    }
  });
});

describe('Wycheproof HKDF-SHA256 against the HKDF age uses', () => {
  const tests = load<HkdfTest>('hkdf_sha256_test.json');
  it('every vector: valid → exact output; invalid (size > 255·32) → refused', () => {
    let valid = 0;
    let invalid = 0;
    for (const t of tests) {
      const run = () => hkdfSha256(hexToBytes(t.ikm), hexToBytes(t.salt), hexToBytes(t.info), t.size);
      if (t.result === 'valid') {
        expect(hex(run()), `tcId ${t.tcId}`).toBe(t.okm);
        valid++;
      } else {
        expect(run, `tcId ${t.tcId}`).toThrow();
        invalid++;
      }
    }
    expect([valid, invalid]).toEqual([83, 3]);
  });
});
