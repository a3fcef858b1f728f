import { sha256 } from '@noble/hashes/sha2.js';
import { base64urlnopad } from '@scure/base';
import type { DIDDocument, VerificationMethod } from 'did-resolver';
import { type Address, bytesToHex, getAddress, type Hex, isAddress } from 'viem';
import { publicKeyToAddress } from 'viem/accounts';
import { parseDid } from './did.ts';
import { verifyEs256k } from './es256k.ts';

/** Which verification relationship of the DID document a signature must come from (W3C DID core). */
export type DidRelationship = 'assertionMethod' | 'authentication';

/**
 * How a verifier finds the keys that sign for a `did:ethr` (docs/identity.md, "Who signs for a DID"): the
 * ERC-1056 owner for `#controller`, through ERC-1271 when that owner is a contract (a multisig, a
 * `RecoveryAccount`), and the DID document's other verification methods (veriKey/sigAuth delegates) by `kid`.
 */
export type DidKeyResolution = {
  /** The current owner of a DID (`identityOwner`). @throws CredentialError did-unresolvable */
  resolveOwner: (did: string) => Promise<Address>;
  /**
   * ERC-1271: whether the contract `account` accepts `signature` (65 bytes `r‖s‖v`) over `digest`; false for an
   * account without code. Absent: a DID owned by a contract cannot sign.
   */
  isValidContractSignature?: ((parameters: ContractSignatureCheck) => Promise<boolean>) | undefined;
  /**
   * The DID document (`ethr-did-resolver`), for a `kid` other than `#controller` (a delegate). Absent: only
   * `#controller` signs.
   */
  resolveDocument?: ((did: string) => Promise<DIDDocument>) | undefined;
};

/** An ERC-1271 question: does `account` accept `signature` over `digest`? */
export type ContractSignatureCheck = { account: Address; digest: Hex; signature: Hex };

export type VerifyDidJwsParameters = DidKeyResolution & {
  /** The DID the signature must speak for (`iss` of a credential or status list, `sub` for a key binding). */
  did: string;
  /** The JWS signing input (`<header>.<payload>`). */
  signingInput: string;
  /** The JWS signature (ES256K, base64url `r‖s`). */
  signature: string;
  /** The JWS header's `kid` (a DID URL of `did`); absent means `#controller`. */
  kid?: string | undefined;
  relationship: DidRelationship;
  /** `resolveOwner(did)`, when the caller already read it (saves a chain read). */
  owner?: Address | undefined;
};

const encoder = new TextEncoder();

/** The `kid` of a JWS (`<header>.<payload>`), if its header names one. */
export function jwsKid(signingInput: string): string | undefined {
  try {
    const header = JSON.parse(
      new TextDecoder().decode(base64urlnopad.decode(signingInput.split('.', 1)[0] ?? '')),
    ) as { kid?: unknown };
    return typeof header.kid === 'string' ? header.kid : undefined;
  } catch {
    return undefined;
  }
}

/** The address of a secp256k1 verification method (`blockchainAccountId` or `publicKeyHex`), if it has one. */
function methodAddress(method: VerificationMethod): Address | undefined {
  const account = method.blockchainAccountId?.split(':').at(-1);
  if (account !== undefined && isAddress(account, { strict: false }))
    return getAddress(account.toLowerCase());
  const hex = method.publicKeyHex;
  if (typeof hex === 'string' && /^(02|03|04)[0-9a-fA-F]+$/u.test(hex)) {
    try {
      return publicKeyToAddress(`0x${hex}` as Hex);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * Whether an ES256K JWS was signed for `did` by a key its DID document lists under `relationship`:
 * - `kid` absent or `<did>#controller`: the ERC-1056 owner's key, or — when the owner is a contract (a multisig,
 *   the identity's `RecoveryAccount`) — a signature that contract accepts through ERC-1271 `isValidSignature`
 *   over `sha256(signingInput)` (the digest ES256K signs), so a rotated or recovered identity signs as before;
 * - any other `kid` of the same DID (`#delegate-N`): that verification method of the resolved document
 *   (`ethr-did-resolver`: an unexpired veriKey/sigAuth delegate or a published secp256k1 key), referenced from
 *   `relationship` (`assertionMethod` for issuer signatures and status lists, `authentication` for key bindings).
 * A `kid` of another DID never verifies.
 */
export async function verifyDidJws(parameters: VerifyDidJwsParameters): Promise<boolean> {
  const { signingInput, signature, relationship } = parameters;
  const did = parseDid(parameters.did).did;
  const kid = parameters.kid ?? `${did}#controller`;
  const hash = kid.indexOf('#');
  if (hash < 0) return false;
  let kidDid: string;
  try {
    kidDid = parseDid(kid.slice(0, hash)).did;
  } catch {
    return false;
  }
  if (kidDid !== did) return false;
  const fragment = kid.slice(hash + 1);
  if (fragment === 'controller') {
    const owner = parameters.owner ?? (await parameters.resolveOwner(did));
    if (verifyEs256k(signingInput, signature, owner)) return true;
    if (parameters.isValidContractSignature === undefined) return false;
    let compact: Uint8Array;
    try {
      compact = base64urlnopad.decode(signature);
    } catch {
      return false;
    }
    if (compact.length !== 64) return false;
    const digest = bytesToHex(sha256(encoder.encode(signingInput)));
    for (const v of [27, 28]) {
      const full = new Uint8Array(65);
      full.set(compact);
      full[64] = v;
      if (await parameters.isValidContractSignature({ account: owner, digest, signature: bytesToHex(full) }))
        return true;
    }
    return false;
  }
  if (parameters.resolveDocument === undefined) return false;
  const document = await parameters.resolveDocument(did);
  const referenced = (document[relationship] ?? []).some(
    (entry) => (typeof entry === 'string' ? entry : entry.id) === `${did}#${fragment}`,
  );
  if (!referenced) return false;
  const method = (document.verificationMethod ?? []).find((m) => m.id === `${did}#${fragment}`);
  const address = method === undefined ? undefined : methodAddress(method);
  return address !== undefined && verifyEs256k(signingInput, signature, address);
}

/**
 * The `kid` under which `key` signs for `did` (`relationship`): `#controller` when `key` is the DID's owner or
 * the key an ERC-1271 owner accepts (`actingKey`, e.g. a `RecoveryAccount`'s controller), otherwise the first
 * verification method of the document whose address is `key` (a delegate). Undefined: this key cannot sign for it.
 */
export function signingKidFor(parameters: {
  did: string;
  key: Address;
  /** The key acting through the owner: the owner itself, or the controller of its `RecoveryAccount`. */
  actingKey: Address;
  document?: DIDDocument | undefined;
  relationship: DidRelationship;
}): string | undefined {
  const did = parseDid(parameters.did).did;
  const key = getAddress(parameters.key);
  if (getAddress(parameters.actingKey) === key) return `${did}#controller`;
  const document = parameters.document;
  if (document === undefined) return undefined;
  const refs = new Set(
    (document[parameters.relationship] ?? []).map((entry) => (typeof entry === 'string' ? entry : entry.id)),
  );
  const method = (document.verificationMethod ?? []).find(
    (m) => refs.has(m.id) && m.id !== `${did}#controller` && methodAddress(m) === key,
  );
  return method?.id;
}
