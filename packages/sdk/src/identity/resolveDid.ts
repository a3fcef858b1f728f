import { type DIDDocument, type DIDResolutionResult, Resolver } from 'did-resolver';
import { getResolver } from 'ethr-did-resolver';
import { type Address, getAddress } from 'viem';
import { CredentialError } from './CredentialError.ts';
import { parseDid } from './did.ts';

export type CreateDidResolverParameters = {
  /** EIP-155 chain id of the Carekey chain (`GET /v1/node`). */
  chainId: number;
  /** JSON-RPC endpoint of that chain. */
  rpcUrl: string;
  /** The ERC-1056 registry deployed there (`contracts.didRegistry`). */
  didRegistry: Address;
};

/** A `did-resolver` `Resolver` for `did:ethr` on one Carekey chain. */
export type DidResolver = Resolver;

/**
 * A `did:ethr` resolver (`ethr-did-resolver` over `did-resolver`) for the Carekey chain: the network is named by
 * its hex chain id, as in Carekey DIDs (`did:ethr:0x7a69:0x…`).
 *
 * @example
 * const resolver = createDidResolver({ chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', didRegistry });
 */
export function createDidResolver(parameters: CreateDidResolverParameters): DidResolver {
  const { chainId, rpcUrl, didRegistry } = parameters;
  return new Resolver(
    getResolver({
      networks: [{ name: `0x${chainId.toString(16)}`, chainId, rpcUrl, registry: didRegistry }],
    }),
  );
}

/** What {@link resolveDid} returns: the document and its current controller (the `identityOwner`). */
export type ResolveDidReturnType = {
  did: string;
  document: DIDDocument;
  /** The address whose key signs for the DID now (`#controller`'s `blockchainAccountId`). */
  owner: Address;
  /** The X25519 key agreement keys (base64), newest last. */
  keyAgreement: { id: string; publicKeyBase64: string }[];
  metadata: DIDResolutionResult['didDocumentMetadata'];
};

/**
 * Resolves a `did:ethr` DID to its document, controller and X25519 key agreement keys.
 *
 * @throws {CredentialError} `did-unresolvable`: malformed, another chain, deactivated, or the chain did not answer.
 */
export async function resolveDid(parameters: {
  resolver: DidResolver;
  did: string;
}): Promise<ResolveDidReturnType> {
  const { did } = parseDid(parameters.did);
  let result: DIDResolutionResult;
  try {
    result = await parameters.resolver.resolve(did);
  } catch (cause) {
    throw new CredentialError('did-unresolvable', `${did} did not resolve: the chain did not answer`, {
      cause,
    });
  }
  const error = result.didResolutionMetadata.error;
  if (error !== undefined || result.didDocument === null) {
    throw new CredentialError('did-unresolvable', `${did} did not resolve (${error ?? 'no document'})`, {
      hint: 'is the DID on this Carekey chain?',
    });
  }
  if (result.didDocumentMetadata.deactivated === true) {
    throw new CredentialError('did-unresolvable', `${did} is deactivated (its owner is the zero address)`);
  }
  const document = result.didDocument;
  const controller = document.verificationMethod?.find((m) => m.id === `${did}#controller`);
  const account = controller?.blockchainAccountId?.split(':').at(-1);
  if (account === undefined) {
    throw new CredentialError('did-unresolvable', `${did} has no controller key in its document`);
  }
  const keyAgreement = (document.verificationMethod ?? [])
    .filter((m) => m.type === 'X25519KeyAgreementKey2019' && typeof m.publicKeyBase64 === 'string')
    .map((m) => ({ id: m.id, publicKeyBase64: m.publicKeyBase64 as string }));
  return {
    did,
    document,
    owner: getAddress(account.toLowerCase()),
    keyAgreement,
    metadata: result.didDocumentMetadata,
  };
}
