import { resolveCategoryKey } from '@carekey/sdk/fhir';
import type { Session } from './session.ts';

const resolved = new WeakMap<Session, Promise<Uint8Array>>();

/**
 * The identity's category key for this session, the same across key rotations and recoveries (docs/identity.md,
 * "The category key across rotations"): the node's escrow opened with this wallet's X25519 key, else — a wallet of
 * before the escrow — the key derived from its own secp256k1 key as before, escrowed now. Resolved once per session;
 * callers must not zero it.
 */
export function sessionCategoryKey(session: Session): Promise<Uint8Array> {
  let key = resolved.get(session);
  if (key === undefined) {
    key = resolveCategoryKey({
      node: session.node,
      identity: session.keys.identity,
      privateKey: session.keys.privateKey,
    }).then((r) => r.key);
    key.catch(() => resolved.delete(session));
    resolved.set(session, key);
  }
  return key;
}
