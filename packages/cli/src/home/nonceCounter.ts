import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CarekeyHome } from './carekeyHome.ts';
import { writeFileAtomic } from './writeFileAtomic.ts';

type Counters = Record<string, string>;

const FILE = 'nonces.json';

/** `<chainId>:<contract address>:<identity>`: a new deployment or chain starts from zero again. */
export function nonceKey(chainId: number, contract: string, identity: string): string {
  return `${chainId}:${contract.toLowerCase()}:${identity.toLowerCase()}`;
}

async function read(home: CarekeyHome): Promise<Counters> {
  try {
    return JSON.parse(await readFile(join(home.dir, FILE), 'utf8')) as Counters;
  } catch {
    return {};
  }
}

/** The next EIP-712 nonce this wallet will sign on a contract (0 for an identity that never signed there). */
export async function nextNonce(home: CarekeyHome, key: string): Promise<bigint> {
  return BigInt((await read(home))[key] ?? '0');
}

/** Records that `used` nonces from `from` on were accepted by the node. */
export async function consumeNonces(
  home: CarekeyHome,
  key: string,
  from: bigint,
  used: bigint,
): Promise<void> {
  const counters = await read(home);
  const current = BigInt(counters[key] ?? '0');
  const next = from + used > current ? from + used : current;
  await writeFileAtomic(
    join(home.dir, FILE),
    `${JSON.stringify({ ...counters, [key]: next.toString() }, null, 2)}\n`,
  );
}
