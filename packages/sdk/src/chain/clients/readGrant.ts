import type { Address, Client, Hex } from 'viem';
import { getBlock, readContract } from 'viem/actions';
import { consentRegistryAbi } from '../abi/index.ts';
import type { ScopeKind } from '../typedData.ts';
import { toContractRevertError } from './toContractRevertError.ts';

export type ReadGrantParameters = {
  client: Client;
  consentRegistry: Address;
  grantId: Hex;
  /** Read at this block (default latest): decisions name the block they were made at (T-4). */
  blockNumber?: bigint | undefined;
};

/** A grant as stored, with whether it is active at the block read. */
export type ReadGrantReturnType = {
  grantId: Hex;
  patient: Address;
  grantee: Address;
  scopeKind: ScopeKind;
  scopeData: readonly Hex[];
  purpose: Hex;
  createdAt: bigint;
  expiresAt: bigint;
  requestId: Hex;
  revoked: boolean;
  /** `isActive(grantId)`: not revoked and `block.timestamp < expiresAt` (chain time, T-3). */
  active: boolean;
  /** The block the answer is from, and its time. */
  blockNumber: bigint;
  chainTime: bigint;
};

/**
 * Reads a grant and `isActive` at one block.
 *
 * @throws {ContractRevertError} `ConsentRegistryUnknownGrant` if no grant has this id.
 * @example
 * const { active, expiresAt } = await readGrant({ client, consentRegistry, grantId });
 */
export async function readGrant(parameters: ReadGrantParameters): Promise<ReadGrantReturnType> {
  const { client, consentRegistry, grantId } = parameters;
  try {
    const block = await getBlock(
      client,
      parameters.blockNumber === undefined ? { blockTag: 'latest' } : { blockNumber: parameters.blockNumber },
    );
    const at = { blockNumber: block.number } as const;
    const [grant, active] = await Promise.all([
      readContract(client, {
        abi: consentRegistryAbi,
        address: consentRegistry,
        functionName: 'getGrant',
        args: [grantId],
        ...at,
      }),
      readContract(client, {
        abi: consentRegistryAbi,
        address: consentRegistry,
        functionName: 'isActive',
        args: [grantId],
        ...at,
      }),
    ]);
    return {
      grantId,
      patient: grant.patient,
      grantee: grant.grantee,
      scopeKind: grant.scopeKind as ScopeKind,
      scopeData: grant.scopeData,
      purpose: grant.purpose,
      createdAt: grant.createdAt,
      expiresAt: grant.expiresAt,
      requestId: grant.requestId,
      revoked: grant.revoked,
      active,
      blockNumber: block.number,
      chainTime: block.timestamp,
    };
  } catch (error) {
    throw toContractRevertError({ call: 'ConsentRegistry.getGrant', error });
  }
}
