import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../../../node/src/startNode.ts';

/** A real Carekey node (embedded anvil, PGlite, blob store, HTTP API) on free ports in a temp folder. */
export type TestNode = { node: CarekeyNode; url: string; dir: string; stop(): Promise<void> };

/** Starts a node for a test file; `stop()` stops it and removes its folder. */
export async function startTestNode(): Promise<TestNode> {
  const dir = mkdtempSync(join(tmpdir(), 'carekey-cli-node-'));
  const node = await startNode({
    dataDir: dir,
    shredDelay: 0, // port 0: a free port for the embedded chain (the type is an Omit of a union, which drops `port`)
    chain: { port: 0 } as NonNullable<StartNodeParameters['chain']>,
    api: { port: 0 },
  });
  return {
    node,
    url: node.api.url,
    dir,
    async stop() {
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
