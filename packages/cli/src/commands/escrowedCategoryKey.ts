import { createNodeClient, NodeError } from '@carekey/sdk/client';
import { CategoryKeyError } from '@carekey/sdk/errors';
import { categoryKeyToHex, getCategoryKeyEscrow, openCategoryKeyEscrow } from '@carekey/sdk/fhir';
import type { WalletKeys } from '@carekey/sdk/wallet';
import { type Address, isAddressEqual } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { nodeUrl } from './openSession.ts';

/**
 * At a restore (`init --restore`, `recover finish`): the identity's category key from the node's escrow, opened with
 * the restored X25519 key, for the new wallet file to carry — so a phrase made by `carekey did rotate` tags as the
 * identity always did. `undefined` when there is none, it does not open, or the node cannot be reached: the wallet
 * then resolves it at first use (`sessionCategoryKey`).
 */
export async function escrowedCategoryKey(
  keys: WalletKeys,
  identity: Address,
): Promise<`0x${string}` | undefined> {
  const account = privateKeyToAccount(keys.privateKey);
  const rotated = !isAddressEqual(identity, account.address);
  const node = createNodeClient({
    url: nodeUrl(),
    account,
    timeoutMs: 30_000,
    ...(rotated ? { identity } : {}),
  });
  try {
    const escrow = await getCategoryKeyEscrow(node);
    if (escrow === undefined) return undefined;
    return categoryKeyToHex(await openCategoryKeyEscrow({ escrow, identities: [keys.identity] }));
  } catch (error) {
    if (error instanceof NodeError || error instanceof CategoryKeyError) return undefined;
    throw error;
  }
}
