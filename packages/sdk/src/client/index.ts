/**
 * `@carekey/sdk/client`: a typed client of a Carekey node's HTTP API (docs/protocol.md). Isomorphic (`fetch`).
 */
export { type CreateNodeClientParameters, createNodeClient, type NodeClient } from './createNodeClient.ts';
export {
  NodeError,
  type NodeProblem,
  NodeProblemError,
  NodeResponseError,
  NodeUnreachableError,
} from './NodeError.ts';
export type * from './types.ts';
