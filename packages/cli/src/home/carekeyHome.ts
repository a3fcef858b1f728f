import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Files of a person's Carekey folder (`CAREKEY_HOME`, default `~/.carekey`). */
export type CarekeyHome = {
  /** The folder itself. */
  dir: string;
  /** The wallet: an age file locked with the person's passphrase (scrypt recipient). */
  walletFile: string;
  /** Public facts of the wallet (address, age recipient), readable without the passphrase. */
  publicFile: string;
  /** The person's records: an encrypted index and one age file per record (own stanza + payload). */
  recordsDir: string;
};

/** Resolves the Carekey home folder from `CAREKEY_HOME` (or `~/.carekey`). */
export function carekeyHome(env: NodeJS.ProcessEnv = process.env): CarekeyHome {
  const dir = resolve(env.CAREKEY_HOME ?? join(homedir(), '.carekey'));
  return {
    dir,
    walletFile: join(dir, 'wallet.age'),
    publicFile: join(dir, 'wallet.json'),
    recordsDir: join(dir, 'records'),
  };
}
