/**
 * Signers of the relayed ConsentRegistry actions a gateway (the CLI, the web portal) sends to a node: a grant, its
 * revocation, an access request and its denial. Each takes the nonce and deadline the caller got (the node's
 * `GET /v1/nonces/{address}`), signs the EIP-712 message with the identity owner's account, and returns the message,
 * the signature and the exact JSON body the node's route takes (integers as decimal strings). No chain client: the
 * chain id and the contract address come from the node's description (`GET /v1/node`).
 *
 * @example
 * const { nonce } = await node.call({ method: 'GET', path: `/v1/nonces/${me}?contract=ConsentRegistry` });
 * const signed = await signRevokeForRelay({ account, chainId, verifyingContract: consentRegistry,
 *   nonce: BigInt(nonce), deadline, patient: me, grantId });
 * await node.revokeGrant(grantId, signed.body);
 */
import type { Hex, LocalAccount } from 'viem';
import {
  type AccessRequestMessage,
  type DenyMessage,
  type GrantMessage,
  type RevokeMessage,
  type TypedDataTarget,
  toAccessRequestTypedData,
  toDenyTypedData,
  toGrantTypedData,
  toRevokeTypedData,
  ZERO_BYTES32,
} from './typedData.ts';

/** Who signs, for which contract, with which nonce and deadline. */
export type RelaySignatureParameters = TypedDataTarget & {
  /** The identity's current DID owner (a local account: the key is in this process or page). */
  account: Pick<LocalAccount, 'signTypedData'>;
  /** The identity's next nonce on the contract. */
  nonce: bigint;
  /** Last second (chain time) the signature is good for. */
  deadline: bigint;
};

/** A signed part of a relayed action as the node takes it. */
export type RelaySignedPart = { nonce: string; deadline: string; signature: Hex };

export type SignedForRelay<message, body> = { message: message; signature: Hex; body: body };

type Terms<message> = Omit<message, 'nonce' | 'deadline'>;

const signedPart = (p: RelaySignatureParameters, signature: Hex): RelaySignedPart => ({
  nonce: p.nonce.toString(),
  deadline: p.deadline.toString(),
  signature,
});

export type SignGrantForRelayParameters = RelaySignatureParameters & {
  grant: Omit<Terms<GrantMessage>, 'requestId'> & { requestId?: Hex | undefined };
};
export type GrantRelayBody = Omit<GrantMessage, 'scopeData' | 'expiresAt' | 'nonce' | 'deadline'> &
  RelaySignedPart & { scopeData: Hex[]; expiresAt: string };

/** Signs a patient's `Grant` (`POST /v1/grants` takes `body` as `grant`). */
export async function signGrantForRelay(
  parameters: SignGrantForRelayParameters,
): Promise<SignedForRelay<GrantMessage, GrantRelayBody>> {
  const { grant } = parameters;
  const message: GrantMessage = {
    ...grant,
    requestId: grant.requestId ?? ZERO_BYTES32,
    nonce: parameters.nonce,
    deadline: parameters.deadline,
  };
  const signature = await parameters.account.signTypedData(
    toGrantTypedData({
      chainId: parameters.chainId,
      verifyingContract: parameters.verifyingContract,
      message,
    }),
  );
  return {
    message,
    signature,
    body: {
      ...message,
      scopeData: [...message.scopeData],
      expiresAt: message.expiresAt.toString(),
      ...signedPart(parameters, signature),
    },
  };
}

export type SignRevokeForRelayParameters = RelaySignatureParameters & Terms<RevokeMessage>;
export type RevokeRelayBody = RelaySignedPart & { grantId: Hex };

/** Signs a patient's `Revoke` of a grant they gave (`POST /v1/grants/{grantId}/revoke`). */
export async function signRevokeForRelay(
  parameters: SignRevokeForRelayParameters,
): Promise<SignedForRelay<RevokeMessage, RevokeRelayBody>> {
  const message: RevokeMessage = {
    patient: parameters.patient,
    grantId: parameters.grantId,
    nonce: parameters.nonce,
    deadline: parameters.deadline,
  };
  const signature = await parameters.account.signTypedData(
    toRevokeTypedData({
      chainId: parameters.chainId,
      verifyingContract: parameters.verifyingContract,
      message,
    }),
  );
  return { message, signature, body: { grantId: message.grantId, ...signedPart(parameters, signature) } };
}

export type SignDenyForRelayParameters = RelaySignatureParameters & Terms<DenyMessage>;
export type DenyRelayBody = RelaySignedPart & { requestId: Hex };

/** Signs a patient's `Deny` of an access request (`POST /v1/requests/{requestId}/deny`). */
export async function signDenyForRelay(
  parameters: SignDenyForRelayParameters,
): Promise<SignedForRelay<DenyMessage, DenyRelayBody>> {
  const message: DenyMessage = {
    patient: parameters.patient,
    requestId: parameters.requestId,
    nonce: parameters.nonce,
    deadline: parameters.deadline,
  };
  const signature = await parameters.account.signTypedData(
    toDenyTypedData({
      chainId: parameters.chainId,
      verifyingContract: parameters.verifyingContract,
      message,
    }),
  );
  return { message, signature, body: { requestId: message.requestId, ...signedPart(parameters, signature) } };
}

export type SignAccessRequestForRelayParameters = RelaySignatureParameters & {
  request: Terms<AccessRequestMessage>;
};
export type AccessRequestRelayBody = Omit<
  AccessRequestMessage,
  'scopeData' | 'expiresAt' | 'nonce' | 'deadline'
> &
  RelaySignedPart & { scopeData: Hex[]; expiresAt: string };

/** Signs a requester's `AccessRequest` to a patient (`POST /v1/requests` takes `body` as `request`). */
export async function signAccessRequestForRelay(
  parameters: SignAccessRequestForRelayParameters,
): Promise<SignedForRelay<AccessRequestMessage, AccessRequestRelayBody>> {
  const message: AccessRequestMessage = {
    ...parameters.request,
    nonce: parameters.nonce,
    deadline: parameters.deadline,
  };
  const signature = await parameters.account.signTypedData(
    toAccessRequestTypedData({
      chainId: parameters.chainId,
      verifyingContract: parameters.verifyingContract,
      message,
    }),
  );
  return {
    message,
    signature,
    body: {
      ...message,
      scopeData: [...message.scopeData],
      expiresAt: message.expiresAt.toString(),
      ...signedPart(parameters, signature),
    },
  };
}
