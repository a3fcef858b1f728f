import { verifyOwnerSignature } from '@carekey/sdk/chain';
import {
  createDidResolver,
  createIdentityClient,
  type DidKeyResolution,
  type IdentityClient,
  isTrustedIssuer,
  resolveDid,
  type VerifiedIdentity,
} from '@carekey/sdk/identity';
import { type Address, createPublicClient, http } from 'viem';
import { CliError } from '../io/CliError.ts';
import { nodeUrl } from './openSession.ts';

/** The verifier side of the CLI: DIDs resolved with ethr-did-resolver, trust read on chain, status from the node. */
export type CredentialTrust = DidKeyResolution & {
  identity: IdentityClient;
  chainId: number;
  resolver: ReturnType<typeof createDidResolver>;
  resolveOwner: (did: string) => Promise<Address>;
  isTrustedIssuer: (issuer: Address) => Promise<boolean>;
  fetchStatusList: (uri: string) => Promise<string>;
};

/**
 * Connects to the Carekey chain the node at `CAREKEY_NODE` names (`GET /v1/identity/resolver`): its RPC URL, or
 * `CAREKEY_RPC_URL` when the node publishes none.
 *
 * @throws {CliError} neither gives an RPC URL.
 */
export async function openCredentialTrust(env: NodeJS.ProcessEnv = process.env): Promise<CredentialTrust> {
  const identity = createIdentityClient({ url: nodeUrl(env) });
  const config = await identity.resolverConfig();
  const rpcUrl = env.CAREKEY_RPC_URL || config.rpcUrl;
  if (!rpcUrl) {
    throw new CliError('this node does not publish a chain RPC endpoint', {
      hint: 'set CAREKEY_RPC_URL to a JSON-RPC endpoint of the Carekey chain',
    });
  }
  const resolver = createDidResolver({ chainId: config.chainId, rpcUrl, didRegistry: config.didRegistry });
  const client = createPublicClient({ transport: http(rpcUrl) });
  return {
    identity,
    chainId: config.chainId,
    resolver,
    resolveOwner: async (did) => (await resolveDid({ resolver, did })).owner,
    resolveDocument: async (did) => (await resolveDid({ resolver, did })).document,
    isValidContractSignature: ({ account, digest, signature }) =>
      verifyOwnerSignature({ client, owner: account, signer: undefined, hash: digest, signature }),
    isTrustedIssuer: (issuer) => isTrustedIssuer({ client, trustedIssuers: config.trustedIssuers, issuer }),
    fetchStatusList: (uri) => identity.fetchStatusList(uri),
  };
}

/** One line saying who an identity verifiably is, or a plain warning that it is unverified. */
export function describeIdentity(found: VerifiedIdentity | undefined): string {
  if (found === undefined)
    return 'UNVERIFIED: this identity has presented no credential; make sure you know who it is';
  const { role, specialty, organisation, licence } = found.claims;
  const what = [
    role === undefined ? 'clinician' : `licensed ${role}`,
    specialty,
    organisation,
    licence && `licence ${licence}`,
  ]
    .filter((part) => part !== undefined && part !== '')
    .join(', ');
  if (!found.verified) {
    return `UNVERIFIED: the credential (${what}) no longer holds: ${found.reason ?? 'unknown reason'}`;
  }
  return `${what} — verified by ${found.issuerName}`;
}

/** The grantee's identity line for `share` and `requests` (never fails the command: a node error reads unverified). */
export async function identityLine(address: Address, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    return describeIdentity(await createIdentityClient({ url: nodeUrl(env) }).getCredential(address));
  } catch {
    return 'UNVERIFIED: the node could not check this identity right now';
  }
}
