import {
  type StartTempNodeParameters,
  startTempNode,
  type TempNode,
} from '../../../node/src/testing/startTempNode.ts';

/** A real Carekey node (embedded anvil, PGlite, blob store, HTTP API) on free ports in a temp folder. */
export type TestNode = TempNode;

/**
 * Starts a node for a test file (shred delay 0, free ports; `parameters` as `startTempNode`, e.g. `chain.governance`);
 * `stop()` stops it and removes its folder.
 */
export function startTestNode(parameters: StartTempNodeParameters = {}): Promise<TestNode> {
  return startTempNode({ prefix: 'carekey-cli-node-', ...parameters });
}
