import { getIdentityOwner, verifyOwnerSignature } from '@carekey/sdk/chain';
import { SignedRequestError } from '@carekey/sdk/errors';
import { checkNodeRequest, decodeAuthHeader, toNodeRequestTypedData } from '@carekey/sdk/protocol';
import { type Address, type Hex, hashTypedData } from 'viem';
import { ApiError } from './ApiError.ts';
import type { ApiServices } from './ApiServices.ts';
import type { NonceStore } from './NonceStore.ts';

export type AuthenticateNodeRequestParameters = {
  /** The `Carekey-Auth` header as received (absent, repeated or a string). */
  header: string | string[] | undefined;
  /** HTTP method as received. */
  method: string;
  /** Path and query exactly as received (`request.url`). */
  url: string;
  /** SHA-256 of the body as received, or zero for none and for streamed bodies bound otherwise. */
  bodyHash: Hex;
  services: Pick<ApiServices, 'chain' | 'audience'>;
  nonces: NonceStore;
  /** Node clock in seconds (injectable for tests). */
  now?: number | undefined;
};

/** The verified identity acting. */
export type AuthenticateNodeRequestReturnType = Address;

/**
 * The auth layer of every `node-request` route (docs/protocol.md, Signed requests), in this order — cheap and
 * local checks first, the one state change last so that a refused request changes nothing:
 *
 * 1. the header is present, single, base64url JSON (`missing-auth`, `malformed`);
 * 2. `checkNodeRequest`: form, audience, freshness (≤ 300 s lifetime, ≤ 60 s skew), exact method + path + query,
 *    body hash, and the signature recovers (`malformed`, `wrong-audience`, `expired`, `not-yet-valid`,
 *    `lifetime-too-long`, `request-mismatch`, `body-mismatch`, `bad-signature`);
 * 3. the recovered key is `identityOwner(signer)` at the chain head, or that owner is a contract (a
 *    `RecoveryAccount`) accepting the signature through ERC-1271 (`not-owner`, 403);
 * 4. the nonce was never used by this identity (`replayed`), and is recorded.
 *
 * @throws {ApiError} 401 with the reason code, 403 `not-owner`, 503 `chain-unavailable`.
 */
export async function authenticateNodeRequest(
  parameters: AuthenticateNodeRequestParameters,
): Promise<AuthenticateNodeRequestReturnType> {
  const { header, services, nonces } = parameters;
  if (header === undefined || header === '') {
    throw new ApiError({
      status: 401,
      code: 'missing-auth',
      detail: 'this route needs a signed Carekey-Auth header',
    });
  }
  if (Array.isArray(header)) {
    throw new ApiError({ status: 401, code: 'malformed', detail: 'send one Carekey-Auth header' });
  }
  const envelope = decodeAuthHeader(header);
  if (envelope === undefined) {
    throw new ApiError({ status: 401, code: 'malformed', detail: 'Carekey-Auth is not base64url JSON' });
  }
  let checked: Awaited<ReturnType<typeof checkNodeRequest>>;
  try {
    checked = await checkNodeRequest(
      envelope,
      { method: parameters.method, path: parameters.url, bodyHash: parameters.bodyHash },
      {
        domain: {
          chainId: services.chain.chainId,
          verifyingContract: services.chain.deployment.contracts.consentRegistry.address,
        },
        audience: services.audience,
        ...(parameters.now === undefined ? {} : { now: parameters.now }),
      },
    );
  } catch (error) {
    if (error instanceof SignedRequestError) {
      throw new ApiError({ status: 401, code: error.reason, detail: error.shortMessage });
    }
    throw error;
  }
  const { request, signer, signature } = checked;
  let accepted: boolean;
  try {
    const owner = await getIdentityOwner({
      client: services.chain.client,
      didRegistry: services.chain.deployment.contracts.didRegistry.address,
      identity: request.signer,
    });
    const domain = {
      chainId: services.chain.chainId,
      verifyingContract: services.chain.deployment.contracts.consentRegistry.address,
    };
    const hash = hashTypedData(toNodeRequestTypedData(domain, request));
    accepted = await verifyOwnerSignature({ client: services.chain.client, owner, signer, hash, signature });
  } catch (cause) {
    throw new ApiError({
      status: 503,
      code: 'chain-unavailable',
      detail: 'the node cannot read the chain right now; retry',
      cause,
    });
  }
  if (!accepted) {
    throw new ApiError({
      status: 403,
      code: 'not-owner',
      detail: 'the request is not signed by the current owner of the identity it names',
    });
  }
  const fresh = await nonces.use({
    signer: request.signer,
    nonce: request.nonce,
    expiresAt: request.expiresAt,
  });
  if (!fresh) {
    throw new ApiError({ status: 401, code: 'replayed', detail: 'this signed request was already used' });
  }
  return request.signer;
}
