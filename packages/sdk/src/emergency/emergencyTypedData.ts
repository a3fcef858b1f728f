/**
 * EIP-712 messages the `Emergency` contract verifies (domain `Carekey Emergency` v1): a patient's `PolicyChange`
 * and a clinician's `BreakGlass`. The node checks the same signatures before it relays them, so a client signs
 * exactly what the chain checks.
 */
import { type Address, encodeAbiParameters, type Hex, hashTypedData, keccak256 } from 'viem';
import { CAREKEY_DOMAIN_VERSION, type ToTypedDataParameters } from '../chain/typedData.ts';
import type { EmergencyScope } from './emergencyPolicy.ts';

export const EMERGENCY_DOMAIN_NAME = 'Carekey Emergency';

/** `Emergency.POLICY_TYPEHASH`. */
export const policyChangeTypes = {
  PolicyChange: [
    { name: 'patient', type: 'address' },
    { name: 'policy', type: 'uint8' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** `Emergency.BREAK_GLASS_TYPEHASH`. */
export const breakGlassTypes = {
  BreakGlass: [
    { name: 'clinician', type: 'address' },
    { name: 'patient', type: 'address' },
    { name: 'scope', type: 'uint8' },
    { name: 'accessId', type: 'bytes32' },
    { name: 'expiresAt', type: 'uint64' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/** A patient sets its policy (0 off, 1 summary, 2 all). */
export type PolicyChangeMessage = { patient: Address; policy: number; nonce: bigint; deadline: bigint };

/** A clinician breaks the glass (scope 1 summary, 2 all). */
export type BreakGlassMessage = {
  clinician: Address;
  patient: Address;
  scope: EmergencyScope;
  accessId: Hex;
  expiresAt: bigint;
  deadline: bigint;
};

function domain({ chainId, verifyingContract }: { chainId: number | bigint; verifyingContract: Address }) {
  return {
    name: EMERGENCY_DOMAIN_NAME,
    version: CAREKEY_DOMAIN_VERSION,
    chainId: BigInt(chainId),
    verifyingContract,
  } as const;
}

/** The typed data of a relayed policy change, ready for `signTypedData`. */
export function toPolicyChangeTypedData({ message, ...target }: ToTypedDataParameters<PolicyChangeMessage>) {
  return { domain: domain(target), types: policyChangeTypes, primaryType: 'PolicyChange', message } as const;
}

/** The typed data of a break-glass, ready for `signTypedData`. */
export function toBreakGlassTypedData({ message, ...target }: ToTypedDataParameters<BreakGlassMessage>) {
  return { domain: domain(target), types: breakGlassTypes, primaryType: 'BreakGlass', message } as const;
}

/** The EIP-712 digest of a policy change. */
export function hashPolicyChange(parameters: ToTypedDataParameters<PolicyChangeMessage>): Hex {
  return hashTypedData(toPolicyChangeTypedData(parameters));
}

/** The EIP-712 digest of a break-glass. */
export function hashBreakGlass(parameters: ToTypedDataParameters<BreakGlassMessage>): Hex {
  return hashTypedData(toBreakGlassTypedData(parameters));
}

/** What a break-glass's access id commits to (everything the clinician asked, beyond the on-chain fields). */
export type AccessIdInput = {
  /** 32 random bytes the clinician chose: the id is unguessable, so the reason cannot be found from it. */
  salt: Hex;
  /** HL7 PurposeOfUse code; the node accepts only `ETREAT`. */
  purpose: string;
  /** The clinician's reason, in words (kept in the node's access log, never on chain). */
  reason: string;
  /** The clinician's age X25519 recipient the keys are re-wrapped to. */
  recipient: string;
};

/**
 * The access id a `BreakGlass` signs: `keccak256(abi.encode(salt, purpose, reason, recipient))`. The chain sees
 * only the id; the node recomputes it from the request, so the clinician's signature covers the purpose, the
 * reason and the key the summary is re-wrapped to.
 */
export function deriveAccessId(input: AccessIdInput): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'bytes32' }, { type: 'string' }, { type: 'string' }, { type: 'string' }],
      [input.salt, input.purpose, input.reason, input.recipient],
    ),
  );
}
