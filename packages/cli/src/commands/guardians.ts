import { join } from 'node:path';
import { createNodeClient } from '@carekey/sdk/client';
import type { X25519Recipient } from '@carekey/sdk/crypto';
import { parseIdentityRef } from '@carekey/sdk/identity';
import {
  cancelRecovery,
  checkGuardianSet,
  configureRecovery,
  enableRecovery,
  getRecovery,
  guardianRecipients,
  mnemonicToRecoverySecret,
  type RecoveryStateBody,
  sealShare,
  splitSecret,
} from '@carekey/sdk/recovery';
import { walletKeys } from '@carekey/sdk/wallet';
import type { Command } from 'commander';
import { isAddressEqual } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { carekeyHome } from '../home/carekeyHome.ts';
import {
  type GuardianSet,
  readGuardianSet,
  recoveryFiles,
  saveGuardianSet,
  writeSealed,
} from '../home/recoveryFiles.ts';
import { readWalletPublic, unlockWalletSecrets } from '../home/walletStore.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { readSecret } from '../io/readSecret.ts';
import { nodeUrl, openSession } from './openSession.ts';
import { parseDuration } from './parseDuration.ts';

/** One line per fact of a stolen-phone recovery state. */
export function describeRecovery(state: RecoveryStateBody): string {
  if (!state.enabled) return 'Stolen-phone recovery is off (`carekey guardians enable --delay 3d`).';
  const lines = [
    `Stolen-phone recovery on: ${state.threshold} of ${state.guardians.length} guardians, delay ${state.delay} s.`,
    `  key in control  ${state.controller}`,
  ];
  if (state.pending === null) lines.push('  no recovery under way');
  else {
    const ready = BigInt(state.pending.readyAt);
    lines.push(
      `  RECOVERY UNDER WAY to key ${state.pending.newController}: ${state.pending.approvals} of ${state.threshold} approvals` +
        ` (${state.approvedBy.join(', ')})`,
      ready === 0n
        ? '  not executable: not enough approvals yet'
        : ready > BigInt(state.chainTime)
          ? `  executable in ${ready - BigInt(state.chainTime)} s; if you did not ask for it: \`carekey guardians cancel\``
          : '  executable now',
    );
  }
  return lines.join('\n');
}

/**
 * `carekey guardians setup --guardian <address|did> … --threshold <k>`: splits the recovery phrase into one Shamir
 * share per guardian (any k give it back, fewer reveal nothing), each sealed to that guardian's published X25519 key;
 * `carekey guardians show`: the current set.
 */
