import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { InvalidBlobIdError } from '../errors/blobs.ts';

/** Multicodec code of raw bytes. */
const RAW = 0x55;
/** Multihash code of SHA2-256. */
const SHA2_256 = 0x12;

/** A validated blob id: the canonical string and the SHA-256 digest of the payload it names. */
export type BlobId = {
  /** Canonical CIDv1 string (base32, lower case), e.g. `bafkrei…`. */
  id: string;
  /** SHA-256 of the payload (32 bytes). On chain, record leaves commit to this digest. */
  digest: Uint8Array;
};

/**
 * Builds the blob id of a payload from its SHA-256 digest: CIDv1, codec raw, multihash sha2-256, base32.
 *
 * @example blobIdFromDigest(sha256(payload)).id // "bafkrei…"
 */
export function blobIdFromDigest(digest: Uint8Array): BlobId {
  if (digest.length !== 32) throw new RangeError(`a SHA-256 digest has 32 bytes, got ${digest.length}`);
  const cid = CID.createV1(RAW, Digest.create(SHA2_256, digest));
  return { id: cid.toString(), digest: Uint8Array.from(digest) };
}

/**
 * Parses and validates a blob id received from outside (an HTTP path, a database row, a peer). Only the
 * canonical form is accepted — CIDv1, raw codec, sha2-256, 32-byte digest, base32 lower case exactly as
 * `blobIdFromDigest` writes it — so an id can never smuggle a path (`../`, `%2e`, NUL, `/`) into storage.
 *
 * @throws InvalidBlobIdError naming the problem.
 */
export function parseBlobId(id: unknown): BlobId {
  if (typeof id !== 'string') throw new InvalidBlobIdError(String(id), 'not a string');
  if (id.length === 0 || id.length > 100) throw new InvalidBlobIdError(id, `length ${id.length}`);
  if (!/^b[a-z2-7]+$/u.test(id)) throw new InvalidBlobIdError(id, 'not a base32 CIDv1');
  let cid: CID;
  try {
    cid = CID.parse(id);
  } catch (cause) {
    throw new InvalidBlobIdError(id, 'not a CID', { cause });
  }
  if (cid.version !== 1) throw new InvalidBlobIdError(id, `CID version ${cid.version}`);
  if (cid.code !== RAW) throw new InvalidBlobIdError(id, `codec 0x${cid.code.toString(16)} instead of raw`);
  if (cid.multihash.code !== SHA2_256 || cid.multihash.digest.length !== 32) {
    throw new InvalidBlobIdError(id, 'hash is not sha2-256');
  }
  if (cid.toString() !== id) throw new InvalidBlobIdError(id, 'not in canonical form');
  return { id, digest: Uint8Array.from(cid.multihash.digest) };
}
