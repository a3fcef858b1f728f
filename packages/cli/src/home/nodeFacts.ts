import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CarekeyHome } from './carekeyHome.ts';
import { writeFileAtomic } from './writeFileAtomic.ts';

/** What this wallet last learnt about its node (public facts), so `whoami` can show the DID offline. */
export type NodeFacts = {
  url: string;
  chainId: number;
  audience: string;
  keyPublishedAt?: string | undefined;
};

const FILE = 'node.json';

/** Reads `node.json`, or `undefined` if this wallet never talked to a node. */
export async function readNodeFacts(home: CarekeyHome): Promise<NodeFacts | undefined> {
  try {
    return JSON.parse(await readFile(join(home.dir, FILE), 'utf8')) as NodeFacts;
  } catch {
    return undefined;
  }
}

/** Writes `node.json`. */
export async function saveNodeFacts(home: CarekeyHome, facts: NodeFacts): Promise<void> {
  await writeFileAtomic(join(home.dir, FILE), `${JSON.stringify(facts, null, 2)}\n`);
}

/** `did:ethr:<chainIdHex>:<address>` (docs/protocol.md, Identities and keys). */
export function didOf(address: string, chainId: number): string {
  return `did:ethr:0x${chainId.toString(16)}:${address}`;
}
