import type { X25519Recipient } from '@carekey/sdk/crypto';
import { parseIdentityRef } from '@carekey/sdk/identity';
import {
  checkGuardianSet,
  configureRecovery,
  getRecovery,
  guardianRecipients,
  mnemonicToRecoverySecret,
  sealShare,
  splitSecret,
} from '@carekey/sdk/recovery';
import { type Address, isAddressEqual } from 'viem';
import { PortalError } from './errors.ts';
import { idbGet, idbSet } from './idb.ts';
import type { Session } from './session.ts';

/**
 * What this browser keeps of a guardian set (public facts, as the CLI's `recovery/guardians.json`): who the guardians
 * are, which share each holds, the threshold and the set's root. Never a share.
 */
export type GuardianSet = {
  setId: string;
  setRoot: `0x${string}`;
  epoch: number;
  threshold: number;
  guardians: { address: Address; index: number }[];
  createdAt: string;
  /** Anchored in my Recovery contract (stolen-phone protection on): older pieces are refused from then on. */
  anchored?: boolean;
};

/** One guardian's share, sealed to their published X25519 key: an armored age file, the CLI's format. */
export type SealedShareFile = { address: Address; name: string; text: string };

const setKey = (address: string) => `guardians:${address.toLowerCase()}`;
const promptKey = (address: string) => `guardians-prompt-later:${address.toLowerCase()}`;

export function loadGuardianSet(address: string): Promise<GuardianSet | undefined> {
  return idbGet<GuardianSet>(setKey(address));
}

/** Whether the person chose "Later" on the guardian prompt (asked again after a week). */
export async function guardianPromptDeferred(address: string): Promise<boolean> {
  const at = await idbGet<string>(promptKey(address));
  return at !== undefined && Date.now() - Date.parse(at) < 7 * 86_400_000;
}

export function deferGuardianPrompt(address: string): Promise<void> {
  return idbSet(promptKey(address), new Date().toISOString());
}

/** The majority of `n` guardians (2 of 3, 3 of 5), never fewer than 2. */
export function majority(n: number): number {
  return Math.max(2, Math.floor(n / 2) + 1);
}

export type MakeGuardianSharesParameters = {
  /**
   * Opens the recovery phrase (the wallet opened again with its passphrase): called only once the guardians pass
   * every check, so a mistyped guardian is said at once, without the passphrase's key derivation (seconds on a
   * phone) or the phrase in memory.
   */
  revealMnemonic: () => Promise<string>;
  /** Addresses or DIDs, one per guardian. */
  guardians: readonly string[];
  threshold: number;
};

/**
 * Splits the recovery phrase into one Shamir share per guardian (`@carekey/sdk/recovery`, as `carekey guardians
 * setup`): any `threshold` of them give it back, fewer reveal nothing. Each share is sealed to that guardian's
 * published X25519 key, in the CLI's file format (`<address>.share.age`), so a guardian keeps it with
 * `carekey guardian keep`. Everything is checked before anything is made, by the SDK's checks the CLI uses too
 * (`checkGuardianSet`, `guardianRecipients`): each guardian named once, not me, at least two, a threshold from 2 to
 * n, and every guardian with a published key — all before the recovery phrase is opened. With stolen-phone protection on, the new set is anchored in the Recovery
 * contract first (signed by the key in control, relayed). Then the set (public facts) is saved.
 *
 * @throws RecoveryError for each of those (the portal's words: `plainError`); `IdentityRefError` for a malformed
 *   address.
 */
export async function makeGuardianShares(
  session: Session,
  parameters: MakeGuardianSharesParameters,
): Promise<{ set: GuardianSet; files: SealedShareFile[] }> {
  const description = await session.node.describe();
  const refs = parameters.guardians
    .map((g) => g.trim())
    .filter((g) => g !== '')
    .map((g) => parseIdentityRef(g, { chainId: description.chainId }));
  const k = parameters.threshold;
  checkGuardianSet({ guardians: refs, self: session.identity, threshold: k });
  const recipients = await guardianRecipients(session.node, refs);
  // With stolen-phone protection on, the Recovery contract anchors the share set (as `carekey guardians setup`): the
  // new set is anchored there (same delay; these guardians and threshold) with an epoch above the anchored one,
  // before any piece is handed out — pieces of an older phrase (before a recovery) then never count again.
  const [previous, recovery] = await Promise.all([
    loadGuardianSet(session.identity),
    getRecovery(session.node, session.identity),
  ]);
  if (
    recovery.enabled &&
    (recovery.controller === null || !isAddressEqual(recovery.controller, session.account.address))
  )
    throw new PortalError(
      'This device’s key is not the one in control of your stolen-phone protection, so it cannot choose new guardians. Use the device that is (see Guardians); nothing was made.',
    );
  const epoch = Math.max(previous?.epoch ?? 0, recovery.enabled ? recovery.shareEpoch : 0) + 1;
  const split = await splitSecret({
    secret: mnemonicToRecoverySecret(await parameters.revealMnemonic()),
    threshold: k,
    total: refs.length,
    epoch,
  });
  if (recovery.enabled) {
    await configureRecovery({
      node: session.node,
      account: session.account,
      identity: session.identity,
      settings: {
        guardians: refs,
        threshold: k,
        delay: BigInt(recovery.delay),
        shareSetRoot: split.setRoot,
        shareEpoch: epoch,
      },
    });
  }
  const files: SealedShareFile[] = [];
  const guardians: GuardianSet['guardians'] = [];
  for (const [i, share] of split.shares.entries()) {
    const address = refs[i] as Address;
    files.push({
      address,
      name: `${address}.share.age`,
      text: await sealShare({ share, recipient: recipients[i] as X25519Recipient }),
    });
    guardians.push({ address, index: share.index });
  }
  const set: GuardianSet = {
    setId: split.setId,
    setRoot: split.setRoot,
    epoch,
    threshold: k,
    guardians,
    createdAt: new Date().toISOString(),
    ...(recovery.enabled ? { anchored: true } : {}),
  };
  await idbSet(setKey(session.identity), set);
  return { set, files };
}
