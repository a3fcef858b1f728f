import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import type { NodeClient } from '../client/createNodeClient.ts';
import { armor, dearmor, decrypt, encrypt, type X25519Identity, X25519Recipient } from '../crypto/index.ts';
import { CategoryKeyError } from '../errors/fhir.ts';
import { categoryKey } from './categoryKey.ts';

/** HMAC info of a category key's id (what the node keeps to name the key without learning it). */
export const CATEGORY_KEY_ID_INFO = 'carekey/category-key-id';

/** Length of a category key, bytes. */
const KEY_BYTES = 32;

/**
 * The id of a category key: `HMAC-SHA256(key, "carekey/category-key-id")`, 0x-hex. The node keeps it beside the
 * escrow so an identity's category key, once escrowed, can be re-sealed but never swapped for another (a thief's key
 * or a client bug would split the identity's tags in two).
 */
export function categoryKeyId(key: Uint8Array): `0x${string}` {
  return `0x${bytesToHex(hmac(sha256, key, utf8ToBytes(CATEGORY_KEY_ID_INFO)))}`;
}

/** The category key as the wallet file holds it (0x-hex). */
export function categoryKeyToHex(key: Uint8Array): `0x${string}` {
  return `0x${bytesToHex(key)}`;
}

/** The category key from the wallet file's 0x-hex. @throws {CategoryKeyError} when it is not 32 bytes of hex. */
export function categoryKeyFromHex(text: string): Uint8Array {
  if (!/^0x[0-9a-f]{64}$/u.test(text))
    throw new CategoryKeyError('the category key is not 32 bytes of 0x-hex');
  return hexToBytes(text.slice(2));
}

/** Seals a category key to an X25519 recipient (`age1…`): an armored age file only that key opens. */
export async function sealCategoryKey(parameters: { key: Uint8Array; recipient: string }): Promise<string> {
  const file = await encrypt({
    recipients: [new X25519Recipient(parameters.recipient)],
    plaintext: parameters.key,
  });
  return armor(file);
}

/**
 * Opens a sealed category key with one of the identities.
 *
 * @throws {CategoryKeyError} when none opens it or it does not hold a 32-byte key.
 */
export async function openCategoryKey(parameters: {
  sealed: string;
  identities: readonly X25519Identity[];
}): Promise<Uint8Array> {
  let key: Uint8Array;
  try {
    key = await decrypt({ identities: [...parameters.identities], ciphertext: dearmor(parameters.sealed) });
  } catch (cause) {
    throw new CategoryKeyError('the category key kept on the node does not open with this wallet’s key', {
      cause,
    });
  }
  if (key.length !== KEY_BYTES) throw new CategoryKeyError('the sealed category key is not 32 bytes');
  return key;
}

/**
 * An identity's category key as the node keeps it (`GET /v1/identity/category-key`): the latest seal, and the
 * earlier ones, newest first (the same key sealed to earlier X25519 keys; absent from nodes before migration 014).
 */
export type CategoryKeyEscrow = {
  keyId: `0x${string}`;
  sealed: string;
  updatedAt: string;
  earlier?: readonly string[] | undefined;
};

/**
 * Opens an escrow with one of the identities: its latest seal, else the first of the earlier ones (newest first) that
 * opens — a thief of the patient's phone can re-seal the escrow to a key of its own, never take away the seal
 * the patient made (docs/identity.md). The key must match the escrow's id.
 *
 * @throws {CategoryKeyError} when no seal opens with these identities, or the key does not match the id.
 */
export async function openCategoryKeyEscrow(parameters: {
  escrow: CategoryKeyEscrow;
  identities: readonly X25519Identity[];
}): Promise<Uint8Array> {
  return (await openEscrowSeals(parameters)).key;
}

/** {@link openCategoryKeyEscrow}, and whether the seal that opened is the latest (else it wants a re-seal). */
async function openEscrowSeals(parameters: {
  escrow: CategoryKeyEscrow;
  identities: readonly X25519Identity[];
}): Promise<{ key: Uint8Array; latest: boolean }> {
  const { escrow, identities } = parameters;
  let failure: unknown;
  for (const [at, sealed] of [escrow.sealed, ...(escrow.earlier ?? [])].entries()) {
    try {
      const key = await openCategoryKey({ sealed, identities });
      if (categoryKeyId(key) === escrow.keyId.toLowerCase()) return { key, latest: at === 0 };
      key.fill(0);
      failure = new CategoryKeyError('the category key kept on the node does not match its id');
    } catch (error) {
      failure ??= error;
    }
  }
  throw failure;
}

/** The caller identity's escrowed category key (`GET /v1/identity/category-key`, signed), or none. */
export async function getCategoryKeyEscrow(node: NodeClient): Promise<CategoryKeyEscrow | undefined> {
  const answer = await node.call<{ escrow: CategoryKeyEscrow | null }>({
    method: 'GET',
    path: '/v1/identity/category-key',
    signed: true,
  });
  return answer.escrow ?? undefined;
}