export function registerGuardians(program: Command): void {
  const guardians = program
    .command('guardians')
    .description('choose the people who can help you recover your wallet if you lose this device');

  guardians
    .command('setup')
    .description('split your recovery phrase into sealed shares, one per guardian (k of n give it back)')
    .requiredOption(
      '--guardian <address|did>',
      'a guardian (repeat for each)',
      (v: string, all: string[] = []) => [...all, v],
    )
    .requiredOption('--threshold <k>', 'how many guardians must help (a majority is recommended)', (v) =>
      Number(v),
    )
    .option('--json', 'print JSON')
    .action(async (options: { guardian: string[]; threshold: number; json?: boolean }) => {
      const home = carekeyHome();
      const facts = await readWalletPublic(home);
      const passphrase = await readSecret({ prompt: 'Passphrase: ', envVar: 'CAREKEY_PASSPHRASE' });
      const secrets = await unlockWalletSecrets(home, passphrase);
      const account = privateKeyToAccount(walletKeys(secrets).privateKey);
      const rotated = !isAddressEqual(account.address, facts.address);
      const node = createNodeClient({
        url: nodeUrl(),
        account,
        ...(rotated ? { identity: facts.address } : {}),
      });
      const refs = options.guardian.map((g) => parseIdentityRef(g));
      const total = refs.length;
      const k = options.threshold;
      checkGuardianSet({ guardians: refs, self: facts.address, threshold: k });
      // Every guardian must have published an encryption key, before anything is written.
      const recipients = await guardianRecipients(node, refs);
      // With stolen-phone recovery on, the Recovery contract anchors the share set: the new set is anchored there
      // (same delay; guardians and threshold as given), with an epoch above the anchored one, before any file is
      // written — shares of an older phrase (before a rotation or a recovery) then never count again.
      const recovery = await getRecovery(node, facts.address);
      const previous = await readGuardianSet(home);
      const epoch = Math.max(previous?.epoch ?? 0, recovery.enabled ? recovery.shareEpoch : 0) + 1;
      const split = await splitSecret({
        secret: mnemonicToRecoverySecret(secrets.mnemonic),
        threshold: k,
        total,
        epoch,
      });
      if (recovery.enabled) {
        if (recovery.controller === null || !isAddressEqual(recovery.controller, account.address)) {
          throw new CliError(`this wallet's key does not control ${facts.address}'s recovery account`, {
            hint: 'run it with the wallet whose key is in control (`carekey guardians status`)',
          });
        }
        await configureRecovery({
          node,
          account,
          identity: facts.address,
          settings: {
            guardians: refs,
            threshold: k,
            delay: BigInt(recovery.delay),
            shareSetRoot: split.setRoot,
            shareEpoch: epoch,
          },
        });
      }
      const dir = recoveryFiles(home).sharesDir(epoch);
      const entries: GuardianSet['guardians'] = [];
      for (const [i, share] of split.shares.entries()) {
        const address = refs[i] as `0x${string}`;
        const file = join(dir, `${address}.share.age`);
        await writeSealed(file, await sealShare({ share, recipient: recipients[i] as X25519Recipient }));
        entries.push({ address, index: share.index, file });
      }
      const set: GuardianSet = {
        setId: split.setId,
        setRoot: split.setRoot,
        epoch,
        threshold: k,
        guardians: entries,
        createdAt: new Date().toISOString(),
      };
      await saveGuardianSet(home, set);
      output(options, { ...set, anchored: recovery.enabled }, () =>
        [
          `Recovery shares made: any ${k} of your ${total} guardians can help you get your wallet back.`,
          'Give each guardian their file (they keep it with `carekey guardian keep <file> --for <your address>`):',
          ...entries.map((e) => `  ${e.address}  ${e.file}`),
          '',
          'Guardians help you recover your key; they cannot read your records, and fewer than',
          `${k} of them together learn nothing. Share set ${split.setRoot.slice(0, 18)}…, epoch ${epoch}` +
            (previous ? ` (shares of epoch ${previous.epoch} no longer count once you delete them).` : '.'),
          ...(recovery.enabled
            ? [
                'Anchored in your Recovery contract with these guardians: older shares are refused from now on,',
                'and these guardians are the ones who can approve a new key and are notified.',
              ]
            : []),
        ].join('\n'),
      );
    });

  guardians
    .command('enable')
    .description(
      'protect against a stolen phone: your guardians (k of n) can move your identity to a new key after a delay you can cancel in',
    )
    .requiredOption(
      '--delay <duration>',
      'how long you have to cancel a recovery you did not ask for (e.g. 3d)',
    )
    .option('--json', 'print JSON')
    .action(async (options: { delay: string; json?: boolean }) => {
      const delay = parseDuration(options.delay);
      const session = await openSession();
      const set = await readGuardianSet(session.home);
      if (!set) throw new CliError('no guardians set up', { hint: 'run `carekey guardians setup` first' });
      const identity = session.keys.address;
      const before = await getRecovery(session.node, identity);
      if (before.enabled) {
        throw new CliError('stolen-phone recovery is already on', { hint: 'see `carekey guardians status`' });
      }
      await enableRecovery({
        node: session.node,
        account: session.account,
        identity,
        settings: {
          guardians: set.guardians.map((g) => g.address),
          threshold: set.threshold,
          delay: BigInt(delay),
          shareSetRoot: set.setRoot,
          shareEpoch: set.epoch,
        },
      });
      const state = await getRecovery(session.node, identity);
      output(options, state, () =>
        [
          describeRecovery(state),
          `Your DID is now owned by your recovery account ${state.account}, which acts for your key: nothing`,
          'changes in how you sign. If your phone is stolen, on a new device run `carekey recover start --new-key`.',
        ].join('\n'),
      );
    });

  guardians
    .command('status')
    .description('your stolen-phone recovery: guardians, delay, and any recovery under way')
    .option('--for <address|did>', 'another identity (default: yours)')
    .option('--json', 'print JSON')
    .action(async (options: { for?: string; json?: boolean }) => {
      const node = createNodeClient({ url: nodeUrl() });
      const identity =
        options.for === undefined
          ? (await readWalletPublic(carekeyHome())).address
          : parseIdentityRef(options.for);
      const state = await getRecovery(node, identity);
      output(options, state, () => describeRecovery(state));
    });

  guardians
    .command('cancel')
    .description('cancel a recovery of your identity that you did not ask for (during the delay)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      const identity = session.keys.address;
      const before = await getRecovery(session.node, identity);
      if (!before.enabled) throw new CliError('stolen-phone recovery is off: there is nothing to cancel');
      if (before.pending === null) throw new CliError('no recovery of your identity is under way');
      await cancelRecovery({ node: session.node, account: session.account, identity });
      const state = await getRecovery(session.node, identity);
      output(options, state, () =>
        [
          `Recovery to key ${before.pending?.newController} cancelled: its approvals count for nothing now.`,
          'If guardians approved it without you asking, talk to them, and consider new guardians.',
        ].join('\n'),
      );
    });

  guardians
    .command('show')
    .description('your current guardians and threshold')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const set = await readGuardianSet(carekeyHome());
      if (!set) throw new CliError('no guardians set up', { hint: 'run `carekey guardians setup`' });
      output(options, set, () =>
        [
          `${set.threshold} of ${set.guardians.length} guardians, epoch ${set.epoch}, set ${set.setRoot}`,
          ...set.guardians.map((g) => `  share ${g.index}  ${g.address}`),
        ].join('\n'),
      );
    });
}
