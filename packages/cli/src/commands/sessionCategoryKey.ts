import { categoryKeyFromHex, resolveCategoryKey } from '@carekey/sdk/fhir';
import type { Session } from './openSession.ts';

const resolved = new WeakMap<Session, Promise<Uint8Array>>();

/**
 * The identity's category key for this session (docs/identity.md, "The category key across rotations"): the one the
 * wallet file carries, else the node's escrow (opened with the wallet's X25519 key), else — a wallet of before the
 * escrow — the key derived from the wallet's own secp256k1 key, escrowed now so that a later rotation or restore
 * keeps it. Resolved once per session (one signed `GET /v1/identity/category-key`). Callers must not zero it.
 *
 * @throws {CategoryKeyError} the escrow does not open with this wallet's key; {NodeError} the node refused.
 */
export function sessionCategoryKey(session: Session): Promise<Uint8Array> {
  let key = resolved.get(session);
  if (key === undefined) {
    key = resolveCategoryKey({
      node: session.node,
      identity: session.keys.identity,
      privateKey: session.keys.privateKey,
      held: session.heldCategoryKey === undefined ? undefined : categoryKeyFromHex(session.heldCategoryKey),
    }).then((r) => r.key);
    key.catch(() => resolved.delete(session));
    resolved.set(session, key);
  }
  return key;
}
