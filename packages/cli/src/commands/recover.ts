import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeClient } from '@carekey/sdk/client';
import { X25519Identity } from '@carekey/sdk/crypto';
import { CryptoError } from '@carekey/sdk/errors';
import { categoryKeyToHex, resolveCategoryKey, sessionCategoryKey } from '@carekey/sdk/fhir';
import { parseIdentityRef } from '@carekey/sdk/identity';
import {
  combineShares,
  executeRecovery,
  getRecovery,
  openShare,
  type RecoveryShare,
  recoverySecretToMnemonic,
} from '@carekey/sdk/recovery';
import { generateMnemonic, newWalletSecrets, walletKeys } from '@carekey/sdk/wallet';
import type { Command } from 'commander';
import { type Address, isAddressEqual, zeroHash } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { carekeyHome } from '../home/carekeyHome.ts';
import { recoveryFiles } from '../home/recoveryFiles.ts';
import { saveNewWallet, unlockWalletSecrets } from '../home/walletStore.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { readSecret } from '../io/readSecret.ts';
import { escrowedCategoryKey } from './escrowedCategoryKey.ts';
import { identityForKey } from './identityForKey.ts';
import { nodeUrl, openSession } from './openSession.ts';
import { publishKey } from './publishKey.ts';
import { rekeyRecords } from './rekeyRecords.ts';

/** `recovery/rotation.json`: a stolen-phone recovery this device started (its new key waits for approvals). */
type Rotation = { identity: Address; key: Address; startedAt: string };
const rotationFile = (dir: string) => join(dir, 'rotation.json');

async function readRotation(dir: string): Promise<Rotation | undefined> {
  try {
    return JSON.parse(await readFile(rotationFile(dir), 'utf8')) as Rotation;
  } catch {
    return undefined;
  }
}

async function readShares(paths: readonly string[], identity: X25519Identity): Promise<RecoveryShare[]> {
  const shares: RecoveryShare[] = [];
  for (const path of paths) {
    let sealed: string;
    try {
      sealed = await readFile(path, 'utf8');
    } catch {
      throw new CliError(`cannot read ${path}`);
    }
    try {
      shares.push(await openShare({ sealed, identities: [identity] }));
    } catch (error) {
      if (error instanceof CryptoError) {
        throw new CliError(`${path} is not a share sealed to this device, or it was damaged`, {
          hint: "ask that guardian to run `carekey guardian release` again with this device's key",
        });
      }
      throw error;
    }
  }
  return shares;
}

/** The new device's one-time identity, if `recover start` made one (a damaged file counts as none). */
async function readDeviceIdentity(path: string): Promise<X25519Identity | undefined> {
  try {
    return new X25519Identity((await readFile(path, 'utf8')).trim());
  } catch {
    return undefined;
  }
}

/**
 * `carekey recover start`: a new device makes a one-time key for guardians to seal shares to;
 * `carekey recover finish <share files…>`: k shares give the recovery phrase back and the wallet is restored.
 */
