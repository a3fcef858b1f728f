import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../startNode.ts';

/** A real node (embedded anvil, PGlite, blob store, HTTP API) in a temp folder, on free loopback ports. */
export type TempNode = {
  node: CarekeyNode;
  /** The API (and portal) base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The node's data folder (removed by `stop`). */
  dir: string;
  /** Stops the node (chain state saved) and removes its folder. */
  stop(): Promise<void>;
};

export type StartTempNodeParameters = Omit<StartNodeParameters, 'dataDir' | 'shredDelay'> & {
  /** Start of the temp folder's name (default `carekey-node-`). */
  prefix?: string | undefined;
  /** RecordRegistry's shred delay in seconds (default 0: a forget finalises at once). */
  shredDelay?: number | undefined;
};

/**
 * Starts a node for a test file or a benchmark in a fresh temp folder: embedded anvil and API on free ports (port 0)
 * unless `chain`/`api` say otherwise, shred delay 0. The one starter behind the CLI tests (`startTestNode`), the
 * browser tests (`startPortalNode`) and the benchmarks (`startBenchNode`). The folder is removed if the start fails.
 *
 * @example
 * const temp = await startTempNode({ prefix: 'carekey-cli-node-' });
 * try { ... temp.url ... } finally { await temp.stop(); }
 */
export async function startTempNode(parameters: StartTempNodeParameters = {}): Promise<TempNode> {
  const { prefix, shredDelay, chain, api, ...rest } = parameters;
  const dir = mkdtempSync(join(tmpdir(), prefix ?? 'carekey-node-'));
  let node: CarekeyNode;
  try {
    node = await startNode({
      ...rest,
      dataDir: dir,
      shredDelay: shredDelay ?? 0,
      chain: chain?.rpcUrl !== undefined ? chain : { port: 0, ...chain },
      api: { port: 0, ...api },
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
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
