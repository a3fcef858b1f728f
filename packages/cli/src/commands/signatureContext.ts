import { NodeProblemError } from '@carekey/sdk/client';
import type { Address } from 'viem';
import { consumeNonces, nextNonce, nonceKey } from '../home/nonceCounter.ts';
import type { Session } from './openSession.ts';

/** Lifetime of a relayed signature, seconds (as the SDK's `DEFAULT_SIGNATURE_TTL`). */
export const SIGNATURE_TTL = 600;

export type SignatureContextParameters = {
  session: Session;
  /** Which contract will verify the signature (nonces are per contract). */
  contract: 'RecordRegistry' | 'ConsentRegistry';
  identity: Address;
};

/** The nonce and deadline a relayed EIP-712 action must carry, and how to record that the node accepted it. */
export type SignatureContext = {
  nonce: bigint;
  deadline: bigint;
  /** Call once the node accepted the action: `used` nonces from `nonce` on are spent (1, or 2 for a shred). */
  commit(used?: number): Promise<void>;
};

/**
 * The nonce of the identity's next relayed action on a contract, and a deadline.
 *
 * The node API has no nonce route yet (docs/protocol.md names none): if the node answers `GET /v1/nonces/{address}`
 * its answer is used; otherwise this wallet's own counter in `CAREKEY_HOME/nonces.json` (every relayed action of an
 * identity is signed by its wallet, so the counter follows the contract's `nonces(identity)` for one device). The
 * deadline is ten minutes ahead of this computer's clock (the vault compares it with chain time).
 */
export async function signatureContext(parameters: SignatureContextParameters): Promise<SignatureContext> {
  const { session, contract, identity } = parameters;
  const description = await session.node.describe();
  const address =
    contract === 'RecordRegistry'
      ? description.contracts.recordRegistry
      : description.contracts.consentRegistry;
  const key = nonceKey(description.chainId, address, identity);
  const deadline = BigInt(Math.floor(Date.now() / 1000) + SIGNATURE_TTL);
  let nonce: bigint;
  try {
    const answer = await session.node.call<{ nonce: string }>({
      method: 'GET',
      path: `/v1/nonces/${identity}?contract=${contract}`,
    });
    nonce = BigInt(answer.nonce);
  } catch (error) {
    if (!(error instanceof NodeProblemError && error.status === 404)) throw error;
    nonce = await nextNonce(session.home, key);
  }
  return {
    nonce,
    deadline,
    commit: (used = 1) => consumeNonces(session.home, key, nonce, BigInt(used)),
  };
}