export function registerRecover(program: Command): void {
  const recover = program
    .command('recover')
    .description('get your wallet back on a new device with your guardians');

  recover
    .command('start')
    .description("make this device's one-time key and print it for your guardians")
    .option(
      '--new-key',
      'the phone was stolen: also make a new wallet key here for your guardians to approve (needs --for)',
    )
    .option('--for <address|did>', 'your identity (with --new-key)')
    .option('--scrypt-log-n <n>', 'scrypt work factor of the new wallet file (default 18)', (v) => Number(v))
    .option('--json', 'print JSON')
    .action(async (options: { newKey?: boolean; for?: string; scryptLogN?: number; json?: boolean }) => {
      const home = carekeyHome();
      const files = recoveryFiles(home);
      let rotation: Rotation | undefined;
      if (options.newKey) {
        if (options.for === undefined) {
          throw new CliError('--new-key needs --for <your address>', {
            hint: 'the identity your guardians protect',
          });
        }
        const identity = parseIdentityRef(options.for);
        rotation = await readRotation(files.dir);
        if (rotation === undefined) {
          const state = await getRecovery(createNodeClient({ url: nodeUrl() }), identity);
          if (!state.enabled) {
            throw new CliError(`${identity} has not turned on stolen-phone recovery`, {
              hint: 'recover the wallet itself with your guardians: `carekey recover start` without --new-key',
            });
          }
          const passphrase = await readSecret({
            prompt: 'New passphrase for this device: ',
            envVar: 'CAREKEY_PASSPHRASE',
            confirm: true,
          });
          const secrets = newWalletSecrets({ mnemonic: generateMnemonic() });
          await saveNewWallet({
            home,
            secrets,
            passphrase,
            identity,
            ...(options.scryptLogN === undefined ? {} : { logN: options.scryptLogN }),
          });
          rotation = { identity, key: walletKeys(secrets).address, startedAt: new Date().toISOString() };
          await mkdir(files.dir, { recursive: true, mode: 0o700 });
          await writeFile(rotationFile(files.dir), `${JSON.stringify(rotation, null, 2)}\n`, { mode: 0o600 });
        }
      }
      let identity = await readDeviceIdentity(files.deviceIdentityFile);
      if (!identity) {
        identity = X25519Identity.generate();
        await mkdir(files.dir, { recursive: true, mode: 0o700 });
        await writeFile(files.deviceIdentityFile, `${identity.toString()}\n`, { mode: 0o600 });
      }
      const recipient = identity.recipient.toString();
      output(options, { recipient, ...(rotation === undefined ? {} : { newKey: rotation.key }) }, () =>
        [
          'Ask your guardians to run, each on their own device:',
          ...(rotation === undefined
            ? []
            : [`  carekey guardian approve --for ${rotation.identity} --key ${rotation.key}`]),
          `  carekey guardian release --for ${rotation?.identity ?? '<your address>'} --to ${recipient} --out share.age`,
          rotation === undefined
            ? 'then run `carekey recover finish <their files…>` here.'
            : 'then, once the delay has passed, run `carekey recover finish <their files…>` here.',
        ].join('\n'),
      );
    });

  recover
    .command('finish <files...>')
    .description('combine the shares your guardians sent and restore your wallet on this device')
    .option(
      '--for <address|did>',
      'your identity, if your keys were rotated (`carekey did rotate`) since it was made',
    )
    .option('--scrypt-log-n <n>', 'scrypt work factor of the new wallet file (default 18)', (v) => Number(v))
    .option('--json', 'print JSON')
    .action(async (paths: string[], options: { for?: string; scryptLogN?: number; json?: boolean }) => {
      const home = carekeyHome();
      const files = recoveryFiles(home);
      const identity = await readDeviceIdentity(files.deviceIdentityFile);
      if (!identity) {
        throw new CliError('this device has no recovery key yet', {
          hint: 'run `carekey recover start` first',
        });
      }
      const shares = await readShares(paths, identity);
      const rotation = await readRotation(files.dir);
      if (rotation !== undefined) {
        await finishRotation({
          rotation,
          shares,
          deviceIdentityFile: files.deviceIdentityFile,
          options,
        });
        await rm(rotationFile(files.dir), { force: true });
        return;
      }
      const { secret, used, corrupted } = await combineShares({ shares });
      const mnemonic = recoverySecretToMnemonic(secret);
      const passphrase = await readSecret({
        prompt: 'New passphrase for this device: ',
        envVar: 'CAREKEY_PASSPHRASE',
        confirm: true,
      });
      const phrase = newWalletSecrets({ mnemonic });
      const owner = await identityForKey(walletKeys(phrase).address, options.for);
      // The identity's category key (kept on the node across rotations) goes into the wallet file.
      const held = await escrowedCategoryKey(walletKeys(phrase), owner);
      const secrets = held === undefined ? phrase : { ...phrase, categoryKey: held };
      const facts = await saveNewWallet({
        home,
        secrets,
        passphrase,
        identity: owner,
        ...(options.scryptLogN === undefined ? {} : { logN: options.scryptLogN }),
      });
      await rm(files.deviceIdentityFile, { force: true });
      const keys = walletKeys(secrets);
      const did = await publishKey(home, privateKeyToAccount(keys.privateKey), keys.recipient, owner);
      output(options, { ...facts, sharesUsed: used, corruptedShares: corrupted, didKey: did }, () =>
        [
          `Wallet recovered from shares ${used.join(', ')}: ${facts.address}.`,
          ...(corrupted.length > 0 ? [`  shares ${corrupted.join(', ')} were damaged and not used`] : []),
          'Your records are readable again on this device (`carekey ls`). If your old device may be in',
          "someone else's hands, rotate your keys and make new shares (`carekey guardians setup`).",
        ].join('\n'),
      );
    });
}

