import { createNodeClient, type NodeClient, NodeUnreachableError } from '@carekey/sdk/client';
import type { WalletKeys } from '@carekey/sdk/wallet';
import type { Address, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { idbGet, idbSet } from './idb.ts';

/** An unlocked wallet and a client of the node that serves this page (same origin). */
export type Session = {
  keys: WalletKeys;
  account: LocalAccount;
  node: NodeClient;
  /**
   * The identity this wallet acts for: its own address, or, after a stolen-phone recovery moved an identity to this
   * device's key, that identity (the CLI's `--for`). Requests are signed by `account` on its behalf.
   */
  identity: Address;
};

/** The node is the page's own origin (the portal is served by it; `vite dev` proxies /v1). */
export function nodeUrl(): string {
  return globalThis.location?.origin ?? 'http://127.0.0.1:8787';
}

export function openSession(
  keys: WalletKeys,
  options: { url?: string; identity?: Address | undefined } = {},
): Session {
  const account = privateKeyToAccount(keys.privateKey);
  const identity = options.identity ?? keys.address;
  const rotated = identity.toLowerCase() !== keys.address.toLowerCase();
  return {
    keys,
    account,
    identity,
    node: createNodeClient({
      url: options.url ?? nodeUrl(),
      account,
      timeoutMs: 60_000,
      ...(rotated ? { identity } : {}),
    }),
  };
}

/** Lifetime of a relayed signature, seconds. */
export const SIGNATURE_TTL = 600;

export type SignatureContext = {
  nonce: bigint;
  deadline: bigint;
  /** Records that `used` nonces from `nonce` on are spent, once the node accepted the action. */
  commit(used?: number): Promise<void>;
};

/**
 * Nonce and deadline of the next relayed action of this identity on a contract (as the CLI's
 * `signatureContext`): the node's `GET /v1/nonces/{address}` when it has one, else this browser's own counter in
 * IndexedDB (public numbers).
 */
export async function signatureContext(
  session: Session,
  contract: 'RecordRegistry' | 'ConsentRegistry',
): Promise<SignatureContext> {
  const description = await session.node.describe();
  const identity = session.identity;
  const address =
    contract === 'RecordRegistry'
      ? description.contracts.recordRegistry
      : description.contracts.consentRegistry;
  const key = `nonce:${description.chainId}:${address.toLowerCase()}:${identity.toLowerCase()}`;
  const deadline = BigInt(Math.floor(Date.now() / 1000) + SIGNATURE_TTL);
  let nonce: bigint;
  try {
    const answer = await session.node.call<{ nonce: string }>({
      method: 'GET',
      path: `/v1/nonces/${identity}?contract=${contract}`,
    });
    nonce = BigInt(answer.nonce);
  } catch (error) {
    if (error instanceof NodeUnreachableError) throw error; // a node without the route (404): own counter
    nonce = BigInt((await idbGet<string>(key)) ?? '0');
  }
  return {
    nonce,
    deadline,
    commit: async (used = 1) => {
      const stored = BigInt((await idbGet<string>(key)) ?? '0');
      const next = nonce + BigInt(used);
      if (next > stored) await idbSet(key, next.toString());
    },
  };
}
