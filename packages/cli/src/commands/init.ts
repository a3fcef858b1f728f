import { generateMnemonic, newWalletSecrets, walletKeys } from '@carekey/sdk/wallet';
import type { Command } from 'commander';
import { privateKeyToAccount } from 'viem/accounts';
import { carekeyHome } from '../home/carekeyHome.ts';
import { saveNewWallet } from '../home/walletStore.ts';
import { output } from '../io/output.ts';
import { readSecret } from '../io/readSecret.ts';
import { escrowedCategoryKey } from './escrowedCategoryKey.ts';
import { identityForKey } from './identityForKey.ts';
import { publishKey } from './publishKey.ts';

/** `carekey init [--restore]`: creates a wallet, or restores one from its recovery phrase. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create a wallet (a new recovery phrase), or restore one with --restore')
    .option('--restore', 'restore from an existing recovery phrase (CAREKEY_MNEMONIC when not interactive)')
    .option(
      '--for <address|did>',
      'with --restore: the identity this phrase acts for, after `carekey did rotate`',
    )
    .option('--scrypt-log-n <n>', 'scrypt work factor of the wallet file (default 18)', (v) => Number(v))
    .option('--json', 'print JSON')
    .action(async (options: { restore?: boolean; for?: string; scryptLogN?: number; json?: boolean }) => {
      const home = carekeyHome();
      const mnemonic = options.restore
        ? await readSecret({ prompt: 'Recovery phrase: ', envVar: 'CAREKEY_MNEMONIC' })
        : generateMnemonic();
      const phrase = newWalletSecrets({ mnemonic });
      const identity = await identityForKey(
        walletKeys(phrase).address,
        options.restore ? options.for : undefined,
      );
      // A restored identity's category key (kept on the node across rotations) goes into the wallet file.
      const held = options.restore ? await escrowedCategoryKey(walletKeys(phrase), identity) : undefined;
      const secrets = held === undefined ? phrase : { ...phrase, categoryKey: held };
      const passphrase = await readSecret({
        prompt: 'New passphrase for this device: ',
        envVar: 'CAREKEY_PASSPHRASE',
        confirm: true,
      });
      const facts = await saveNewWallet({
        home,
        secrets,
        passphrase,
        identity,
        ...(options.scryptLogN === undefined ? {} : { logN: options.scryptLogN }),
      });
      // Publish the X25519 key on the DID so others can share with this wallet (when a node is reachable).
      const keys = walletKeys(secrets);
      const did = await publishKey(home, privateKeyToAccount(keys.privateKey), keys.recipient, identity);
      output(
        options,
        { ...facts, walletFile: home.walletFile, didKey: did, ...(options.restore ? {} : { mnemonic }) },
        () =>
          [
            options.restore ? 'Wallet restored.' : 'Wallet created.',
            `  address        ${facts.address}`,
            `  age recipient  ${facts.ageRecipient}`,
            `  wallet file    ${home.walletFile} (locked with your passphrase)`,
            did.published
              ? `  DID            ${did.did} (encryption key published)`
              : `  DID key        not published: ${did.reason} (${did.hint})`,
            ...(options.restore
              ? []
              : [
                  '',
                  'Your recovery phrase (24 words). Write it on paper and keep it safe: it is the only way to get your',
                  'records back if you lose this device and your passphrase. Anyone who has it can read your records.',
                  '',
                  `  ${mnemonic}`,
                ]),
          ].join('\n'),
      );
    });
}
