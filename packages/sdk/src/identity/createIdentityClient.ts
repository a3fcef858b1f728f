import type { Address, Hex } from 'viem';
import { NodeProblemError, NodeResponseError, NodeUnreachableError } from '../client/NodeError.ts';
import { CredentialError } from './CredentialError.ts';
import type { ClinicianClaim } from './sdJwt.ts';
import { STATUS_LIST_MEDIA_TYPE } from './statusList.ts';

/** A grantee's verified, disclosed identity as a node shows it (`GET /v1/credentials/{address}`). */
export type VerifiedIdentity = {
  identity: Address;
  did: string;
  /** false when the credential no longer holds; `reason` says why. */
  verified: boolean;
  reason?: string;
  issuer: string;
  issuerName: string;
  claims: Partial<Record<ClinicianClaim, string>>;
  expiresAt: string;
  verifiedAt: string;
};

/** `GET /v1/issuers/{address}`. */
export type IssuerStanding = {
  issuer: Address;
  trusted: boolean;
  epoch: string;
  threshold: number;
  governors: Address[];
  approvals: { add: number; remove: number };
  governorNonce?: string;
};

/**
 * A client of a node's identity routes (docs/identity.md). Isomorphic (`fetch` only). Refusals are
 * `NodeProblemError`s with the node's stable `code` (a credential refusal's code is its `CredentialRefusal`).
 */
export function createIdentityClient(parameters: { url: string; fetch?: typeof fetch }) {
  const base = parameters.url.replace(/\/+$/u, '');
  const doFetch = parameters.fetch ?? globalThis.fetch;

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    let response: Response;
    try {
      response = await doFetch(`${base}${path}`, {
        method,
        headers:
          body === undefined
            ? { accept: 'application/json' }
            : { accept: 'application/json', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (cause) {
      throw new NodeUnreachableError(base, cause);
    }
    if (!response.ok) {
      let problem: { code?: unknown; detail?: unknown; type?: unknown; title?: unknown } = {};
      try {
        problem = (await response.json()) as typeof problem;
      } catch {}
      throw new NodeProblemError({
        problem: {
          type: String(problem.type ?? 'about:blank'),
          title: String(problem.title ?? response.statusText),
          status: response.status,
          detail: typeof problem.detail === 'string' ? problem.detail : `HTTP ${response.status}`,
          code: typeof problem.code === 'string' ? problem.code : `http-${response.status}`,
        },
        method,
        path: path.split('?', 1)[0] ?? path,
      });
    }
    return response;
  }
  const json = async <result>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<result> => {
    const response = await call(method, path, body);
    try {
      return (await response.json()) as result;
    } catch (cause) {
      throw new NodeResponseError(`the node answered ${method} ${path} with malformed JSON`, { cause });
    }
  };

  return {
    url: base,
    /** What a `did:ethr` resolver needs for this node's chain. */
    resolverConfig: () =>
      json<{ chainId: number; didRegistry: Address; trustedIssuers: Address; rpcUrl: string | null }>(
        'GET',
        '/v1/identity/resolver',
      ),
    /** A one-use challenge and this node's audience, to present a credential to the node. */
    challenge: () =>
      json<{ nonce: string; audience: string; expiresAt: string }>('GET', '/v1/credentials/challenge'),
    /** Presents a credential to the node (verified on arrival; the latest one is what patients see). */
    present: (presentation: string) => json<VerifiedIdentity>('POST', '/v1/credentials', { presentation }),
    /** The identity's verified, disclosed identity, re-checked now; `undefined` if it never presented one. */
    async getCredential(address: Address): Promise<VerifiedIdentity | undefined> {
      try {
        return await json<VerifiedIdentity>('GET', `/v1/credentials/${address}`);
      } catch (error) {
        if (error instanceof NodeProblemError && error.code === 'no-credential') return undefined;
        throw error;
      }
    },
    /** Publishes an issuer-signed status list to the node. */
    publishStatusList: (jwt: string) =>
      json<{ uri: string; iat: number }>('POST', '/v1/status-lists', { jwt }),
    /**
     * Fetches a status list, only from this node (a credential's URI elsewhere is refused: no arbitrary URLs, T-21).
     * @throws {CredentialError} `status-unavailable`.
     */
    async fetchStatusList(uri: string): Promise<string> {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw new CredentialError('status-unavailable', 'the status list URI is not a URL');
      }
      if (url.origin !== new URL(base).origin) {
        throw new CredentialError(
          'status-unavailable',
          `the status list is hosted at ${url.origin}, not at this node`,
          {
            hint: 'verify against the node the issuer publishes to (CAREKEY_NODE)',
          },
        );
      }
      try {
        const response = await call('GET', url.pathname);
        if (!(response.headers.get('content-type') ?? '').includes(STATUS_LIST_MEDIA_TYPE)) {
          throw new CredentialError('status-unavailable', 'the node did not answer a status list');
        }
        return await response.text();
      } catch (error) {
        if (error instanceof CredentialError) throw error;
        throw new CredentialError(
          'status-unavailable',
          'the status list could not be fetched from the node',
          { cause: error },
        );
      }
    },
    /** The issuer's standing in TrustedIssuers (and `governor`'s next approval nonce). */
    getIssuer: (issuer: Address, governor?: Address) =>
      json<IssuerStanding>(
        'GET',
        `/v1/issuers/${issuer}${governor === undefined ? '' : `?governor=${governor}`}`,
      ),
    /** Relays a governor's signed approval. */
    approveIssuer: (body: {
      governor: Address;
      action: 0 | 1;
      issuer: Address;
      epoch: string;
      nonce: string;
      deadline: string;
      signature: Hex;
    }) =>
      json<
        { transactionHash: Hex; trusted: boolean; approvals: number; threshold: number } | { status: string }
      >('POST', '/v1/issuers/approvals', body),
  };
}

export type IdentityClient = ReturnType<typeof createIdentityClient>;
