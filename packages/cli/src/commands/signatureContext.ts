import type { Address } from 'viem';
import type { Session } from './openSession.ts';

/** Lifetime of a relayed signature, seconds (as the SDK's `DEFAULT_SIGNATURE_TTL`). */
export const SIGNATURE_TTL = 600;

export type SignatureContextParameters = {
  session: Session;
  /** Which contract will verify the signature (nonces are per contract). */
  contract: 'RecordRegistry' | 'ConsentRegistry';
  identity: Address;
};

/** The nonce and deadline a relayed EIP-712 action must carry. */
export type SignatureContext = {
  nonce: bigint;
  deadline: bigint;
  /**
   * Kept for callers written when the CLI counted nonces itself: the node now tracks every signed write it holds
   * (`GET /v1/nonces/{address}`), so there is nothing to record. A no-op.
   */
  commit(used?: number): Promise<void>;
};

/**
 * The nonce of the identity's next relayed action on a contract, and a deadline.
 *
 * The nonce comes from the node (`GET /v1/nonces/{address}?contract=…`): the contract's `nonces(identity)` moved
 * past the identity's signed writes the node still holds in its outbox. Nothing is
 * counted on this computer, so a wallet restored on another device signs with the right nonce at once. The
 * deadline is ten minutes ahead of this computer's clock (the vault compares it with chain time).
 */
export async function signatureContext(parameters: SignatureContextParameters): Promise<SignatureContext> {
  const { session, contract, identity } = parameters;
  const deadline = BigInt(Math.floor(Date.now() / 1000) + SIGNATURE_TTL);
  const answer = await session.node.call<{ nonce: string }>({
    method: 'GET',
    path: `/v1/nonces/${identity}?contract=${contract}`,
  });
  return { nonce: BigInt(answer.nonce), deadline, commit: async () => {} };
}
