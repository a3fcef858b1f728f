import { ensurePortalBuilt, PORTAL_DIST } from '../../../../scripts/buildPortal.ts';
import type { Governance } from '../../../node/src/chain/deployContracts.ts';
import type { CarekeyNode } from '../../../node/src/startNode.ts';
import { startTempNode } from '../../../node/src/testing/startTempNode.ts';

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
 * serving it at `/` (`startTempNode`). Start one per test file (a few seconds); `stop()` stops it and removes its folder.
 * `governance`: the TrustedIssuers governors deployed with the contracts (default: the relayer alone).
 */
export async function startPortalNode(options: { governance?: Governance } = {}): Promise<PortalNode> {
  ensurePortalBuilt();
  return startTempNode({
    prefix: 'carekey-web-node-',
    api: { portalDir: PORTAL_DIST },
    ...(options.governance === undefined ? {} : { chain: { port: 0, governance: options.governance } }),
  });
}
