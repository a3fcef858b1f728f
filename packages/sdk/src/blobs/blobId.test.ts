import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidBlobIdError } from '../errors/blobs.ts';
import { blobIdFromDigest, parseBlobId } from './blobId.ts';

const sha = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());

describe('blob ids', () => {
  it('matches the published CID of the empty payload and round-trips any digest', () => {
    // CIDv1 raw sha2-256 of zero bytes, as every IPFS implementation writes it.
    expect(blobIdFromDigest(sha('')).id).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (digest) => {
        const { id } = blobIdFromDigest(digest);
        expect(parseBlobId(id).digest).toEqual(digest);
      }),
    );
  });

  it.each([
    ['../../etc/passwd'],
    ['%2e%2e%2f'],
    ['..\\..\\x'],
    ['bafkrei\u0000abc'],
    ['/etc/passwd'],
    ['bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku/../x'],
    ['BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU'],
    ['QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR'],
    ['bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'],
    ['bafkr2qhdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'],
    ['bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk'],
    ['b'],
    [''],
    ['．．／'],
    ['a'.repeat(10_000)],
  ])('T-20 refuses %j', (id) => {
    expect(() => parseBlobId(id)).toThrow(InvalidBlobIdError);
  });

  it('T-20 refuses non-strings', () => {
    expect(() => parseBlobId(undefined)).toThrow(/not a string/u);
    expect(() => parseBlobId(42)).toThrow(InvalidBlobIdError);
  });
});
