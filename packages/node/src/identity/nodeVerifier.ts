import { getIdentityOwner } from '@carekey/sdk/chain';
import { CredentialError, isTrustedIssuer, parseDid } from '@carekey/sdk/identity';
import { type Address, isAddressEqual, zeroAddress } from 'viem';
import type { ApiServices } from '../api/ApiServices.ts';
import { parseStatusListUri, readStatusList } from './statusListStore.ts';

/** The chain and store reads a node verifies presentations with. */
export type NodeVerifier = {
  resolveOwner: (did: string) => Promise<Address>;
  isTrustedIssuer: (issuer: Address) => Promise<boolean>;
  fetchStatusList: (uri: string) => Promise<string>;
};

/**
 * What the node checks credentials against: DIDs of this chain only, their owner read from the ERC-1056 registry
 * at the head (what `ethr-did-resolver` reports as `#controller`; a zero owner is a deactivated DID),
 * `TrustedIssuers.isTrusted` at the head, and status lists from its own store — it never fetches a URL a
 * credential names (T-21).
 */
export function createNodeVerifier(services: Pick<ApiServices, 'chain' | 'sql'>): NodeVerifier {
  const { client, deployment, chainId } = services.chain;
  return {
    resolveOwner: async (did) => {
      const parsed = parseDid(did);
      if (parsed.chainId !== chainId) {
        throw new CredentialError(
          'did-unresolvable',
          `${parsed.did} is on chain ${parsed.chainId}, not this node's ${chainId}`,
        );
      }
      let owner: Address;
      try {
        owner = await getIdentityOwner({
          client,
          didRegistry: deployment.contracts.didRegistry.address,
          identity: parsed.address,
        });
      } catch (cause) {
        throw new CredentialError(
          'did-unresolvable',
          `${parsed.did} did not resolve: the chain did not answer`,
          { cause },
        );
      }
      if (isAddressEqual(owner, zeroAddress))
        throw new CredentialError('did-unresolvable', `${parsed.did} is deactivated`);
      return owner;
    },
    isTrustedIssuer: (issuer) =>
      isTrustedIssuer({ client, trustedIssuers: deployment.contracts.trustedIssuers.address, issuer }),
    fetchStatusList: async (uri) => {
      const where = parseStatusListUri(uri);
      if (where === undefined) {
        throw new CredentialError('status-unavailable', 'the status list is not one a Carekey node serves');
      }
      const stored = await readStatusList(services.sql, where.issuer, where.listId);
      if (stored === undefined) {
        throw new CredentialError(
          'status-unavailable',
          'the issuer has not published this status list to this node',
          {
            hint: 'the issuer publishes it with `carekey credential issue` / `credential revoke`',
          },
        );
      }
      return stored.jwt;
    },
  };
}
