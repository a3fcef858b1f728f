import type { Address, Client, Hex, LocalAccount } from 'viem';
import { type GrantMessage, type ScopeKind, toGrantTypedData, ZERO_BYTES32 } from '../typedData.ts';
import { getSignatureContext } from './getSignatureContext.ts';

/** The terms of a grant, as the patient decides them. */
export type GrantTerms = {
  /** The patient identity (`did:ethr` address). */
  patient: Address;
  /** Who receives access. */
  grantee: Address;
  /** 0 all, 1 category tags, 2 record-id Merkle root (`ScopeKind`). */
  scopeKind: ScopeKind;
  /** Nothing, 1..64 category tags, or one root (`buildRecordIdTree`). */
  scopeData: readonly Hex[];
  /** HL7 PurposeOfUse as bytes32 (`purposeOfUse('TREAT')`). */
  purpose: Hex;
  /** Chain time (s) at which the grant lapses. */
  expiresAt: bigint;
  /** The access request this answers (default none). */
  requestId?: Hex | undefined;
};

export type SignGrantParameters = GrantTerms & {
  /** Reads the nonce, chain id and chain time. */
  client: Client;
  consentRegistry: Address;
  /** The patient's current DID owner. */
  signer: LocalAccount;
  /** Override the signed chain id (default: the client's chain). */
  chainId?: number | undefined;
  /** Override the nonce (default: `nonces(patient)`). */
  nonce?: bigint | undefined;
  /** Override the signature deadline (default: chain time + 10 min). */
  deadline?: bigint | undefined;
};

/** A grant signed by the patient, ready for anyone (the node) to relay with `relayGrant`. */
export type SignedGrant = {
  message: GrantMessage;
  signature: Hex;
  chainId: number;
  consentRegistry: Address;
};

export type SignGrantReturnType = SignedGrant;

/**
 * Signs a grant as the patient (EIP-712 `Grant`, domain "Carekey ConsentRegistry" v1,
 * bound to chain id and contract). Nothing is sent.
 *
 * @example
 * const signed = await signGrant({ client, consentRegistry, signer: patientKey, patient, grantee,
 *   scopeKind: ScopeKind.All, scopeData: [], purpose: purposeOfUse('TREAT'), expiresAt });
 */
export async function signGrant(parameters: SignGrantParameters): Promise<SignGrantReturnType> {
  const { client, consentRegistry, signer } = parameters;
  const context = await getSignatureContext({
    client,
    contract: 'ConsentRegistry',
    address: consentRegistry,
    identity: parameters.patient,
    nonce: parameters.nonce,
    deadline: parameters.deadline,
  });
  const chainId = parameters.chainId ?? context.chainId;
  const message: GrantMessage = {
    patient: parameters.patient,
    grantee: parameters.grantee,
    scopeKind: parameters.scopeKind,
    scopeData: parameters.scopeData,
    purpose: parameters.purpose,
    expiresAt: parameters.expiresAt,
    requestId: parameters.requestId ?? ZERO_BYTES32,
    nonce: context.nonce,
    deadline: context.deadline,
  };
  const signature = await signer.signTypedData(
    toGrantTypedData({ chainId, verifyingContract: consentRegistry, message }),
  );
  return { message, signature, chainId, consentRegistry };
}
