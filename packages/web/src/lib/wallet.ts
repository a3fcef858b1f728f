import {
  generateMnemonic,
  newWalletSecrets,
  openWallet,
  sealWallet,
  type WalletKeys,
  type WalletSecrets,
  walletKeys,
} from '@carekey/sdk/wallet';
import { idbDelete, idbGet, idbSet } from './idb.ts';

/** What the portal keeps of a wallet in IndexedDB: the sealed file and public facts. */
export type StoredWallet = {
  version: 1;
  /** The wallet file (age, scrypt recipient): opens only with the passphrase. */
  sealed: Uint8Array;
  address: `0x${string}`;
  /** The `age1…` recipient (public). */
  recipient: string;
  createdAt: string;
  /** The person proved they wrote the recovery phrase down (three words checked). */
  backupVerified: boolean;
  /**
   * The identity this wallet acts for when it is not `address`: after a stolen-phone recovery moved that identity
   * to this wallet's key (public).
   */
  identity?: `0x${string}`;
  /** A recovery with guardians this browser started and has not finished (lib/recovery.ts). */
  recovering?: {
    identity: `0x${string}`;
    rotation: boolean;
    deviceKeySealed: Uint8Array;
    deviceRecipient: string;
    startedAt: string;
  };
};

const WALLET_KEY = 'wallet';

/**
 * scrypt work factor of the wallet file in the browser: 2^17 (128 MiB, about a second). Tests may pass a lower one.
 */
export const BROWSER_WALLET_LOG_N = 17;

export { generateMnemonic };

export function loadStoredWallet(): Promise<StoredWallet | undefined> {
  return idbGet<StoredWallet>(WALLET_KEY);
}

export type SaveWalletParameters = {
  mnemonic: string;
  passphrase: string;
  backupVerified: boolean;
  /** Tests only: a weaker scrypt work factor. */
  logN?: number;
};

/**
 * Seals a new or restored wallet under the passphrase and stores it. Throws `InvalidMnemonicError` for a bad phrase
 * and `WalletError` for a passphrase under 8 characters; nothing is stored then.
 */
export async function saveWallet(
  parameters: SaveWalletParameters,
): Promise<{ stored: StoredWallet; keys: WalletKeys }> {
  const secrets: WalletSecrets = newWalletSecrets({ mnemonic: parameters.mnemonic });
  const logN = parameters.logN ?? BROWSER_WALLET_LOG_N;
  const sealed = await sealWallet({
    secrets,
    passphrase: parameters.passphrase,
    logN,
    allowWeakWorkFactor: logN < BROWSER_WALLET_LOG_N,
  });
  const keys = walletKeys(secrets);
  const stored: StoredWallet = {
    version: 1,
    sealed,
    address: keys.address,
    recipient: keys.recipient,
    createdAt: secrets.createdAt,
    backupVerified: parameters.backupVerified,
  };
  await idbSet(WALLET_KEY, stored);
  return { stored, keys };
}

/** Opens the stored wallet. Throws `WrongPassphraseError` when the passphrase does not open it. */
export async function unlockWallet(stored: StoredWallet, passphrase: string): Promise<WalletKeys> {
  const secrets = await openWallet({ file: stored.sealed, passphrase });
  return walletKeys(secrets);
}

/** Reveals the recovery phrase again (for a backup done later): needs the passphrase. */
export async function revealMnemonic(stored: StoredWallet, passphrase: string): Promise<string> {
  return (await openWallet({ file: stored.sealed, passphrase })).mnemonic;
}

/** Replaces the stored wallet's record (its public facts changed, e.g. after a recovery). */
export function putStoredWallet(stored: StoredWallet): Promise<void> {
  return idbSet(WALLET_KEY, stored);
}

export async function markBackupVerified(stored: StoredWallet): Promise<StoredWallet> {
  const next = { ...stored, backupVerified: true };
  await idbSet(WALLET_KEY, next);
  return next;
}

/** Removes the wallet from this browser (the recovery phrase restores it). */
export async function removeWallet(): Promise<void> {
  await idbDelete(WALLET_KEY);
}

/** Picks `count` distinct word positions (0-based) to ask back, sorted. */
export function pickCheckPositions(count: number, words: number, random = Math.random): number[] {
  const picked = new Set<number>();
  while (picked.size < Math.min(count, words)) picked.add(Math.floor(random() * words));
  return [...picked].sort((a, b) => a - b);
}
