import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { X25519Identity } from '@carekey/sdk/crypto';
import { CryptoError } from '@carekey/sdk/errors';
import {
  combineShares,
  openShare,
  type RecoveryShare,
  recoverySecretToMnemonic,
} from '@carekey/sdk/recovery';
import { newWalletSecrets, walletKeys } from '@carekey/sdk/wallet';
import type { Command } from 'commander';
import { privateKeyToAccount } from 'viem/accounts';
import { carekeyHome } from '../home/carekeyHome.ts';
import { recoveryFiles } from '../home/recoveryFiles.ts';
import { saveNewWallet } from '../home/walletStore.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { readSecret } from '../io/readSecret.ts';
import { publishKey } from './publishKey.ts';

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
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const home = carekeyHome();
      const files = recoveryFiles(home);
      let identity = await readDeviceIdentity(files.deviceIdentityFile);
      if (!identity) {
        identity = X25519Identity.generate();
        await mkdir(files.dir, { recursive: true, mode: 0o700 });
        await writeFile(files.deviceIdentityFile, `${identity.toString()}\n`, { mode: 0o600 });
      }
      const recipient = identity.recipient.toString();
      output(options, { recipient }, () =>
        [
          'Ask your guardians to run, each on their own device:',
          `  carekey guardian release --for <your address> --to ${recipient} --out share.age`,
          'then run `carekey recover finish <their files…>` here.',
        ].join('\n'),
      );
    });

  recover
    .command('finish <files...>')
    .description('combine the shares your guardians sent and restore your wallet on this device')
    .option('--scrypt-log-n <n>', 'scrypt work factor of the new wallet file (default 18)', (v) => Number(v))
    .option('--json', 'print JSON')
    .action(async (paths: string[], options: { scryptLogN?: number; json?: boolean }) => {
      const home = carekeyHome();
      const files = recoveryFiles(home);
      const identity = await readDeviceIdentity(files.deviceIdentityFile);
      if (!identity) {
        throw new CliError('this device has no recovery key yet', {
          hint: 'run `carekey recover start` first',
        });
      }
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
      const { secret, used, corrupted } = await combineShares({ shares });
      const mnemonic = recoverySecretToMnemonic(secret);
      const passphrase = await readSecret({
        prompt: 'New passphrase for this device: ',
        envVar: 'CAREKEY_PASSPHRASE',
        confirm: true,
      });
      const secrets = newWalletSecrets({ mnemonic });
      const facts = await saveNewWallet({
        home,
        secrets,
        passphrase,
        ...(options.scryptLogN === undefined ? {} : { logN: options.scryptLogN }),
      });
      await rm(files.deviceIdentityFile, { force: true });
      const keys = walletKeys(secrets);
      const did = await publishKey(home, privateKeyToAccount(keys.privateKey), keys.recipient);
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
