import { ethereumDidRegistryAbi, recoveryAccountAbi } from '@carekey/sdk/chain';
import { type Address, decodeFunctionData, getAddress, type Hex, isAddressEqual } from 'viem';
import { getBlockNumber, readContract } from 'viem/actions';
import type { ApiServices } from '../api/ApiServices.ts';
import { readChain } from '../api/readChain.ts';
import { readRecoveryAccount } from './readRecovery.ts';

/** The ERC-1056 functions whose signature consumes the owner's registry nonce (`args[0]` is the identity). */
const SIGNED_REGISTRY_WRITES = new Set([
  'changeOwnerSigned',
  'addDelegateSigned',
  'revokeDelegateSigned',
  'setAttributeSigned',
  'revokeAttributeSigned',
]);

export type NextDidNonceReturnType = {
  /** `identityOwner(identity)` at the head. */
  owner: Address;
  /** The registry's `nonce(owner)` at the head. */
  chainNonce: bigint;
  /** The nonce the owner's next ERC-1056 signature must carry: past the identity's DID writes still queued here. */
  nonce: bigint;
  /** The identity's signed DID writes this node holds and the chain has not mined (by the head read). */
  queued: number;
  /** When the owner is the identity's `RecoveryAccount`: the next `executeSigned` nonce, past the queued ones. */
  account?: { address: Address; controller: Address; chainNonce: bigint; nonce: bigint; queued: number };
};

/**
 * Queued outbox writes to `to`: pending or submitted, or confirmed in a block after `head` (the worker may mark one
 * mined between the head read and this query; the nonce read at the head does not count it yet).
 */
async function queuedCalls(services: ApiServices, to: Address, head: bigint): Promise<Hex[]> {
  const { rows } = await services.sql.query<{ data: Hex }>(
    `select payload->>'data' as data from outbox
     where lower(payload->>'to') = $1
       and (status in ('pending', 'submitted') or (status = 'confirmed' and block_number > $2))
     order by id`,
    [to.toLowerCase(), head],
  );
  return rows.map((row) => row.data);
}

/**
 * What the key acting for an identity must sign into its next DID change (`GET /v1/did/{address}/nonce`, checked
 * again by `POST /v1/did/changes` and `POST /v1/did/attributes`): the chain's nonce moved past every DID write of
 * the identity this node still has to send, so two changes back to back both land (the second is signed with the
 * nonce the first leaves behind). The ERC-1056 signature does not carry its nonce: each queued `…Signed` call of
 * the identity counts for one. A `RecoveryAccount`'s `executeSigned` carries it: the next is past the highest
 * queued. (A queued `changeOwner` moves the owner itself: the next change is signed by the key it names, once mined
 * — `carekey did rotate` waits for it.)
 *
 * @throws {ApiError} 503 `chain-unavailable`.
 */
export async function nextDidNonce(
  services: ApiServices,
  identity: Address,
): Promise<NextDidNonceReturnType> {
  const { client, deployment } = services.chain;
  const didRegistry = deployment.contracts.didRegistry.address;
  const { head, owner, chainNonce } = await readChain(async () => {
    const head = await getBlockNumber(client, { cacheTime: 0 });
    const owner = await readContract(client, {
      abi: ethereumDidRegistryAbi,
      address: didRegistry,
      functionName: 'identityOwner',
      args: [identity],
      blockNumber: head,
    });
    const chainNonce = await readContract(client, {
      abi: ethereumDidRegistryAbi,
      address: didRegistry,
      functionName: 'nonce',
      args: [owner],
      blockNumber: head,
    });
    return { head, owner: getAddress(owner), chainNonce };
  });
  let queued = 0;
  for (const data of await queuedCalls(services, didRegistry, head)) {
    try {
      const call = decodeFunctionData({ abi: ethereumDidRegistryAbi, data });
      const first = (call.args as readonly unknown[] | undefined)?.[0];
      if (SIGNED_REGISTRY_WRITES.has(call.functionName) && isAddressEqual(first as Address, identity))
        queued++;
    } catch {
      // not a registry call we know
    }
  }
  const found = await readRecoveryAccount(services, owner);
  if (found === undefined) return { owner, chainNonce, nonce: chainNonce + BigInt(queued), queued };
  let next = found.nonce;
  let accountQueued = 0;
  for (const data of await queuedCalls(services, found.address, head)) {
    try {
      const call = decodeFunctionData({ abi: recoveryAccountAbi, data });
      if (call.functionName !== 'executeSigned') continue;
      const nonce = call.args[2];
      if (nonce < found.nonce) continue;
      accountQueued++;
      if (nonce + 1n > next) next = nonce + 1n;
    } catch {
      // not an account call we know
    }
  }
  return {
    owner,
    chainNonce,
    nonce: chainNonce + BigInt(queued),
    queued: queued + accountQueued,
    account: {
      address: found.address,
      controller: found.controller,
      chainNonce: found.nonce,
      nonce: next,
      queued: accountQueued,
    },
  };
}
