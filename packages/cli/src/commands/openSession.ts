import '@carekey/sdk/crypto/node';
import { createNodeClient, type NodeClient } from '@carekey/sdk/client';
import { type WalletKeys, walletKeys } from '@carekey/sdk/wallet';
import type { LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { type CarekeyHome, carekeyHome } from '../home/carekeyHome.ts';
import { RecordStore } from '../home/recordStore.ts';
import { readWalletPublic, unlockWalletSecrets, type WalletPublic } from '../home/walletStore.ts';
import { readSecret } from '../io/readSecret.ts';

/** Default node URL (`CAREKEY_NODE`). */
export const DEFAULT_NODE_URL = 'http://127.0.0.1:8787';

/** The node URL from `CAREKEY_NODE`, or the default. */
export function nodeUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.CAREKEY_NODE && env.CAREKEY_NODE.length > 0 ? env.CAREKEY_NODE : DEFAULT_NODE_URL;
}

/** An unlocked wallet with its node client and local record store. */
export type Session = {
  home: CarekeyHome;
  facts: WalletPublic;
  /** The wallet's keys; `address` is the identity acted for (the key's own address unless rotated). */
  keys: WalletKeys;
  /** The signing key. */
  account: LocalAccount;
  node: NodeClient;
  store: RecordStore;
  /** The identity's category key the wallet file carries (after a rotation or a restore), if it carries one. */
  heldCategoryKey?: `0x${string}` | undefined;
};

/**
 * Opens the wallet in `CAREKEY_HOME` with the passphrase (`CAREKEY_PASSPHRASE` when not interactive) and a client
 * of the node at `CAREKEY_NODE`. Checks the wallet exists before asking for anything.
 */
export async function openSession(): Promise<Session> {
  const home = carekeyHome();
  const facts = await readWalletPublic(home);
  const passphrase = await readSecret({ prompt: 'Passphrase: ', envVar: 'CAREKEY_PASSPHRASE' });
  const secrets = await unlockWalletSecrets(home, passphrase);
  const own = walletKeys(secrets);
  const account = privateKeyToAccount(own.privateKey);
  // After a rotation the wallet's key acts for an identity that is not its own address: every command speaks for
  // the identity (`keys.address`), signing with the key (`account`).
  const identity = facts.address;
  const keys: WalletKeys = { ...own, address: identity };
  const rotated = identity.toLowerCase() !== account.address.toLowerCase();
  return {
    home,
    facts,
    keys,
    account,
    node: createNodeClient({ url: nodeUrl(), account, ...(rotated ? { identity } : {}) }),
    store: new RecordStore(home, keys.recipient),
    ...(secrets.categoryKey === undefined ? {} : { heldCategoryKey: secrets.categoryKey }),
  };
}
