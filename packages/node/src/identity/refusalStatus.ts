import type { CredentialRefusal } from '@carekey/sdk/identity';

/** HTTP status of each credential refusal: 400 bad form, 401 bad proof of possession, 403 not acceptable, 422 status unknown. */
export const REFUSAL_STATUS: Record<CredentialRefusal, number> = {
  malformed: 400,
  'unsupported-alg': 400,
  'tampered-disclosure': 400,
  'did-unresolvable': 400,
  'missing-key-binding': 401,
  'bad-key-binding': 401,
  'wrong-audience': 401,
  'wrong-nonce': 401,
  'stale-presentation': 401,
  'untrusted-issuer': 403,
  'bad-signature': 403,
  expired: 403,
  'not-yet-valid': 403,
  revoked: 403,
  'status-unavailable': 422,
};
