import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  HeaderMacMismatchError,
  InvalidArmorError,
  InvalidCiphertextError,
  InvalidHeaderError,
  NoIdentityMatchError,
} from '../errors/crypto.ts';
import { nobleCryptoBackend } from './backend.ts';
import { Decryptor } from './decrypt.ts';
import { nodeCryptoBackend } from './node/nodeBackend.ts';
import { parseIdentity } from './parseIdentity.ts';
import type { Identity } from './recipient.ts';
import { ScryptIdentity } from './scrypt.ts';
import { type AgeTestVector, loadAgeTestKit, sharedDataPath } from './testing/ageTestKit.ts';

type Outcome = AgeTestVector['expect'];

function classify(error: unknown): Outcome {
  if (error instanceof InvalidArmorError) return 'armor failure';
  if (error instanceof InvalidHeaderError) return 'header failure';
  if (error instanceof NoIdentityMatchError) return 'no match';
  if (error instanceof HeaderMacMismatchError) return 'HMAC failure';
  if (error instanceof InvalidCiphertextError) return 'payload failure';
  throw error;
}

/** Decrypts a vector, feeding it in pieces of `step` bytes; returns the outcome and the released plaintext hash. */
async function run(
  vector: AgeTestVector,
  backend = nodeCryptoBackend,
  step = 0,
  armor: boolean | 'auto' = vector.armored,
) {
  const identities: Identity[] = [
    ...vector.identities.map((s) => parseIdentity(s)),
    ...vector.passphrases.map((p) => new ScryptIdentity(p)),
  ];
  const decryptor = new Decryptor({ identities, backend, armor });
  const hash = createHash('sha256');
  const sink = (p: Uint8Array) => hash.update(p);
  let outcome: Outcome = 'success';
  try {
    if (step > 0) {
      for (let i = 0; i < vector.body.length; i += step)
        await decryptor.write(vector.body.subarray(i, i + step), sink);
    } else {
      await decryptor.write(vector.body, sink);
    }
    await decryptor.end(sink);
  } catch (error) {
    outcome = classify(error);
  }
  return { outcome, payload: hash.digest('hex') };
}

const vectors = loadAgeTestKit();
const index = new Map(
  readFileSync(path.join(sharedDataPath('age-testkit'), 'index.psv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split('|') as [string, string]),
);
const tally = { passed: 0, failed: 0, unsupported: 0 };

describe('A-1 T-13 age test kit (C2SP CCTV), every vector', () => {
  it('has all 143 vectors, with expectations matching index.psv', () => {
    expect(vectors.length).toBe(143);
    for (const v of vectors) expect(index.get(v.name), v.name).toBe(v.expect);
  });

  for (const vector of vectors) {
    it(`${vector.name}: ${vector.expect}`, async () => {
      try {
        const result = await run(vector);
        expect(result.outcome).toBe(vector.expect);
        if (vector.expect === 'success' || vector.expect === 'payload failure') {
          expect(result.payload).toBe(vector.payload);
        }
        tally.passed++;
      } catch (error) {
        tally.failed++;
        throw error;
      }
    });
  }

  it('gives the same outcomes with the noble backend, armor auto-detected, fed in odd-sized pieces', async () => {
    for (const vector of vectors) {
      if (vector.passphrases.length > 0 && vector.body.length > 0) continue; // scrypt in JS is slow; covered above
      const result = await run(vector, nobleCryptoBackend, 4099, 'auto');
      expect(result.outcome, vector.name).toBe(vector.expect);
      if (vector.expect === 'success' || vector.expect === 'payload failure') {
        expect(result.payload, vector.name).toBe(vector.payload);
      }
    }
  }, 300_000);

  afterAll(() => {
    console.log(
      `age test kit: ${tally.passed} passed, ${tally.failed} failed, ${tally.unsupported} unsupported (of ${vectors.length})`,
    );
  });
});
