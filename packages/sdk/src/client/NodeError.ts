import { BaseError } from '../errors/BaseError.ts';

/** An RFC 9457 problem as a Carekey node sends it (`application/problem+json`). */
export type NodeProblem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Stable machine-readable reason, e.g. `not-owner`, `blob-not-found`, `grant-revoked`. */
  code: string;
};

/** Anything that went wrong talking to a Carekey node. */
export class NodeError extends BaseError {
  override name = 'NodeError';
}

/** The node could not be reached (connection refused, DNS, timeout). */
export class NodeUnreachableError extends NodeError {
  override name = 'NodeUnreachableError';
  readonly url: string;
  constructor(url: string, cause: unknown) {
    super(`cannot reach the Carekey node at ${url}`, {
      cause,
      details: { url },
      hint: 'start one with `npm start`, or set CAREKEY_NODE to its URL',
    });
    this.url = url;
  }
}

/** The node answered something that is not what its API promises (wrong content type, malformed JSON, bad hash). */
export class NodeResponseError extends NodeError {
  override name = 'NodeResponseError';
}

/**
 * Plain words for the node's refusal codes: what happened, from the caller's side. Codes not listed fall back to
 * the node's own `detail`.
 */
const PLAIN_WORDS: Record<string, string> = {
  'not-owner': 'the node refused: your key is not the current owner of this identity',
  'missing-auth': 'the node refused: this call needs a signed request',
  replayed: 'the node refused a replayed request; try again',
  expired: 'the node refused: the signed request expired (check this computer’s clock)',
  'not-yet-valid':
    'the node refused: the signed request is dated in the future (check this computer’s clock)',
  'wrong-audience': 'the node refused: the request was signed for another node',
  'bad-signature': 'the node refused: the signature does not verify',
  'chain-unavailable': 'the node cannot read its ledger right now; try again in a moment',
  'no-encryption-key':
    'this identity has published no encryption key yet (it must run `carekey init` with a node)',
  'blob-not-found': 'the node does not hold this record’s encrypted payload',
  'hash-mismatch': 'the uploaded payload does not match its id',
  'blob-too-large': 'the payload is larger than this node accepts',
};

/** A refusal from the node: an HTTP 4xx/5xx with a problem+json body. `code` is stable; switch on it. */
export class NodeProblemError extends NodeError {
  override name = 'NodeProblemError';
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly method: string;
  readonly path: string;

  constructor(parameters: { problem: NodeProblem; method: string; path: string }) {
    const { problem } = parameters;
    const plain = PLAIN_WORDS[problem.code];
    super(plain ?? `the node refused: ${problem.detail}`, {
      details: {
        status: problem.status,
        code: problem.code,
        method: parameters.method,
        path: parameters.path,
      },
    });
    this.status = problem.status;
    this.code = problem.code;
    this.detail = problem.detail;
    this.method = parameters.method;
    this.path = parameters.path;
  }
}
