import type { Address, Hex } from 'viem';
import type { ChainHead, VaultChain } from './VaultChain.ts';

/** A {@link VaultChain} whose reads at the current head are made once per block (`cacheVaultChain`). */
export type CachedVaultChain = VaultChain & {
  /**
   * `read()` once per block: while `head` is the latest head this chain has seen (same number and hash), every
   * call with the same `key` shares one answer; at any other block it is read again. A failed read is not kept.
   */
  atHead<result>(head: ChainHead, key: string, read: () => Promise<result>): Promise<result>;
};

/**
 * Caches the vault's chain reads per block (THREAT-MODEL T-4, T-24: "cached grant state per block"), so a key
 * release under load costs one shared head read instead of an RPC round trip per check:
 *
 * - `head()` is always read **after** it is asked for: callers that arrive while a head read is in flight wait for
 *   the next one, which starts when that one ends and serves all of them. A release therefore never decides on a
 *   head older than its own arrival — a revocation mined before the request is seen, as without the cache.
 * - `identityOwner` and `readGrant` at the latest head seen are read once per (block, argument), through
 *   {@link CachedVaultChain.atHead}; a new head (another number or hash: a new block or a reorg) drops every entry,
 *   so no answer — positive or negative — outlives its block. Reads at any other block go to the chain.
 * - Every other read goes to the chain unchanged.
 *
 * @example
 * const chain = cacheVaultChain(createVaultChain({ client, chainId, contracts }));
 */
export function cacheVaultChain(inner: VaultChain): CachedVaultChain {
  let current: ChainHead | undefined;
  let entries = new Map<string, Promise<unknown>>();
  let inFlight: Promise<ChainHead> | undefined;
  let next: Promise<ChainHead> | undefined;

  const sameBlock = (a: ChainHead, b: ChainHead) => a.number === b.number && a.hash === b.hash;
  const readHead = (): Promise<ChainHead> => {
    const read = inner.head().then((head) => {
      if (current === undefined || !sameBlock(current, head)) {
        // Only move forward (or to a reorged block at the same height): a slower, older answer never replaces it.
        if (current === undefined || head.number >= current.number) {
          current = head;
          entries = new Map();
        }
      }
      return head;
    });
    inFlight = read;
    const clear = () => {
      if (inFlight === read) inFlight = undefined;
    };
    read.then(clear, clear);
    return read;
  };
  const atHead = <result>(head: ChainHead, key: string, read: () => Promise<result>): Promise<result> => {
    if (current === undefined || !sameBlock(current, head)) return read();
    const kept = entries.get(key) as Promise<result> | undefined;
    if (kept !== undefined) return kept;
    const map = entries;
    const fresh = read();
    map.set(key, fresh);
    fresh.catch(() => {
      if (map.get(key) === fresh) map.delete(key);
    });
    return fresh;
  };
  const headAt = (blockNumber: bigint): ChainHead | undefined =>
    current !== undefined && current.number === blockNumber ? current : undefined;

  return {
    chainId: inner.chainId,
    contracts: inner.contracts,
    blockTimestamp: (blockNumber) => inner.blockTimestamp(blockNumber),
    ownerAccepts: (owner, signed, blockNumber) => inner.ownerAccepts(owner, signed, blockNumber),
    readRequest: (requestId, blockNumber) => inner.readRequest(requestId, blockNumber),
    readNonce: (contract, identity, blockNumber) => inner.readNonce(contract, identity, blockNumber),
    grantCount: (patient, blockNumber) => inner.grantCount(patient, blockNumber),
    encryptionKey: (identity) => inner.encryptionKey(identity),
    shreddedRecordIds: () => inner.shreddedRecordIds(),
    shreddedRecords: () => inner.shreddedRecords(),
    head: () => {
      if (inFlight === undefined) return readHead();
      // A read already sent may have been answered before this call arrived: wait for the next one.
      next ??= inFlight.then(
        () => {
          next = undefined;
          return readHead();
        },
        () => {
          next = undefined;
          return readHead();
        },
      );
      return next;
    },
    identityOwner: (identity: Address, blockNumber: bigint) => {
      const head = headAt(blockNumber);
      return head === undefined
        ? inner.identityOwner(identity, blockNumber)
        : atHead(head, `identityOwner:${identity.toLowerCase()}`, () =>
            inner.identityOwner(identity, blockNumber),
          );
    },
    readGrant: (grantId: Hex, blockNumber: bigint) => {
      const head = headAt(blockNumber);
      return head === undefined
        ? inner.readGrant(grantId, blockNumber)
        : atHead(head, `readGrant:${grantId.toLowerCase()}`, () => inner.readGrant(grantId, blockNumber));
    },
    atHead,
  };
}