/**
 * The stolen-phone finish: the shares give back the old phrase (only its X25519 key is used, to re-wrap; it is
 * never saved), the approved recovery executes once its delay has passed, the new key publishes its X25519 key on
 * the DID and re-wraps every own stanza (the old ones deleted in the vault). Shares are checked first: a bad share,
 * too few approvals or a delay still running change nothing.
 */
async function finishRotation(parameters: {
  rotation: Rotation;
  shares: RecoveryShare[];
  deviceIdentityFile: string;
  options: { json?: boolean; scryptLogN?: number };
}): Promise<void> {
  const { rotation, shares, options } = parameters;
  const session = await openSession();
  const state = await getRecovery(session.node, rotation.identity);
  // Only shares of the set the Recovery contract anchors count (an older set, or one of another phrase: wrong-set).
  const { secret, used, corrupted } = await combineShares({
    shares,
    ...(state.shareSetRoot === zeroHash ? {} : { expectedSetRoot: state.shareSetRoot }),
  });
  const old = walletKeys(newWalletSecrets({ mnemonic: recoverySecretToMnemonic(secret) }));
  // The shares are of the phrase whose key controlled the identity (its own address unless it was rotated before).
  const known = [rotation.identity, ...(state.controller === null ? [] : [state.controller])];
  if (!known.some((a) => isAddressEqual(a, old.address))) {
    throw new CliError(`these shares are not those of ${rotation.identity}: nothing was changed`, {
      hint: 'ask your own guardians for your shares',
    });
  }
  if (state.controller === null || !isAddressEqual(state.controller, rotation.key)) {
    const pending = state.pending;
    if (pending === null || !isAddressEqual(pending.newController, rotation.key)) {
      throw new CliError(`no recovery to this device's key ${rotation.key} is under way`, {
        hint: `your guardians approve it with \`carekey guardian approve --for ${rotation.identity} --key ${rotation.key}\``,
      });
    }
    if (pending.readyAt === '0') {
      throw new CliError(`${pending.approvals} of ${state.threshold} guardians approved so far`, {
        hint: 'more guardians must approve this key',
      });
    }
    const wait = BigInt(pending.readyAt) - BigInt(state.chainTime);
    if (wait > 0n) {
      throw new CliError(`the delay runs ${wait} s more: nothing was changed`, {
        hint: 'run `carekey recover finish` again then (your old key can still cancel until then)',
      });
    }
    await executeRecovery(session.node, rotation.identity);
  }
  await session.node.publishEncryptionKey({ recipient: session.keys.recipient });
  const result = await rekeyRecords({ session, old: old.identity });
  // The identity's category key: from the escrow (sealed to the old key, opened with the shares' phrase) or, for a
  // wallet of before the escrow, derived from the old key; re-sealed to this device's key and kept in its wallet.
  // (An earlier run of this finish that stopped after saving it left it in the wallet already.)
  if (session.heldCategoryKey !== undefined) await sessionCategoryKey(session);
  else {
    const carried = await resolveCategoryKey({
      node: session.node,
      identity: old.identity,
      privateKey: old.privateKey,
      sealTo: session.keys.recipient,
    });
    const passphrase = await readSecret({ prompt: 'Passphrase: ', envVar: 'CAREKEY_PASSPHRASE' });
    const secrets = await unlockWalletSecrets(session.home, passphrase);
    await saveNewWallet({
      home: session.home,
      secrets: { ...secrets, categoryKey: categoryKeyToHex(carried.key) },
      passphrase,
      identity: rotation.identity,
      replace: true,
      ...(options.scryptLogN === undefined ? {} : { logN: options.scryptLogN }),
    });
  }
  await rm(parameters.deviceIdentityFile, { force: true });
  output(
    options,
    {
      identity: rotation.identity,
      key: rotation.key,
      sharesUsed: used,
      corruptedShares: corrupted,
      ...result,
    },
    () =>
      [
        `Your identity ${rotation.identity} now answers to this device's key ${rotation.key}; the stolen key is powerless.`,
        `  ${result.rewrapped} record key(s) re-wrapped to your new encryption key; the old ones were deleted.`,
        'Make new shares for your guardians (`carekey guardians setup`): the old ones hold your old phrase.',
      ].join('\n'),
  );
}
