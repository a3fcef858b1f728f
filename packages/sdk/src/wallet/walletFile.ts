import { privateKeyToAddress } from 'viem/accounts';
import {
  decrypt,
  encrypt,
  NoIdentityMatchError,
  ScryptIdentity,
  ScryptRecipient,
  X25519Identity,
} from '../crypto/index.ts';
import { CryptoError } from '../errors/crypto.ts';
import { WalletError, WrongPassphraseError } from '../errors/wallet.ts';
import { deriveKeys } from './deriveKeys.ts';
import { normaliseMnemonic } from './mnemonic.ts';

/** What a wallet file holds, encrypted: the recovery phrase and which keys of it are in use. */
export type WalletSecrets = {
  kind: 'carekey-wallet';
  version: 1;
  /** BIP-39 English recovery phrase. */
  mnemonic: string;
  /** secp256k1 account index (`m/44'/60'/0'/0/{account}`). */
  account: number;
  /** X25519 key index (see `deriveKeys`). */
  x25519Index: number;
  /** ISO 8601 time the wallet was created or restored. */
  createdAt: string;
  /**
   * The identity's category key (0x-hex, 32 bytes), when it is not the one this phrase derives: carried over by
   * `carekey did rotate` and a finished recovery, or fetched from the node's escrow at a restore, so category tags
   * stay the same across rotations (docs/identity.md). Absent: the key derived from this wallet's secp256k1 key, or
   * the node's escrow (`resolveCategoryKey`).
   */
  categoryKey?: `0x${string}` | undefined;
};

/** The keys of an open wallet. Keep it in memory only as long as needed. */
export type WalletKeys = {
  /** Ethereum address of the ledger account (checksummed). */
  address: `0x${string}`;
  /** secp256k1 private key. */
  privateKey: `0x${string}`;
  /** The age identity that decrypts the person's stanzas. */
  identity: X25519Identity;
  /** The matching `age1…` recipient (public). */
  recipient: string;
};

/** Lowest scrypt work factor accepted for a wallet file (tests may go lower with `allowWeakWorkFactor`). */
export const WALLET_MIN_LOG_N = 15;

export type NewWalletSecretsParameters = {
  mnemonic: string;
  account?: number;
  x25519Index?: number;
  /** The identity's category key to carry (see `WalletSecrets.categoryKey`). */
  categoryKey?: `0x${string}` | undefined;
};

/** Builds the secrets of a new or restored wallet; the phrase is checked (bad checksum → `InvalidMnemonicError`). */
export function newWalletSecrets(parameters: NewWalletSecretsParameters): WalletSecrets {
  const secrets: WalletSecrets = {
    kind: 'carekey-wallet',
    version: 1,
    mnemonic: normaliseMnemonic(parameters.mnemonic),
    account: parameters.account ?? 0,
    x25519Index: parameters.x25519Index ?? 0,
    createdAt: new Date().toISOString(),
    ...(parameters.categoryKey === undefined
      ? {}
      : { categoryKey: checkCategoryKey(parameters.categoryKey) }),
  };
  walletKeys(secrets); // validates the indices
  return secrets;
}

/** Derives the keys of a wallet from its secrets. */
export function walletKeys(secrets: WalletSecrets): WalletKeys {
  const keys = deriveKeys({
    mnemonic: secrets.mnemonic,
    account: secrets.account,
    x25519Index: secrets.x25519Index,
  });
  const identity = new X25519Identity(keys.x25519SecretKey);
  keys.x25519SecretKey.fill(0);
  return {
    address: privateKeyToAddress(keys.privateKey),
    privateKey: keys.privateKey,
    identity,
    recipient: identity.recipient.toString(),
  };
}

export type SealWalletParameters = {
  secrets: WalletSecrets;
  /** The passphrase that will open the wallet. At least 8 characters. */
  passphrase: string;
  /** log2 of the scrypt work factor; default 18 (as age, about a second). */
  logN?: number;
  /** Allow logN below `WALLET_MIN_LOG_N` (tests only). */
  allowWeakWorkFactor?: boolean;
};

/**
 * Encrypts wallet secrets into an age v1 file with a passphrase (scrypt) recipient. The file opens with
 * `age -d` and the passphrase, with no Carekey at all.
 *
 * @throws WalletError if the passphrase is shorter than 8 characters or the work factor too weak.
 */
export async function sealWallet(parameters: SealWalletParameters): Promise<Uint8Array> {
  const logN = parameters.logN ?? 18;
  if (parameters.passphrase.length < 8) {
    throw new WalletError('passphrase too short', { hint: 'use at least 8 characters; a sentence is best' });
  }
  if (logN < WALLET_MIN_LOG_N && !parameters.allowWeakWorkFactor) {
    throw new WalletError(`scrypt work factor 2^${logN} is too weak for a wallet`, {
      hint: `use logN ≥ ${WALLET_MIN_LOG_N}`,
    });
  }
  const plaintext = new TextEncoder().encode(`${JSON.stringify(parameters.secrets, null, 2)}\n`);
  return encrypt({ recipients: [new ScryptRecipient(parameters.passphrase, { logN })], plaintext });
}

export type OpenWalletParameters = { file: Uint8Array; passphrase: string };

/**
 * Decrypts a wallet file with its passphrase and checks what it holds.
 *
 * @throws WrongPassphraseError if the passphrase does not open it; WalletError if the file is not an age file,
 * is damaged, or holds something other than a Carekey wallet.
 */
export async function openWallet(parameters: OpenWalletParameters): Promise<WalletSecrets> {
  let plaintext: Uint8Array;
  try {
    plaintext = await decrypt({
      identities: [new ScryptIdentity(parameters.passphrase)],
      ciphertext: parameters.file,
    });
  } catch (error) {
    if (error instanceof NoIdentityMatchError) throw new WrongPassphraseError();
    if (error instanceof CryptoError) {
      throw new WalletError('the wallet file is damaged or not a wallet file', { cause: error });
    }
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch (cause) {
    throw new WalletError('the wallet file does not hold a Carekey wallet', { cause });
  }
  return checkSecrets(parsed);
}

function checkSecrets(value: unknown): WalletSecrets {
  const v = value as Partial<WalletSecrets> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    v.kind !== 'carekey-wallet' ||
    v.version !== 1 ||
    typeof v.mnemonic !== 'string' ||
    typeof v.account !== 'number' ||
    typeof v.x25519Index !== 'number' ||
    typeof v.createdAt !== 'string' ||
    (v.categoryKey !== undefined && typeof v.categoryKey !== 'string')
  ) {
    throw new WalletError('the wallet file does not hold a Carekey wallet (version 1)');
  }
  const secrets: WalletSecrets = {
    kind: 'carekey-wallet',
    version: 1,
    mnemonic: normaliseMnemonic(v.mnemonic),
    account: v.account,
    x25519Index: v.x25519Index,
    createdAt: v.createdAt,
    ...(v.categoryKey === undefined ? {} : { categoryKey: checkCategoryKey(v.categoryKey) }),
  };
  walletKeys(secrets);
  return secrets;
}

function checkCategoryKey(value: string): `0x${string}` {
  if (!/^0x[0-9a-f]{64}$/u.test(value)) {
    throw new WalletError('the wallet file holds a malformed category key (not 32 bytes of 0x-hex)');
  }
  return value as `0x${string}`;
}
