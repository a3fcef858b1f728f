import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePortalBuilt, PORTAL_DIST } from '../../../../scripts/buildPortal.ts';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../../../node/src/startNode.ts';

/** A real Carekey node (embedded anvil, PGlite, blobs, API) serving the built portal, on free ports. */
export type PortalNode = {
  node: CarekeyNode;
  /** Where the portal and the API are, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The node's data folder (a temp folder, removed by `stop`). */
  dir: string;
  stop(): Promise<void>;
};

/**
 * Builds the portal if it is missing or stale (`scripts/buildPortal.ts`), then starts a node in a temp folder
 * serving it at `/`. Start one per test file (a few seconds); `stop()` stops it and removes its folder.
 */
export async function startPortalNode(): Promise<PortalNode> {
  ensurePortalBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'carekey-web-node-'));
  let node: CarekeyNode;
  try {
    node = await startNode({
      dataDir: dir,
      shredDelay: 0,
      chain: { port: 0 } as NonNullable<StartNodeParameters['chain']>,
      api: { port: 0, portalDir: PORTAL_DIST },
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
