import type { Address, Client } from 'viem';
import { readContract } from 'viem/actions';
import { trustedIssuersAbi } from '../chain/abi/index.ts';

/** `TrustedIssuers.Action`: what a governor approves. */
export const IssuerAction = { Add: 0, Remove: 1 } as const;
export type IssuerAction = (typeof IssuerAction)[keyof typeof IssuerAction];

/** EIP-712 message of a relayed governor approval (`TrustedIssuers.approveSigned`). */
export type ApprovalMessage = {
  governor: Address;
  action: IssuerAction;
  issuer: Address;
  epoch: bigint;
  nonce: bigint;
  deadline: bigint;
};

/** The EIP-712 typed data a governor signs to approve adding or removing an issuer. */
export function toApprovalTypedData(parameters: {
  chainId: number;
  verifyingContract: Address;
  message: ApprovalMessage;
}) {
  return {
    domain: {
      name: 'Carekey TrustedIssuers',
      version: '1',
      chainId: parameters.chainId,
      verifyingContract: parameters.verifyingContract,
    },
    types: {
      Approval: [
        { name: 'governor', type: 'address' },
        { name: 'action', type: 'uint8' },
        { name: 'issuer', type: 'address' },
        { name: 'epoch', type: 'uint64' },
        { name: 'nonce', type: 'uint256' },
        { name: 'deadline', type: 'uint256' },
      ],
    },
    primaryType: 'Approval',
    message: parameters.message,
  } as const;
}

/** Reads `TrustedIssuers.isTrusted(issuer)`. */
export async function isTrustedIssuer(parameters: {
  client: Client;
  trustedIssuers: Address;
  issuer: Address;
}): Promise<boolean> {
  return readContract(parameters.client, {
    abi: trustedIssuersAbi,
    address: parameters.trustedIssuers,
    functionName: 'isTrusted',
    args: [parameters.issuer],
  });
}

/** What a governor needs to sign an approval: the issuer's epoch, its own nonce, whether it is trusted. */
export async function readApprovalContext(parameters: {
  client: Client;
  trustedIssuers: Address;
  governor: Address;
  issuer: Address;
}): Promise<{ epoch: bigint; nonce: bigint; trusted: boolean; isGovernor: boolean; threshold: bigint }> {
  const { client, trustedIssuers: address, governor, issuer } = parameters;
  const read = <name extends 'epoch' | 'nonces' | 'isTrusted' | 'isGovernor'>(
    functionName: name,
    arg: Address,
  ) =>
    readContract(client, {
      abi: trustedIssuersAbi,
      address,
      functionName,
      args: [arg],
    } as never) as Promise<unknown>;
  const [epoch, nonce, trusted, isGovernor, threshold] = await Promise.all([
    read('epoch', issuer),
    read('nonces', governor),
    read('isTrusted', issuer),
    read('isGovernor', governor),
    readContract(client, { abi: trustedIssuersAbi, address, functionName: 'threshold' }),
  ]);
  return {
    epoch: epoch as bigint,
    nonce: nonce as bigint,
    trusted: trusted as boolean,
    isGovernor: isGovernor as boolean,
    threshold,
  };
}
