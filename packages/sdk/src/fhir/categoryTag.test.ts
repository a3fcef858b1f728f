import { createHmac } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CategoryTagError } from '../errors/fhir.ts';
import { categoryTag } from './categoryTag.ts';

describe('categoryTag', () => {
  it('is HMAC-SHA256(patientSalt, category) as 0x bytes32, as node:crypto computes it', () => {
    const patientSalt = hexToBytes('000102030405060708090a0b0c0d0e0f');
    const tag = categoryTag({ patientSalt, category: 'Observation|laboratory' });
    expect(tag).toMatch(/^0x[0-9a-f]{64}$/);
    expect(tag).toBe(`0x${createHmac('sha256', patientSalt).update('Observation|laboratory').digest('hex')}`);
    expect(tag).toBe(
      `0x${bytesToHex(hmac(sha256, patientSalt, new TextEncoder().encode('Observation|laboratory')))}`,
    );
  });

  it('R-16 differs across categories and across patients', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 32 }),
        fc.uint8Array({ minLength: 16, maxLength: 32 }),
        fc.string({ minLength: 1 }),
        fc.string({ minLength: 1 }),
        (s1, s2, c1, c2) => {
          fc.pre(c1 !== c2 && bytesToHex(s1) !== bytesToHex(s2));
          expect(categoryTag({ patientSalt: s1, category: c1 })).not.toBe(
            categoryTag({ patientSalt: s1, category: c2 }),
          );
          expect(categoryTag({ patientSalt: s1, category: c1 })).not.toBe(
            categoryTag({ patientSalt: s2, category: c1 }),
          );
        },
      ),
    );
  });

  it('matches RFC 4231 test case 1 (key 0x0b × 20, data "Hi There")', () => {
    const patientSalt = new Uint8Array(20).fill(0x0b);
    expect(categoryTag({ patientSalt, category: 'Hi There' })).toBe(
      '0xb0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
  });

  it('refuses a short salt and an empty category', () => {
    expect(() => categoryTag({ patientSalt: new Uint8Array(8), category: 'Patient' })).toThrow(
      CategoryTagError,
    );
    expect(() => categoryTag({ patientSalt: new Uint8Array(8), category: 'Patient' })).toThrow(
      /8 bytes is too short/,
    );
    expect(() => categoryTag({ patientSalt: new Uint8Array(16), category: '' })).toThrow(
      /category "" is empty/,
    );
  });
});
