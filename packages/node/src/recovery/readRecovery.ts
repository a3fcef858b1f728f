import {
  ethereumDidRegistryAbi,
  getIdentityOwner,
  recoveryAbi,
  recoveryAccountAbi,
} from '@carekey/sdk/chain';
import { type Address, getAddress, type Hex, isAddressEqual, zeroAddress } from 'viem';
import { getBlock, getCode, readContract } from 'viem/actions';
import type { ApiServices } from '../api/ApiServices.ts';
import { readChain } from '../api/readChain.ts';

/** An identity's ERC-1056 owner when it is one of this node's `RecoveryAccount`s. */
export type RecoveryAccountState = { address: Address; controller: Address; nonce: bigint };

/**
 * The identity's owner as a `RecoveryAccount` deployed by this node's `Recovery` contract, or `undefined` when the
 * owner is a key (or any other contract: the node relays for its own accounts only).
 *
 * @throws {ApiError} 503 `chain-unavailable`.
 */
export async function readRecoveryAccount(
  services: ApiServices,
  owner: Address,
): Promise<RecoveryAccountState | undefined> {
  const { client, deployment } = services.chain;
  return readChain(async () => {
    const code = await getCode(client, { address: owner });
    if (code === undefined || code === '0x') return undefined;
    const read = <name extends 'recovery' | 'controller' | 'nonce'>(functionName: name) =>
      readContract(client, { abi: recoveryAccountAbi, address: owner, functionName });
    const recovery = await read('recovery').catch(() => undefined);
    if (recovery === undefined || !isAddressEqual(recovery, deployment.contracts.recovery.address)) {
      return undefined;
    }
    const [controller, nonce] = await Promise.all([read('controller'), read('nonce')]);
    return { address: getAddress(owner), controller, nonce };
  });
}

/** What `GET /v1/recovery/{address}` answers. */
export type RecoveryState = {
  identity: Address;
  recovery: Address;
  owner: Address;
  /** The DID registry nonce of the owner (what `enable`'s `changeOwnerSigned` signature uses). */
  ownerNonce: bigint;
  enabled: boolean;
  /** The identity's recovery account (its address is known before it exists). */
  account: Address;
  controller: Address | null;
  guardians: readonly Address[];
  threshold: number;
  delay: bigint;
  round: bigint;
  shareSetRoot: Hex;
  shareEpoch: number;
  /** `Enable`/`Configure` nonce. */
  nonce: bigint;
  pending: { newController: Address; approvals: number; readyAt: bigint } | null;
  approvedBy: readonly Address[];
  chainTime: bigint;
};

/**
 * Reads an identity's stolen-phone recovery: settings, the round, the recovery under way and who approved it.
 *
 * @throws {ApiError} 503 `chain-unavailable`.
 */
export async function readRecovery(services: ApiServices, identity: Address): Promise<RecoveryState> {
  const { client, deployment } = services.chain;
  const recovery = deployment.contracts.recovery.address;
  const didRegistry = deployment.contracts.didRegistry.address;
  return readChain(async () => {
    const at = { abi: recoveryAbi, address: recovery } as const;
    const [config, pending, account, nonce, owner, block] = await Promise.all([
      readContract(client, { ...at, functionName: 'recoveryOf', args: [identity] }),
      readContract(client, { ...at, functionName: 'pendingRecovery', args: [identity] }),
      readContract(client, { ...at, functionName: 'accountAddress', args: [identity] }),
      readContract(client, { ...at, functionName: 'nonces', args: [identity] }),
      getIdentityOwner({ client, didRegistry, identity }),
      getBlock(client, { blockTag: 'latest' }),
    ]);
    const [accountNow, guardians, threshold, delay, round, shareSetRoot, shareEpoch] = config;
    const enabled = accountNow !== zeroAddress;
    const approved = await Promise.all(
      guardians.map((g) => readContract(client, { ...at, functionName: 'hasApproved', args: [identity, g] })),
    );
    const controller = enabled
      ? await readContract(client, {
          abi: recoveryAccountAbi,
          address: accountNow,
          functionName: 'controller',
        })
      : null;
    const ownerNonce = await readContract(client, {
      abi: ethereumDidRegistryAbi,
      address: didRegistry,
      functionName: 'nonce',
      args: [owner],
    });
    return {
      identity,
      recovery,
      owner,
      ownerNonce,
      enabled,
      account,
      controller,
      guardians,
      threshold,
      delay,
      round,
      shareSetRoot,
      shareEpoch,
      nonce,
      pending:
        pending[0] === zeroAddress
          ? null
          : { newController: pending[0], approvals: pending[1], readyAt: pending[2] },
      approvedBy: guardians.filter((_, i) => approved[i]),
      chainTime: block.timestamp,
    };
  });
}

/**
 * The guardians the `Recovery` contract names for `identity` now (the source of truth for whom to tell about a
 * break-glass or a recovery), or `undefined` when stolen-phone recovery is off.
 *
 * @throws {ApiError} 503 `chain-unavailable`.
 */
export async function readRecoveryGuardians(
  services: Pick<ApiServices, 'chain'>,
  identity: Address,
): Promise<readonly Address[] | undefined> {
  const { client, deployment } = services.chain;
  return readChain(async () => {
    const [account, guardians] = await readContract(client, {
      abi: recoveryAbi,
      address: deployment.contracts.recovery.address,
      functionName: 'recoveryOf',
      args: [identity],
    });
    return account === zeroAddress ? undefined : guardians.map((g) => getAddress(g));
  });
}
