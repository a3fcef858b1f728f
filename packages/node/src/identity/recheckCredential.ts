import { CredentialError, STATUS_VALID, verifyStatusList } from '@carekey/sdk/identity';
import type { Address } from 'viem';
import type { NodeVerifier } from './nodeVerifier.ts';

export type StoredPresentation = {
  issuer: Address;
  issuerDid: string;
  statusUri: string;
  statusIdx: number;
  expiresAt: number;
};

/**
 * Re-checks a stored, once-verified presentation now: the issuer still trusted, the credential unexpired and its
 * status entry still 0 in the issuer's latest list. Returns the refusal reason, or `undefined` if it still holds.
 * `verifyList` checks the list (default `verifyStatusList`; the key-release gate passes a memo of it).
 */
export async function recheckCredential(
  verifier: NodeVerifier,
  stored: StoredPresentation,
  now = Math.floor(Date.now() / 1000),
  verifyList: typeof verifyStatusList = verifyStatusList,
): Promise<string | undefined> {
  try {
    if (stored.expiresAt <= now) return 'expired';
    if (!(await verifier.isTrustedIssuer(stored.issuer))) return 'untrusted-issuer';
    const owner = await verifier.resolveOwner(stored.issuerDid);
    const jwt = await verifier.fetchStatusList(stored.statusUri);
    const list = await verifyList({
      ...verifier,
      jwt,
      owner,
      uri: stored.statusUri,
      issuer: stored.issuerDid,
    });
    return list.statuses.getStatus(stored.statusIdx) === STATUS_VALID ? undefined : 'revoked';
  } catch (error) {
    if (error instanceof CredentialError) return error.reason;
    throw error;
  }
}
