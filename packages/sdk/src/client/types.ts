/**
 * Wire types of the node's HTTP API (docs/protocol.md). Addresses and 32-byte values are 0x-hex strings; chain
 * integers are decimal strings (JSON has no bigint).
 */
import type { Address, Hex } from 'viem';

/** `GET /v1/node`. */
export type NodeDescription = {
  version: string;
  chainId: number;
  audience: string;
  contracts: { didRegistry: Address; recordRegistry: Address; consentRegistry: Address };
  deployBlock: number;
};

/** `GET /v1/did/{address}`. */
export type DidDescription = { identity: Address; did: string; owner: Address; recipient: string };

/** `GET /v1/did/{address}/nonce`. */
export type DidNonce = {
  identity: Address;
  owner: Address;
  /** The registry nonce the owner signs next: `nonce(owner)` past the identity's DID writes still queued. */
  nonce: string;
  /** Signed DID writes of the identity the node holds and has not seen mined. */
  queued: number;
  didRegistry: Address;
  attributeName: Hex;
  /** Present when the owner is the identity's `RecoveryAccount` (its controller signs `Execute` instead). */
  account?: { address: Address; controller: Address; nonce: string };
};

/** A relayed transaction: mined (200), or still queued in the node's outbox (202, `status`). */
export type TxReceipt = { transactionHash?: Hex; blockNumber?: string; status?: 'pending' | 'submitted' };

/** `PUT /v1/blobs/{cid}`. */
export type BlobReceipt = { cid: string; size: number };

/** Answer of `POST /v1/blobs/batch`: every payload, in order; `created` is false for one already stored. */
export type BlobBatchReceipt = { blobs: { cid: string; size: number; created: boolean }[] };

/** One reader's stanza of one record (`-> X25519 …` text, `encodeStanza`). */
export type ReaderStanza = { reader: Address; stanza: string };

/** One record of a published batch. */
export type PublishedRecord = {
  recordId: Hex;
  /** CIDv1 of the payload, uploaded first with `PUT /v1/blobs/{cid}`. */
  blobId: string;
  /** Category tag, or zero when the publisher cannot compute it (a provider). */
  categoryTag: Hex;
  /** Random salt of `patientCommitment = keccak256(abi.encode(patient, salt))` (kept by the vault, deleted on shred). */
  salt: Hex;
  /** The file key wrapped to each reader: the patient always, the publisher if it keeps access. */
  stanzas: ReaderStanza[];
};

/** `POST /v1/records`: a batch and its signed `Publish` (the publisher is the request's signer). */
export type PublishRecordsBody = {
  patient: Address;
  records: PublishedRecord[];
  publish: { root: Hex; count: number; nonce: string; deadline: string; signature: Hex };
};

/** `GET /v1/records` row. */
export type RecordRow = {
  recordId: Hex;
  blobId: string;
  publisher: Address;
  categoryTag?: Hex;
  state: string;
  batchId?: string | null;
  transactionHash?: Hex | null;
  [key: string]: unknown;
};
export type RecordList = { records: RecordRow[] } & Record<string, unknown>;

/** `POST /v1/records/tags`. */
export type TagRecordsBody = { tags: { recordId: Hex; categoryTag: Hex }[] };

/**
 * `POST /v1/records/{id}/shred`: a signed `Shred(Request)` or `Shred(Cancel)`, each with the patient's next
 * RecordRegistry nonce (`GET /v1/nonces/{address}?contract=RecordRegistry`). The node finalises a request itself
 * once the delay has passed (permissionless on chain): nothing else to sign.
 */
export type ShredRecordBody = {
  action: 'request' | 'cancel';
  patient: Address;
  recordId: Hex;
  request: SignedPart;
};

/** Answer of `POST /v1/records/{id}/shred`. */
export type ShredReceipt = { state: 'active' | 'pending_shred' | 'shredded'; executableAt?: string };

/** A patient-signed `Grant` (ConsentRegistry EIP-712), integers as decimal strings. */
export type SignedGrantBody = {
  patient: Address;
  grantee: Address;
  scopeKind: number;
  scopeData: Hex[];
  purpose: Hex;
  expiresAt: string;
  requestId: Hex;
  nonce: string;
  deadline: string;
  signature: Hex;
};

/** `POST /v1/grants`: the signed grant and the grantee's stanzas. */
export type CreateGrantBody = {
  grant: SignedGrantBody;
  /** The grantee's X25519 recipient (`age1…`) the stanzas are wrapped to (its DID key). */
  recipient: string;
  /** For a `Records` scope: the record ids under the signed root. */
  scopeRecordIds?: Hex[];
  stanzas: { recordId: Hex; stanza: string }[];
};

/** `GET /v1/grants` row. */
export type GrantRow = {
  grantId: Hex;
  patient: Address;
  grantee: Address;
  state: string;
  expiresAt: string;
  [key: string]: unknown;
};
export type GrantList = { grants: GrantRow[] } & Record<string, unknown>;

/** A signed part of a relayed action (nonce, deadline, signature). */
export type SignedPart = { nonce: string; deadline: string; signature: Hex };

/** `POST /v1/grants/{id}/revoke`: the patient's signed `Revoke`. */
export type RevokeGrantBody = SignedPart & { grantId: Hex };

/** Answer of `POST /v1/grants/{id}/revoke`. */
export type RevokeReceipt = { revokeDigest: Hex; deletedRecordIds: Hex[] };

/** Answer of `POST /v1/grants`: the grant's EIP-712 digest and the records whose stanza was stored. */
export type GrantReceipt = { grantDigest: Hex; recordIds: Hex[] };

/** `GET /v1/shared`: records covered by active grants to the signer, with the grant to name. */
export type SharedList = {
  records: { grantId: Hex; patient: Address; recordId: Hex; blobId: string; categoryTag: Hex }[];
};

/** `POST /v1/keys/release` answer. */
export type ReleasedKeys = {
  records: { recordId: Hex; blobId: string; stanza: string; [key: string]: unknown }[];
} & Record<string, unknown>;

/** `GET /v1/audit` answer. */
export type AuditLog = { entries: Record<string, unknown>[] } & Record<string, unknown>;

/** `POST /v1/requests`. */
export type CreateAccessRequestBody = Record<string, unknown>;
/** `GET /v1/requests`. */
export type AccessRequestList = { requests: Record<string, unknown>[] } & Record<string, unknown>;
/** `POST /v1/requests/{id}/deny`. */
export type DenyRequestBody = Record<string, unknown>;
