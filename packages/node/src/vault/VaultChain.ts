import type { ScopeKind } from '@carekey/sdk/chain';
import type { Address, Hex } from 'viem';

/** A block the vault decided at: its number, chain time (unix seconds) and hash (when the reader knows it). */
export type ChainHead = { number: bigint; timestamp: bigint; hash?: Hex | undefined };

/** A grant as `ConsentRegistry` stores it, read at one block. */
export type ChainGrant = {
  grantId: Hex;
  patient: Address;
  grantee: Address;
  scopeKind: ScopeKind;
  scopeData: readonly Hex[];
  purpose: Hex;
  /** Chain time the grant was created. */
  createdAt: bigint;
  /** Chain time from which it is void (T-3: judged by chain time only). */
  expiresAt: bigint;
  revoked: boolean;
};

/** An access request as `ConsentRegistry` stores it, read at one block. */
export type ChainAccessRequest = {
  requestId: Hex;
  patient: Address;
  requester: Address;
  scopeKind: ScopeKind;
  scopeData: readonly Hex[];
  purpose: Hex;
  expiresAt: bigint;
  status: 'pending' | 'approved' | 'denied';
  /** The grant that approved it (zero otherwise). */
  grantId: Hex;
};

/**
 * What the vault reads from the chain. Every read names the block it is made at, so one decision is taken on one
 * consistent view (T-4). Implementations fail with `VaultChainUnavailableError` when the chain cannot be read: the
 * vault then fails closed (503), it never guesses.
 */
export interface VaultChain {
  readonly chainId: number;
  readonly contracts: { didRegistry: Address; recordRegistry: Address; consentRegistry: Address };
  /** The latest block. */
  head(): Promise<ChainHead>;
  /** The chain time (unix seconds) of block `blockNumber`. */
  blockTimestamp(blockNumber: bigint): Promise<bigint>;
  /** `identityOwner(identity)` in the ERC-1056 registry at `blockNumber`. */
  identityOwner(identity: Address, blockNumber: bigint): Promise<Address>;
  /**
   * Whether a signature speaks for `owner` (= `identityOwner(identity)` at `blockNumber`): the recovered `signer`
   * is the owner, or the owner is a contract (a `RecoveryAccount`, any ERC-1271 wallet) that accepts it — what
   * every Carekey contract accepts (`SignatureChecker`).
   */
  ownerAccepts(
    owner: Address,
    signed: { signer: Address | undefined; hash: Hex; signature: Hex },
    blockNumber: bigint,
  ): Promise<boolean>;
  /** The grant at `blockNumber`, or `undefined` if no grant had this id then. */
  readGrant(grantId: Hex, blockNumber: bigint): Promise<ChainGrant | undefined>;
  /** The access request at `blockNumber`, or `undefined` if none had this id then. */
  readRequest(requestId: Hex, blockNumber: bigint): Promise<ChainAccessRequest | undefined>;
  /** The contract's EIP-712 `nonces(identity)` at `blockNumber`. */
  readNonce(
    contract: 'ConsentRegistry' | 'RecordRegistry',
    identity: Address,
    blockNumber: bigint,
  ): Promise<bigint>;
  /** How many grants `patient` had created at `blockNumber` (grant ids are `keccak256(abi.encode(patient, i))`). */
  grantCount(patient: Address, blockNumber: bigint): Promise<bigint>;
  /** The identity's published X25519 key (DID attribute), or `undefined` if none is valid. */
  encryptionKey(identity: Address): Promise<Uint8Array | undefined>;
  /** Record ids with a `Shredded` event on chain (the source of truth for tombstones, F-8). */
  shreddedRecordIds(): Promise<Hex[]>;
  /**
   * Every `Shredded` event on chain as (record, patient): a tombstone counts only for a record of that patient
   * (anyone may request and finalise a shred of any record id under their own identity).
   */
  shreddedRecords(): Promise<{ recordId: Hex; patient: Address }[]>;
}
