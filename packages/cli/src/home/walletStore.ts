import { readFile, stat } from 'node:fs/promises';
import {
  type OpenWalletParameters,
  openWallet,
  sealWallet,
  type WalletKeys,
  type WalletSecrets,
  walletKeys,
} from '@carekey/sdk/wallet';
import { CliError } from '../io/CliError.ts';
import type { CarekeyHome } from './carekeyHome.ts';
import { writeFileAtomic } from './writeFileAtomic.ts';

/**
 * Public facts of a wallet, kept in clear beside it so `whoami` needs no passphrase. `address` is the identity the
 * wallet acts for (its DID); `key` is set when the wallet's own key is another one — after `carekey did rotate` or a
 * stolen-phone recovery, the identity stays and a new key speaks for it.
 */
export type WalletPublic = {
  address: `0x${string}`;
  ageRecipient: string;
  createdAt: string;
  key?: `0x${string}` | undefined;
};

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export type SaveWalletParameters = {
  home: CarekeyHome;
  secrets: WalletSecrets;
  passphrase: string;
  logN?: number;
  /** The identity this wallet's key acts for, when not its own address (a rotated or recovered identity). */
  identity?: `0x${string}` | undefined;
  /** Replace the wallet that is there (only `carekey did rotate`, once the chain moved to the new key). */
  replace?: boolean;
};

/**
 * Saves a new wallet in the Carekey home folder. Refuses to overwrite an existing wallet: keys are never replaced
 * silently.
 */
export async function saveNewWallet(parameters: SaveWalletParameters): Promise<WalletPublic> {
  const { home } = parameters;
  if (!parameters.replace && (await exists(home.walletFile))) {
    throw new CliError(`a wallet already exists at ${home.walletFile}`, {
      hint: 'use another CAREKEY_HOME, or move that file away first',
    });
  }
  const file = await sealWallet({
    secrets: parameters.secrets,
    passphrase: parameters.passphrase,
    ...(parameters.logN === undefined ? {} : { logN: parameters.logN }),
  });
  const keys = walletKeys(parameters.secrets);
  const identity = parameters.identity ?? keys.address;
  const facts: WalletPublic = {
    address: identity,
    ageRecipient: keys.recipient,
    createdAt: parameters.secrets.createdAt,
    ...(identity.toLowerCase() === keys.address.toLowerCase() ? {} : { key: keys.address }),
  };
  // The wallet first: a crash in between leaves public facts naming the same identity (only the recipient is stale).
  await writeFileAtomic(home.walletFile, file);
  await writeFileAtomic(home.publicFile, `${JSON.stringify(facts, null, 2)}\n`);
  return facts;
}

/** Reads the public facts of the wallet in the home folder. */
export async function readWalletPublic(home: CarekeyHome): Promise<WalletPublic> {
  let text: string;
  try {
    text = await readFile(home.publicFile, 'utf8');
  } catch {
    throw new CliError(`no wallet in ${home.dir}`, { hint: 'run `carekey init`, or set CAREKEY_HOME' });
  }
  try {
    return JSON.parse(text) as WalletPublic;
  } catch (cause) {
    throw new CliError(`${home.publicFile} is damaged`, {
      cause,
      hint: 'restore with `carekey init --restore`',
    });
  }
}

/** Opens the wallet in the home folder with its passphrase. */
export async function unlockWallet(
  home: CarekeyHome,
  passphrase: OpenWalletParameters['passphrase'],
): Promise<WalletKeys> {
  return walletKeys(await unlockWalletSecrets(home, passphrase));
}

/** Opens the wallet's secrets (the recovery phrase included): only for commands that need the phrase itself. */
export async function unlockWalletSecrets(
  home: CarekeyHome,
  passphrase: OpenWalletParameters['passphrase'],
): Promise<WalletSecrets> {
  let file: Uint8Array;
  try {
    file = await readFile(home.walletFile);
  } catch {
    throw new CliError(`no wallet in ${home.dir}`, { hint: 'run `carekey init`, or set CAREKEY_HOME' });
  }
  return openWallet({ file, passphrase });
}
