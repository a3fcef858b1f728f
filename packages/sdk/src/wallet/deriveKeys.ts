import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { HDKey } from '@scure/bip32';
import { mnemonicToSeedSync } from '@scure/bip39';
import { normaliseMnemonic } from './mnemonic.ts';

/**
 * BIP-32 path of the secp256k1 account: the standard Ethereum path (BIP-44 coin type 60), so the same phrase opens
 * the same account in any Ethereum wallet. `{account}` is the account index (0 by default).
 */
export const SECP256K1_PATH = "m/44'/60'/0'/0/{account}";

/** HKDF salt of the X25519 derivation (UTF-8). */
export const X25519_HKDF_SALT = 'Carekey X25519 v1';

/** HKDF info of the X25519 derivation (UTF-8); `{index}` is the key index, raised when the key is rotated. */
export const X25519_HKDF_INFO = 'carekey/x25519/{index}';

export type DeriveKeysParameters = {
  /** A BIP-39 English recovery phrase (normalised and checked here). */
  mnemonic: string;
  /** secp256k1 account index in `m/44'/60'/0'/0/{account}`. Default 0. */
  account?: number;
  /** X25519 key index. Default 0. */
  x25519Index?: number;
};

export type DerivedKeys = {
  /** The normalised recovery phrase. */
  mnemonic: string;
  /** BIP-32 path used for the secp256k1 key. */
  path: string;
  /** secp256k1 private key, 0x-prefixed hex (the ledger identity; never leaves the wallet). */
  privateKey: `0x${string}`;
  /** X25519 secret scalar (32 bytes) used to decrypt age stanzas. */
  x25519SecretKey: Uint8Array;
  /** X25519 public key (32 bytes), published on the DID as `did/pub/X25519/enc/base64`. */
  x25519PublicKey: Uint8Array;
};

function assertIndex(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 2 ** 31) {
    throw new RangeError(`${name} must be an integer in [0, 2^31), got ${value}`);
  }
}

/**
 * Derives every key of a Carekey wallet from one BIP-39 recovery phrase.
 *
 * - secp256k1: BIP-32 at `m/44'/60'/0'/0/{account}` from the BIP-39 seed (empty BIP-39 passphrase).
 * - X25519: `HKDF-SHA256(ikm = BIP-39 seed, salt = "Carekey X25519 v1", info = "carekey/x25519/{index}", L = 32)`,
 *   used as the X25519 scalar (clamped by X25519 itself, RFC 7748).
 *
 * The same phrase always gives the same keys (restore), and the two keys are independent: knowing one reveals
 * nothing about the other.
 *
 * @throws InvalidMnemonicError if the phrase is not valid BIP-39.
 */
export function deriveKeys(parameters: DeriveKeysParameters): DerivedKeys {
  const account = parameters.account ?? 0;
  const x25519Index = parameters.x25519Index ?? 0;
  assertIndex('account', account);
  assertIndex('x25519Index', x25519Index);
  const mnemonic = normaliseMnemonic(parameters.mnemonic);
  const seed = mnemonicToSeedSync(mnemonic);
  try {
    const path = SECP256K1_PATH.replace('{account}', String(account));
    const node = HDKey.fromMasterSeed(seed).derive(path);
    if (!node.privateKey) throw new Error('BIP-32 derivation gave no private key');
    const privateKey = `0x${bytesToHex(node.privateKey)}` as const;
    node.wipePrivateData();
    const encoder = new TextEncoder();
    const x25519SecretKey = hkdf(
      sha256,
      seed,
      encoder.encode(X25519_HKDF_SALT),
      encoder.encode(X25519_HKDF_INFO.replace('{index}', String(x25519Index))),
      32,
    );
    return {
      mnemonic,
      path,
      privateKey,
      x25519SecretKey,
      x25519PublicKey: x25519.getPublicKey(x25519SecretKey),
    };
  } finally {
    seed.fill(0);
  }
}