/**
 * Escrows (or re-seals) the caller identity's category key on the node, sealed to `recipient` — the identity's
 * current X25519 key (`PUT /v1/identity/category-key`, signed by the key acting for the identity). The node refuses
 * another key than the one it holds (409 `category-key-mismatch`).
 */
export async function putCategoryKeyEscrow(
  node: NodeClient,
  parameters: { key: Uint8Array; recipient: string },
): Promise<void> {
  await node.call({
    method: 'PUT',
    path: '/v1/identity/category-key',
    json: { keyId: categoryKeyId(parameters.key), sealed: await sealCategoryKey(parameters) },
    signed: true,
  });
}

export type ResolveCategoryKeyParameters = {
  /** A client signing for the identity (its key acting for the identity now). */
  node: NodeClient;
  /** The X25519 identity the escrow is (or will be) sealed to, with its recipient. */
  identity: X25519Identity;
  /**
   * The secp256k1 key of the wallet whose phrase the identity started with, if it is that one: the category key of
   * a wallet that never held one is derived from it (`categoryKey`, the derivation before escrows).
   */
  privateKey: `0x${string}`;
  /** The category key the wallet file holds, if it holds one. */
  held?: Uint8Array | undefined;
  /**
   * Re-seal the escrow to this recipient (`age1…`) in any case: the new X25519 key after a rotation or a recovery,
   * `identity` being the old one. Default: `identity`'s own, only when the escrow needs it.
   */
  sealTo?: string | undefined;
};

export type ResolveCategoryKeyReturnType = {
  key: Uint8Array;
  /** `wallet`: held by the wallet file; `escrow`: opened from the node; `derived`: from `privateKey`, now escrowed. */
  source: 'wallet' | 'escrow' | 'derived';
};

/**
 * The identity's category key, the same across key rotations and recoveries (docs/identity.md "The category key
 * across rotations"), and escrowed on the node sealed to the identity's current X25519 key:
 * 1. the wallet file's key (since `carekey did rotate` and a finished recovery, the wallet carries it); its escrow
 *    is written, or re-sealed to this key, when the node lacks one this key opens;
 * 2. else the escrow, opened with `identity` (a wallet restored from a rotated phrase, the portal, a recovered
 *    device): its latest seal, or an earlier one the patient made when the latest was re-sealed to another key —
 *    by a thief of the phone before the recovery (then re-sealed to this key);
 * 3. else (a wallet of before the escrow, never rotated or rotated before it existed) the key derived from
 *    `privateKey` as before — what this wallet has tagged with — escrowed now.
 * An escrow that does not open is tried against the derived key by its id; otherwise refused (nothing is escrowed
 * over it).
 *
 * @throws {CategoryKeyError} the escrow does not open with this wallet's key; {NodeError} the node refused or is
 *   unreachable.
 */
export async function resolveCategoryKey(
  parameters: ResolveCategoryKeyParameters,
): Promise<ResolveCategoryKeyReturnType> {
  const { node, identity, sealTo } = parameters;
  const found = await findCategoryKey(parameters);
  if (found.reseal || sealTo !== undefined) {
    await putCategoryKeyEscrow(node, { key: found.key, recipient: sealTo ?? identity.recipient.toString() });
  }
  return { key: found.key, source: found.source };
}

/** Step 1–3 of {@link resolveCategoryKey}; `reseal` when the node lacks an escrow `identity` opens. */
async function findCategoryKey(
  parameters: ResolveCategoryKeyParameters,
): Promise<ResolveCategoryKeyReturnType & { reseal: boolean }> {
  const { node, identity, privateKey, held } = parameters;
  const escrow = await getCategoryKeyEscrow(node);
  if (held !== undefined) {
    const fine = escrow !== undefined && (await opensTo(escrow, identity, held));
    return { key: held, source: 'wallet', reseal: !fine };
  }
  const derived = categoryKey(privateKey);
  if (escrow === undefined) return { key: derived, source: 'derived', reseal: true };
  try {
    const { key, latest } = await openEscrowSeals({ escrow, identities: [identity] });
    derived.fill(0);
    // Opened from an earlier seal (the latest was re-sealed to another key): sealed to this key again.
    return { key, source: 'escrow', reseal: !latest };
  } catch (error) {
    // Kept for the key this phrase derives, but sealed to another: re-sealed to this one.
    if (categoryKeyId(derived) === escrow.keyId.toLowerCase())
      return { key: derived, source: 'derived', reseal: true };
    throw error;
  }
}

/** Whether the escrow holds `key` and opens with `identity` (else it must be re-sealed to it). */
async function opensTo(
  escrow: CategoryKeyEscrow,
  identity: X25519Identity,
  key: Uint8Array,
): Promise<boolean> {
  if (escrow.keyId.toLowerCase() !== categoryKeyId(key)) return false;
  try {
    await openCategoryKey({ sealed: escrow.sealed, identities: [identity] });
    return true;
  } catch {
    return false;
  }
}
