import { consentRegistryAbi, recordRegistryAbi } from '@carekey/sdk/chain';
import { type Address, decodeFunctionData, getAddress, type Hex, isAddressEqual } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';
import type { Vault } from './Vault.ts';

/** The contracts whose relayed EIP-712 messages carry a per-identity nonce. */
export type NonceContract = 'ConsentRegistry' | 'RecordRegistry';

export type NextSignatureNonceParameters = {
  vault: Vault;
  contract: NonceContract;
  identity: Address;
};

export type NextSignatureNonceReturnType = {
  /** The contract's `nonces(identity)` at the head. */
  chainNonce: bigint;
  /** The nonce the identity's next signed message must carry: past every write this node still has to send. */
  nonce: bigint;
  /** Signed writes of the identity this node holds and the chain has not mined yet (outbox pending or submitted). */
  queued: number;
  blockNumber: bigint;
};

type Relayed =
  | { identity: Address | Hex; nonce: bigint }
  | { lookup: 'grant' | 'request'; id: Hex; nonce: bigint };

/** The identity (or how to find it) and the nonce a queued relayed call consumes. */
function relayedNonces(contract: NonceContract, data: Hex): Relayed[] {
  if (contract === 'ConsentRegistry') {
    const call = decodeFunctionData({ abi: consentRegistryAbi, data });
    switch (call.functionName) {
      case 'createGrantSigned':
        return [{ identity: call.args[0], nonce: call.args[7] }];
      case 'requestAccessSigned':
        return [{ identity: call.args[0], nonce: call.args[6] }];
      case 'revokeGrantSigned':
        return [{ lookup: 'grant', id: call.args[0], nonce: call.args[1] }];
      case 'denyRequestSigned':
        return [{ lookup: 'request', id: call.args[0], nonce: call.args[1] }];
      default:
        return [];
    }
  }
  const call = decodeFunctionData({ abi: recordRegistryAbi, data });
  switch (call.functionName) {
    case 'publishBatchSigned':
      return [{ identity: call.args[0], nonce: call.args[3] }];
    case 'publishBatchesSigned':
      return call.args[0].map((p) => ({ identity: p.publisher, nonce: p.nonce }));
    case 'shredSigned':
      return [{ identity: call.args[0], nonce: call.args[3] }];
    default:
      return [];
  }
}

/**
 * The nonce an identity's next relayed signature on `contract` must carry (`GET /v1/nonces/{address}`). The
 * contract's `nonces(identity)` is not enough while this node still holds signed writes of the identity the chain
 * has not mined: outbox entries pending or submitted (or mined after the head this answer is read at). Every one of
 * them takes its nonce in order, so the next signature takes the one after the highest. (A shred's finalisation
 * takes no nonce: `finalizeShred` is permissionless once the delay has passed, so a pending shred never holds one
 * back.) A client
 * restored on another device (no local counter) signs correctly at once.
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function nextSignatureNonce(
  parameters: NextSignatureNonceParameters,
): Promise<NextSignatureNonceReturnType> {
  const { vault, contract } = parameters;
  const identity = getAddress(parameters.identity.toLowerCase());
  const address =
    contract === 'ConsentRegistry'
      ? vault.chain.contracts.consentRegistry
      : vault.chain.contracts.recordRegistry;
  const head = await vault.chain.head();
  const chainNonce = await vault.chain.readNonce(contract, identity, head.number);
  const sql: SqlExecutor = vault.sql;
  // Also the writes mined *after* the head read above: the worker may mark one confirmed between that read and
  // this query, and `chainNonce` does not count it yet (it handed out a used nonce: InvalidNonce(…, n + 1, n)).
  const { rows } = await sql.query<{ data: Hex }>(
    `select payload->>'data' as data from outbox
     where payload->>'to' = $1
       and (status in ('pending', 'submitted') or (status = 'confirmed' and block_number > $2))`,
    [getAddress(address), head.number],
  );
  let next = chainNonce;
  let queued = 0;
  const owners = new Map<Hex, Address | undefined>();
  for (const row of rows) {
    let relayed: Relayed[];
    try {
      relayed = relayedNonces(contract, row.data);
    } catch {
      continue; // not a call of this contract's ABI (nothing of ours)
    }
    for (const r of relayed) {
      let who: Address | undefined;
      if ('identity' in r) who = r.identity as Address;
      else {
        if (!owners.has(r.id)) {
          const item =
            r.lookup === 'grant'
              ? await vault.chain.readGrant(r.id, head.number)
              : await vault.chain.readRequest(r.id, head.number);
          owners.set(r.id, item?.patient);
        }
        who = owners.get(r.id);
      }
      if (who === undefined || !isAddressEqual(who, identity) || r.nonce < chainNonce) continue;
      queued++;
      if (r.nonce + 1n > next) next = r.nonce + 1n;
    }
  }
  return { chainNonce, nonce: next, queued, blockNumber: head.number };
}
