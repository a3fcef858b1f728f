import type { NodeClient } from '../client/createNodeClient.ts';
import type { X25519Identity } from '../crypto/index.ts';
import { categoryKeyFromHex, resolveCategoryKey } from './categoryKeyEscrow.ts';

/** What {@link sessionCategoryKey} needs of a session (the CLI's and the portal's both fit). */
export type CategoryKeySession = {
  /** A client signing for the identity. */
  node: NodeClient;
  /** The wallet's X25519 identity and secp256k1 key (`WalletKeys`). */
  keys: { identity: X25519Identity; privateKey: `0x${string}` };
  /** The category key the wallet file holds (0x-hex), if it holds one (the CLI's wallet since a rotation). */
  heldCategoryKey?: `0x${string}` | undefined;
};

const resolved = new WeakMap<CategoryKeySession, Promise<Uint8Array>>();

/**
 * The identity's category key for this session (docs/identity.md, "The category key across rotations"), by
 * {@link resolveCategoryKey}: the one the wallet file carries, else the node's escrow (opened with the wallet's X25519
 * key), else — a wallet of before the escrow — the key derived from the wallet's own secp256k1 key, escrowed now so
 * that a later rotation or restore keeps it. Resolved once per session object (one signed
 * `GET /v1/identity/category-key`); a failure is not kept, the next call asks again. Callers must not zero it.
 *
 * @throws {CategoryKeyError} the escrow does not open with this wallet's key (or the held key is not 32 bytes of
 *   hex); {NodeError} the node refused or is unreachable.
 */
export function sessionCategoryKey(session: CategoryKeySession): Promise<Uint8Array> {
  let key = resolved.get(session);
  if (key === undefined) {
    const held = session.heldCategoryKey;
    key = Promise.resolve()
      .then(() =>
        resolveCategoryKey({
          node: session.node,
          identity: session.keys.identity,
          privateKey: session.keys.privateKey,
          held: held === undefined ? undefined : categoryKeyFromHex(held),
        }),
      )
      .then((r) => r.key);
    key.catch(() => resolved.delete(session));
    resolved.set(session, key);
  }
  return key;
}
