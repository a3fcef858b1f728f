/**
 * `@carekey/sdk/identity`: DIDs (`ethr-did-resolver` on the Carekey chain), provider credentials as SD-JWT VCs
 * (`@sd-jwt/sd-jwt-vc`) key-bound to the clinician's DID, IETF Token Status Lists, and the on-chain
 * `TrustedIssuers` list. Isomorphic (noble for ES256K, no Node built-ins). See docs/identity.md.
 */
export { trustedIssuersAbi, trustedIssuersBytecode } from '../chain/abi/index.ts';
export { IdentityRefError, type IdentityRefRefusal } from '../errors/identity.ts';
export { CredentialError, type CredentialRefusal } from './CredentialError.ts';
export {
  createIdentityClient,
  type IdentityClient,
  type IssuerStanding,
  type VerifiedIdentity,
} from './createIdentityClient.ts';
export { type ParsedDid, parseDid, toDid } from './did.ts';
export { es256kSigner, verifyEs256k } from './es256k.ts';
export { type IssueCredentialParameters, issueCredential } from './issueCredential.ts';
export { type ParseIdentityRefParameters, parseIdentityRef } from './parseIdentityRef.ts';
export { type PresentCredentialParameters, presentCredential } from './presentCredential.ts';
export {
  type CreateDidResolverParameters,
  createDidResolver,
  type DidResolver,
  type ResolveDidReturnType,
  resolveDid,
} from './resolveDid.ts';
export { CLINICIAN_CLAIMS, CLINICIAN_VCT, type ClinicianClaim } from './sdJwt.ts';
export {
  type CheckedStatusList,
  checkStatusList,
  type SignStatusListParameters,
  STATUS_LIST_MEDIA_TYPE,
  STATUS_REVOKED,
  STATUS_VALID,
  signStatusList,
  verifyStatusList,
} from './statusList.ts';
export {
  type ApprovalMessage,
  IssuerAction,
  isTrustedIssuer,
  readApprovalContext,
  toApprovalTypedData,
} from './trustedIssuers.ts';
export {
  type ContractSignatureCheck,
  type DidKeyResolution,
  type DidRelationship,
  jwsKid,
  signingKidFor,
  type VerifyDidJwsParameters,
  verifyDidJws,
} from './verifyDidJws.ts';
export {
  type VerifiedCredential,
  type VerifyPresentationParameters,
  verifyPresentation,
} from './verifyPresentation.ts';
