/** `@carekey/sdk/protocol`: signed requests between clients and a Carekey node. See docs/protocol.md. */

export {
  getRecoverPublicKey,
  nobleRecoverPublicKey,
  type RecoverPublicKey,
  setRecoverPublicKey,
} from './recoverPublicKey.ts';
export {
  type CheckSignedRequestParameters,
  checkKeyRequest,
  checkNodeRequest,
  type KeyRequest,
  keyRequestEnvelope,
  keyRequestTypes,
  MAX_CLOCK_SKEW,
  MAX_KEY_REQUEST_RECORDS,
  MAX_REQUEST_LIFETIME,
  NODE_DOMAIN_NAME,
  NODE_DOMAIN_VERSION,
  type NodeDomain,
  type NodeRequest,
  nodeDomain,
  nodeRequestEnvelope,
  nodeRequestTypes,
  type SignedEnvelope,
  toKeyRequestTypedData,
  toNodeRequestTypedData,
} from './signedRequest.ts';
export {
  AUTH_HEADER,
  bodyHash,
  decodeAuthHeader,
  EMPTY_BODY_HASH,
  encodeAuthHeader,
  type SignKeyRequestParameters,
  type SignNodeRequestParameters,
  signKeyRequest,
  signNodeRequest,
} from './signRequest.ts';
