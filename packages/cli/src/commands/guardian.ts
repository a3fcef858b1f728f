import { readFile } from 'node:fs/promises';
import { X25519Recipient } from '@carekey/sdk/crypto';
import { CryptoError } from '@carekey/sdk/errors';
import { parseIdentityRef } from '@carekey/sdk/identity';
import {
  getRecovery,
  openShare,
  type RecoveryShare,
  sealShare,
  sendRecoveryApproval,
  shareSetRoot,
  signRecoveryApproval,
} from '@carekey/sdk/recovery';
import type { Command } from 'commander';
import { type Address, isAddressEqual, zeroHash } from 'viem';
import { recoveryFiles, writeSealed } from '../home/recoveryFiles.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { openSession, type Session } from './openSession.ts';

/**
 * With stolen-phone recovery on, the patient's `Recovery` contract is the source of truth: the guardian must be one
 * of its guardians and the share one of the set it anchors (not an older one, e.g. of a phrase since rotated).
 *
 * @throws {CliError} a mismatch, naming what the contract says (nothing is written or sent).
 */
async function checkWithContract(session: Session, patient: Address, share: RecoveryShare): Promise<void> {
  const state = await getRecovery(session.node, patient);
  if (!state.enabled) return;
  const me = session.keys.address;
  if (!state.guardians.some((g) => isAddressEqual(g, me))) {
    throw new CliError(`you are not one of ${patient}'s guardians in its Recovery contract`, {
      hint: `its guardians are ${state.guardians.join(', ')}`,
    });
  }
  if (state.shareSetRoot !== zeroHash && shareSetRoot(share) !== state.shareSetRoot) {
    throw new CliError(
      `this share is of epoch ${share.epoch}, not of the set ${patient}'s Recovery contract anchors (epoch ${state.shareEpoch})`,
      { hint: 'ask the patient for the file of their current set (`carekey guardians setup` made it)' },
    );
  }
}

async function readSealedFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    throw new CliError(`cannot read ${path}`);
  }
}

/**
 * `carekey guardian keep <file> --for <patient>`: a guardian checks and keeps the share a patient gave them;
 * `carekey guardian release --for <patient> --to <age1…>`: seals it again to the patient's new device.
 */
export function registerGuardian(program: Command): void {
  const guardian = program.command('guardian').description('help someone who chose you as a guardian');

  guardian
    .command('keep <file>')
    .description("check and keep a patient's recovery share (it stays sealed to you)")
    .requiredOption('--for <address|did>', 'the patient who gave it to you')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { for: string; json?: boolean }) => {
      const patient = parseIdentityRef(options.for);
      const session = await openSession();
      const sealed = await readSealedFile(file);
      let share: Awaited<ReturnType<typeof openShare>>;
      try {
        share = await openShare({ sealed, identities: [session.keys.identity] });
      } catch (error) {
        if (error instanceof CryptoError) {
          throw new CliError(`${file} is not a recovery share sealed to you`, {
            hint: 'ask the patient for the file made for your address',
          });
        }
        throw error;
      }
      await checkWithContract(session, patient, share);
      const target = recoveryFiles(session.home).heldFile(patient);
      await writeSealed(target, sealed);
      const facts = {
        patient,
        index: share.index,
        threshold: share.threshold,
        total: share.total,
        epoch: share.epoch,
      };
      output(options, { ...facts, file: target }, () =>
        [
          `Kept share ${share.index} of ${share.total} for ${patient} (${share.threshold} needed, epoch ${share.epoch}).`,
          'You cannot read their records with it. Release it only when you have confirmed, in person or by',
          'phone, that they lost their device: `carekey guardian release --for <patient> --to <their new key>`.',
        ].join('\n'),
      );
    });

  guardian
    .command('approve')
    .description("approve a patient's new key after their phone was stolen (they can use it after the delay)")
    .requiredOption('--for <address|did>', 'the patient')
    .requiredOption('--key <address>', "the new device's key (`carekey recover start --new-key` printed it)")
    .option('--json', 'print JSON')
    .action(async (options: { for: string; key: string; json?: boolean }) => {
      const patient = parseIdentityRef(options.for);
      const key = parseIdentityRef(options.key);
      const session = await openSession();
      const state = await getRecovery(session.node, patient);
      if (!state.enabled) {
        throw new CliError(`${patient} has not turned on stolen-phone recovery`, {
          hint: 'they can still recover a lost wallet with shares (`carekey guardian release`)',
        });
      }
      const approval = await signRecoveryApproval({
        node: session.node,
        account: session.account,
        guardian: session.keys.address,
        identity: patient,
        newController: key,
      });
      await sendRecoveryApproval(session.node, approval);
      const after = await getRecovery(session.node, patient);
      output(options, { patient, key, approval, state: after }, () =>
        [
          `Approved key ${key} for ${patient}: ${after.pending?.approvals ?? 0} of ${after.threshold} approvals.`,
          after.pending !== null && after.pending.readyAt !== '0'
            ? `The delay runs ${after.delay} s; until then their current key can cancel.`
            : 'More guardians must approve the same key.',
        ].join('\n'),
      );
    });

  guardian
    .command('release')
    .description("seal a patient's share to their new device's one-time key (from `carekey recover start`)")
    .requiredOption('--for <address|did>', 'the patient')
    .requiredOption('--to <age1…>', "the new device's one-time recipient")
    .requiredOption('--out <file>', 'where to write the share for the new device')
    .option('--json', 'print JSON')
    .action(async (options: { for: string; to: string; out: string; json?: boolean }) => {
      const patient = parseIdentityRef(options.for);
      let to: X25519Recipient;
      try {
        to = new X25519Recipient(options.to.trim());
      } catch {
        throw new CliError(`'${options.to.slice(0, 80)}' is not an age X25519 recipient`, {
          hint: 'copy the age1… line `carekey recover start` printed on the new device',
        });
      }
      const session = await openSession();
      const held = recoveryFiles(session.home).heldFile(patient);
      let sealed: string;
      try {
        sealed = await readFile(held, 'utf8');
      } catch {
        throw new CliError(`you keep no recovery share for ${patient}`, {
          hint: 'only a guardian who kept a share with `carekey guardian keep` can release one',
        });
      }
      const share = await openShare({ sealed, identities: [session.keys.identity] });
      await checkWithContract(session, patient, share);
      await writeSealed(options.out, await sealShare({ share, recipient: to }));
      output(
        options,
        { patient, index: share.index, out: options.out },
        () => `Share ${share.index} for ${patient} sealed to the new device: send them ${options.out}.`,
      );
    });
}
