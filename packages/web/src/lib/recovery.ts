import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import type { NodeClient } from '@carekey/sdk/client';
import {
  CryptoError,
  decodeStanza,
  decrypt,
  encodeStanza,
  encrypt,
  unwrapFileKey,
  wrapFileKey,
  X25519Identity,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import { resolveCategoryKey } from '@carekey/sdk/fhir';
import { parseIdentityRef } from '@carekey/sdk/identity';
import { MAX_KEY_REQUEST_RECORDS } from '@carekey/sdk/protocol';
import {
  cancelRecovery,
  combineShares,
  enableRecovery,
  executeRecovery,
  getRecovery,
  openShare,
  type RecoveryShare,
  type RecoveryStateBody,
  recoverySecretToMnemonic,
  sealShare,
  sendRecoveryApproval,
  signRecoveryApproval,
} from '@carekey/sdk/recovery';
import { generateMnemonic, newWalletSecrets, type WalletKeys, walletKeys } from '@carekey/sdk/wallet';
import { type Address, type Hex, isAddressEqual } from 'viem';
import { PortalError } from './errors.ts';
import type { SealedShareFile } from './guardians.ts';
import { loadGuardianSet } from './guardians.ts';
import { idbGet, idbSet } from './idb.ts';
import { openSession, type Session } from './session.ts';
import { putStoredWallet, type StoredWallet, saveWallet } from './wallet.ts';

export type { RecoveryStateBody };

/** How long to wait for a relayed write to show on the ledger. */
const SETTLE_MS = 90_000;

async function until<value>(
  read: () => Promise<value>,
  ok: (v: value) => boolean,
  what: string,
): Promise<value> {
  const end = Date.now() + SETTLE_MS;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > end)
      throw new PortalError(`${what} is taking longer than expected. Try again in a minute.`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The patient, on the device that holds the key: turn stolen-phone protection on, see it, cancel a recovery.

export function readRecovery(session: Session): Promise<RecoveryStateBody> {
  return getRecovery(session.node, session.identity);
}

/**
 * Turns on stolen-phone protection (as `carekey guardians enable`): the guardians of my current set (made on the
 * Guardians page) can, k of n, move my identity to a new key, which takes effect after `delaySeconds` unless I cancel
 * in that time. My DID's owner becomes my `RecoveryAccount`; I keep signing as before.
 */
export async function enableStolenPhoneRecovery(
  session: Session,
  parameters: { delaySeconds: number },
): Promise<RecoveryStateBody> {
  const set = await loadGuardianSet(session.identity);
  if (set === undefined) throw new PortalError('Choose your guardians first (below), then turn this on.');
  if (!Number.isInteger(parameters.delaySeconds) || parameters.delaySeconds < 1)
    throw new PortalError('The time you have to cancel must be at least one second.');
  const before = await readRecovery(session);
  if (before.enabled) throw new PortalError('Stolen-phone protection is already on.');
  await enableRecovery({
    node: session.node,
    account: session.account,
    identity: session.identity,
    settings: {
      guardians: set.guardians.map((g) => g.address),
      threshold: set.threshold,
      delay: BigInt(parameters.delaySeconds),
      shareSetRoot: set.setRoot,
      shareEpoch: set.epoch,
    },
  });
  return until(
    () => readRecovery(session),
    (s) => s.enabled,
    'Turning on stolen-phone protection',
  );
}

/** The key in control cancels a recovery of my identity under way (one I did not ask for). */
export async function cancelStolenPhoneRecovery(session: Session): Promise<RecoveryStateBody> {
  const before = await readRecovery(session);
  if (before.pending === null) throw new PortalError('No recovery of your identity is under way.');
  await cancelRecovery({ node: session.node, account: session.account, identity: session.identity });
  return until(
    () => readRecovery(session),
    (s) => s.pending === null,
    'Cancelling the recovery',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// A guardian: keep a piece, approve a new key, send a piece to a new device.

/** A piece a guardian keeps for a patient (still sealed to the guardian's own key: never in clear at rest). */
export type HeldPiece = {
  patient: Address;
  sealed: string;
  index: number;
  threshold: number;
  total: number;
  epoch: number;
  keptAt: string;
};

const heldKey = (me: string) => `held-pieces:${me.toLowerCase()}`;

export async function listHeldPieces(session: Session): Promise<HeldPiece[]> {
  return (await idbGet<HeldPiece[]>(heldKey(session.identity))) ?? [];
}

async function openPiece(
  sealed: string,
  identities: readonly X25519Identity[],
  name: string,
): Promise<RecoveryShare> {
  try {
    return await openShare({ sealed, identities });
  } catch (error) {
    if (error instanceof CryptoError)
      throw new PortalError(
        `${name} is not a recovery piece sealed to this wallet, or it was damaged on the way. Nothing was kept.`,
      );
    throw error;
  }
}

/**
 * Keeps the piece a patient gave me (as `carekey guardian keep`): it must open with my key; it stays sealed to me.
 * A newer piece for the same patient replaces the older one.
 */
export async function keepPiece(
  session: Session,
  parameters: { patient: string; sealed: string; name: string },
): Promise<HeldPiece> {
  const { chainId } = await session.node.describe();
  const patient = parseIdentityRef(parameters.patient, { chainId });
  if (isAddressEqual(patient, session.identity))
    throw new PortalError('You cannot keep a piece for yourself.');
  const share = await openPiece(parameters.sealed, [session.keys.identity], parameters.name);
  const piece: HeldPiece = {
    patient,
    sealed: parameters.sealed,
    index: share.index,
    threshold: share.threshold,
    total: share.total,
    epoch: share.epoch,
    keptAt: new Date().toISOString(),
  };
  const held = (await listHeldPieces(session)).filter((h) => !isAddressEqual(h.patient, patient));
  await idbSet(heldKey(session.identity), [...held, piece]);
  return piece;
}

/**
 * A guardian approves the patient's new key after their phone was stolen (as `carekey guardian approve`): signed
 * with my key, relayed by the node. Refused in plain words when the patient has not turned the protection on, or
 * I am not one of their guardians.
 */
export async function approveNewKey(
  session: Session,
  parameters: { patient: string; key: string },
): Promise<RecoveryStateBody> {
  const { chainId } = await session.node.describe();
  const patient = parseIdentityRef(parameters.patient, { chainId });
  const key = parseIdentityRef(parameters.key, { chainId });
  const state = await getRecovery(session.node, patient);
  if (!state.enabled)
    throw new PortalError(
      `${patient} has not turned on stolen-phone protection: only their wallet itself can be recovered (send them your piece).`,
    );
  if (!state.guardians.some((g) => isAddressEqual(g, session.identity)))
    throw new PortalError(`You are not one of ${patient}'s guardians: your approval would not count.`);
  const approval = await signRecoveryApproval({
    node: session.node,
    account: session.account,
    guardian: session.identity,
    identity: patient,
    newController: key,
  });
  await sendRecoveryApproval(session.node, approval);
  return until(
    () => getRecovery(session.node, patient),
    (s) => s.approvedBy.some((a) => isAddressEqual(a, session.identity)),
    'Recording your approval',
  );
}

/**
 * Seals my piece for a patient again, to their new device's one-time key (as `carekey guardian release`). Release
 * it only after checking, in person or by phone, that it is really them.
 */
export async function releasePiece(
  session: Session,
  parameters: { patient: string; to: string },
): Promise<SealedShareFile> {
  const { chainId } = await session.node.describe();
  const patient = parseIdentityRef(parameters.patient, { chainId });
  let to: X25519Recipient;
  try {
    to = new X25519Recipient(parameters.to.trim());
  } catch {
    throw new PortalError(
      'That is not a device key: it starts with age1 and is shown on their new device, under "Ask your guardians".',
    );
  }
  const held = (await listHeldPieces(session)).find((h) => isAddressEqual(h.patient, patient));
  if (held === undefined)
    throw new PortalError(`You keep no piece for ${patient}: only a guardian who kept one can send it.`);
  const share = await openPiece(held.sealed, [session.keys.identity], 'The piece you kept');
  return {
    address: patient,
    name: `${patient}.piece-${share.index}.age`,
    text: await sealShare({ share, recipient: to }),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The patient, on a new device: start, then finish with the guardians' pieces.

/** A recovery this browser started (public facts, and the one-time key sealed to the new wallet's own key). */
export type RecoveryUnderWay = {
  /** The identity being recovered. */
  identity: Address;
  /** Whether the identity has stolen-phone protection on (a new key is moved in), or only the wallet comes back. */
  rotation: boolean;
  /** The one-time X25519 identity guardians seal their pieces to, encrypted to this wallet's own key. */
  deviceKeySealed: Uint8Array;
  /** Its public recipient (age1…), to give to the guardians. */
  deviceRecipient: string;
  startedAt: string;
};

export type StoredRecovering = StoredWallet;

/**
 * Starts recovering an identity on this device: a new wallet (a new recovery phrase, locked with `passphrase`) whose
 * key the guardians approve when stolen-phone protection is on, and a one-time key they seal their pieces to. Saved
 * in this browser; nothing is sent.
 */
export async function startRecovery(parameters: {
  node: NodeClient;
  identity: string;
  passphrase: string;
  logN?: number;
}): Promise<{ stored: StoredRecovering; keys: WalletKeys }> {
  const { chainId } = await parameters.node.describe();
  const identity = parseIdentityRef(parameters.identity, { chainId });
  const state = await getRecovery(parameters.node, identity);
  const { stored, keys } = await saveWallet({
    mnemonic: generateMnemonic(),
    passphrase: parameters.passphrase,
    backupVerified: false,
    ...(parameters.logN === undefined ? {} : { logN: parameters.logN }),
  });
  const device = X25519Identity.generate();
  const recovering: RecoveryUnderWay = {
    identity,
    rotation: state.enabled,
    deviceKeySealed: await encrypt({
      recipients: [new X25519Recipient(keys.recipient)],
      plaintext: device.toString(),
    }),
    deviceRecipient: device.recipient.toString(),
    startedAt: new Date().toISOString(),
  };
  const next: StoredRecovering = { ...stored, recovering };
  await putStoredWallet(next);
  return { stored: next, keys };
}

export type FinishRecoveryResult = {
  stored: StoredWallet;
  keys: WalletKeys;
  rewrapped: number;
  used: number[];
};

/**
 * Finishes a recovery with the guardians' pieces (as `carekey recover finish`). The pieces are checked first (too
 * few, damaged, of someone else: nothing changes); with stolen-phone protection, then the approvals and the delay;
 * the recovery executes, this device's key is published on the identity's DID and every one of the identity's own
 * record keys is re-wrapped from the old key (known here only, from the pieces, never saved) to the new one. Without
 * it, the pieces give back the recovery phrase and the wallet itself is restored (locked with `passphrase`).
 */
export async function finishRecovery(parameters: {
  stored: StoredRecovering;
  keys: WalletKeys;
  files: readonly { name: string; text: string }[];
  /** Only without stolen-phone protection: the passphrase to lock the restored wallet with. */
  passphrase?: string;
  logN?: number;
  onProgress?: (text: string) => void;
}): Promise<FinishRecoveryResult> {
  const { stored, keys, files } = parameters;
  const recovering = stored.recovering;
  if (recovering === undefined) throw new PortalError('No recovery is under way in this browser.');
  if (files.length === 0) throw new PortalError('Add the pieces your guardians sent you first.');
  const device = new X25519Identity(
    new TextDecoder().decode(
      await decrypt({ identities: [keys.identity], ciphertext: recovering.deviceKeySealed }),
    ),
  );
  const shares: RecoveryShare[] = [];
  for (const file of files) shares.push(await openPiece(file.text, [device], file.name));
  const { secret, used } = await combineShares({ shares });
  const mnemonic = recoverySecretToMnemonic(secret);
  const old = walletKeys(newWalletSecrets({ mnemonic }));
  if (!recovering.rotation) {
    if (!isAddressEqual(old.address, recovering.identity))
      throw new PortalError(`These pieces are not those of ${recovering.identity}: nothing was changed.`);
    const restored = await saveWallet({
      mnemonic,
      passphrase: parameters.passphrase ?? '',
      backupVerified: false,
      ...(parameters.logN === undefined ? {} : { logN: parameters.logN }),
    });
    return { ...restored, rewrapped: 0, used };
  }
  const session = openSession(keys, { identity: recovering.identity });
  const { node } = session;
  const state = await getRecovery(node, recovering.identity);
  const known = [recovering.identity, ...(state.controller === null ? [] : [state.controller])];
  if (!known.some((a) => isAddressEqual(a, old.address)))
    throw new PortalError(`These pieces are not those of ${recovering.identity}: nothing was changed.`);
  if (state.controller === null || !isAddressEqual(state.controller, keys.address)) {
    const pending = state.pending;
    if (pending === null || !isAddressEqual(pending.newController, keys.address))
      throw new PortalError(
        `No recovery to this device's key is under way yet: ask your guardians to approve ${keys.address}. Nothing was changed.`,
      );
    if (pending.readyAt === '0')
      throw new PortalError(
        `${pending.approvals} of ${state.threshold} guardians approved so far: more must approve this device's key. Nothing was changed.`,
      );
    const wait = BigInt(pending.readyAt) - BigInt(state.chainTime);
    if (wait > 0n)
      throw new PortalError(
        `The waiting time runs ${wait.toString()} s more (your old device can still cancel until then). Try again then; nothing was changed.`,
      );
    parameters.onProgress?.('Moving your identity to this device’s key…');
    await executeRecovery(node, recovering.identity);
    await until(
      () => getRecovery(node, recovering.identity),
      (s) => s.controller !== null && isAddressEqual(s.controller, keys.address),
      'Moving your identity to this device',
    );
  }
  parameters.onProgress?.('Publishing this device’s encryption key…');
  const did = await node.getDid(recovering.identity).catch(() => undefined);
  if (did?.recipient !== keys.recipient) {
    await node.publishEncryptionKey({ recipient: keys.recipient });
    await until(
      () => node.getDid(recovering.identity).catch(() => undefined),
      (d) => d?.recipient === keys.recipient,
      'Publishing your encryption key',
    );
  }
  parameters.onProgress?.('Re-wrapping your record keys to this device’s key…');
  const rewrapped = await rewrapOwnRecords(session, old.identity);
  // The identity's category key (escrowed to the old key, or derived from it): re-sealed to this device's key.
  await resolveCategoryKey({
    node,
    identity: old.identity,
    privateKey: old.privateKey,
    sealTo: keys.recipient,
  });
  const { recovering: _, ...rest } = stored;
  const next: StoredWallet = { ...rest, identity: recovering.identity };
  await putStoredWallet(next);
  return { stored: next, keys, rewrapped, used };
}

/**
 * Re-wraps every one of the identity's own active record keys from the old X25519 key to this session's
 * (`PUT /v1/records/stanzas`: the old stanzas are deleted in the vault), as the CLI's `rekeyRecords`.
 */
async function rewrapOwnRecords(session: Session, old: X25519Identity): Promise<number> {
  const { node, keys } = session;
  const to = new X25519Recipient(keys.recipient);
  const active = (await node.listRecords()).records.filter((r) => r.state === 'active');
  let count = 0;
  for (let i = 0; i < active.length; i += MAX_KEY_REQUEST_RECORDS) {
    const batch = active.slice(i, i + MAX_KEY_REQUEST_RECORDS);
    const released = await node.releaseKeys({
      grantId: ZERO_BYTES32,
      recordIds: batch.map((r) => r.recordId),
    });
    const stanzas: { recordId: Hex; stanza: string }[] = [];
    for (const item of released.records) {
      const fileKey = await unwrapFileKey({ stanzas: [decodeStanza(item.stanza)], identities: [old] });
      stanzas.push({
        recordId: item.recordId,
        stanza: encodeStanza(await wrapFileKey({ fileKey, recipient: to })),
      });
      fileKey.fill(0);
    }
    if (stanzas.length > 0)
      await node.call({ method: 'PUT', path: '/v1/records/stanzas', json: { stanzas }, signed: true });
    count += stanzas.length;
  }
  return count;
}
