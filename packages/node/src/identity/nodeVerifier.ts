import { getIdentityOwner, verifyOwnerSignature } from '@carekey/sdk/chain';
import { VaultChainUnavailableError } from '@carekey/sdk/errors';
import {
  type ContractSignatureCheck,
  CredentialError,
  createDidResolver,
  type DidResolver,
  isTrustedIssuer,
  parseDid,
  type ResolveDidReturnType,
  resolveDid,
  trustedIssuersAbi,
} from '@carekey/sdk/identity';
import { type Address, isAddressEqual, zeroAddress } from 'viem';
import { readContract } from 'viem/actions';
import type { ApiServices } from '../api/ApiServices.ts';
import { readChain } from '../api/readChain.ts';
import type { SqlExecutor } from '../db/Sql.ts';
import type { CachedVaultChain } from '../vault/cacheVaultChain.ts';
import type { ChainHead, VaultChain } from '../vault/VaultChain.ts';
import { parseStatusListUri, readStatusList } from './statusListStore.ts';

/** The chain and store reads a node verifies presentations with. */
export type NodeVerifier = {
  resolveOwner: (did: string) => Promise<Address>;
  /** ERC-1271 at the head (an issuer or clinician whose DID owner is a contract: a multisig, a RecoveryAccount). */
  isValidContractSignature: (check: ContractSignatureCheck) => Promise<boolean>;
  /** The DID document through ethr-did-resolver (only for a signature by a delegate: it scans the DID's logs). */
  resolveDocument: (did: string) => Promise<ResolveDidReturnType['document']>;
  isTrustedIssuer: (issuer: Address) => Promise<boolean>;
  fetchStatusList: (uri: string) => Promise<string>;
};

/**
 * What the node checks credentials against: DIDs of this chain only, their owner read from the ERC-1056 registry
 * at the head (what `ethr-did-resolver` reports as `#controller`; a zero owner is a deactivated DID), ERC-1271
 * when that owner is a contract, the document from `ethr-did-resolver` for delegate keys,
 * `TrustedIssuers.isTrusted` at the head, and status lists from its own store — it never fetches a URL a
 * credential names (T-21).
 *
 * With `at`, the owner and trust are read at that head instead, once per block through the vault's cached chain
 * (`cacheVaultChain`): the key-release gate decides at the release's own head (one consistent view, T-4). With
 * `at.sql` (a release's transaction), status lists are read through it.
 */
/**
 * A verifier for one request that decides at the head read after it arrived, through the vault's per-block cache
 * when the node has one (docs/vault.md "Cached per block": T-4, a trust removal or owner change mined before the
 * request is seen; T-24, one read per block for all requests), as the release path's credential gate does.
 *
 * @throws {ApiError} 503 `chain-unavailable` when the head cannot be read.
 */
export async function createHeadVerifier(
  services: Pick<ApiServices, 'chain' | 'sql'> & { vault: { chain: VaultChain } },
): Promise<NodeVerifier> {
  const chain = services.vault.chain;
  if (!isCachedVaultChain(chain)) return createNodeVerifier(services);
  const head: ChainHead = await readChain(() => chain.head());
  return createNodeVerifier(services, { head, chain });
}

function isCachedVaultChain(chain: VaultChain): chain is CachedVaultChain {
  return typeof (chain as Partial<CachedVaultChain>).atHead === 'function';
}

export function createNodeVerifier(
  services: Pick<ApiServices, 'chain' | 'sql'>,
  options?:
    | { head: ChainHead; chain: CachedVaultChain; sql?: SqlExecutor | undefined }
    | { head?: undefined; chain?: undefined; sql: SqlExecutor }
    | undefined,
): NodeVerifier {
  const at = options?.head !== undefined ? options : undefined;
  const sql = options?.sql ?? services.sql;
  const { client, deployment, chainId } = services.chain;
  let resolver: DidResolver | undefined;
  const trustedIssuers = deployment.contracts.trustedIssuers.address;
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
        owner =
          at === undefined
            ? await getIdentityOwner({
                client,
                didRegistry: deployment.contracts.didRegistry.address,
                identity: parsed.address,
              })
            : await at.chain.identityOwner(parsed.address, at.head.number);
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
    isValidContractSignature: async ({ account, digest, signature }) => {
      try {
        return await verifyOwnerSignature({
          client,
          owner: account,
          signer: undefined,
          hash: digest,
          signature,
        });
      } catch (cause) {
        throw new CredentialError('did-unresolvable', 'the chain did not answer an ERC-1271 check', {
          cause,
        });
      }
    },
    resolveDocument: async (did) => {
      const rpcUrl = (client.transport as { url?: unknown }).url;
      if (typeof rpcUrl !== 'string') {
        throw new CredentialError('did-unresolvable', 'this node cannot resolve DID documents');
      }
      resolver ??= createDidResolver({
        chainId,
        rpcUrl,
        didRegistry: deployment.contracts.didRegistry.address,
      });
      return (await resolveDid({ resolver, did })).document;
    },
    isTrustedIssuer: (issuer) =>
      at === undefined
        ? isTrustedIssuer({ client, trustedIssuers, issuer })
        : at.chain.atHead(at.head, `isTrusted:${issuer.toLowerCase()}`, async () => {
            try {
              return await readContract(client, {
                abi: trustedIssuersAbi,
                address: trustedIssuers,
                functionName: 'isTrusted',
                args: [issuer],
                blockNumber: at.head.number,
              });
            } catch (cause) {
              throw new VaultChainUnavailableError({ cause });
            }
          }),
    fetchStatusList: async (uri) => {
      const where = parseStatusListUri(uri);
      if (where === undefined) {
        throw new CredentialError('status-unavailable', 'the status list is not one a Carekey node serves');
      }
      const stored = await readStatusList(sql, where.issuer, where.listId);
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
