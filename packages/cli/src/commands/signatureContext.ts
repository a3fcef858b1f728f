import type { Address } from 'viem';
import type { Session } from './openSession.ts';

export type SignatureContextParameters = {
  session: Session;
  /** Which contract will verify the signature (nonces are per contract). */
  contract: 'RecordRegistry' | 'ConsentRegistry';
  identity: Address;
};

/** The nonce and deadline a relayed EIP-712 action must carry (the node accounts for writes still queued). */
export type SignatureContext = { nonce: bigint; deadline: bigint };

/** Asks the node for the identity's next nonce on a contract and a deadline in chain time. */
export async function signatureContext(parameters: SignatureContextParameters): Promise<SignatureContext> {
  const { session, contract, identity } = parameters;
  const answer = await session.node.call<{ nonce: string; deadline: string }>({
    method: 'GET',
    path: `/v1/nonces/${identity}?contract=${contract}`,
  });
  return { nonce: BigInt(answer.nonce), deadline: BigInt(answer.deadline) };
}
