import { type Address, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import type { ChainGrant, VaultChain } from './VaultChain.ts';

/** Most grants of one patient read per call (a patient with more is served its latest ones). */
export const MAX_PATIENT_GRANTS = 1000;

export type ReadPatientGrantsParameters = {
  chain: VaultChain;
  patient: Address;
  /** The block to read at (one consistent view). */
  blockNumber: bigint;
};

export type ReadPatientGrantsReturnType = ChainGrant[];

/** The id `ConsentRegistry` gives a patient's `sequence`-th grant: `keccak256(abi.encode(patient, sequence))`. */
export function grantIdOf(patient: Address, sequence: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [patient, sequence]));
}

/**
 * Every grant a patient has created, read from the chain at one block (grant ids are sequential per patient,
 * so no index is needed: the chain is the source of truth, revocations included).
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 * @example
 * const grants = await readPatientGrants({ chain, patient, blockNumber: head.number });
 */
export async function readPatientGrants(
  parameters: ReadPatientGrantsParameters,
): Promise<ReadPatientGrantsReturnType> {
  const { chain, patient, blockNumber } = parameters;
  const count = await chain.grantCount(patient, blockNumber);
  const first = count > BigInt(MAX_PATIENT_GRANTS) ? count - BigInt(MAX_PATIENT_GRANTS) : 0n;
  const reads: Promise<ChainGrant | undefined>[] = [];
  for (let i = first; i < count; i++) reads.push(chain.readGrant(grantIdOf(patient, i), blockNumber));
  return (await Promise.all(reads)).filter((g): g is ChainGrant => g !== undefined);
}
