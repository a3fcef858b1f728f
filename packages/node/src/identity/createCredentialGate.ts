import { toDid } from '@carekey/sdk/identity';
import { type Address, bytesToHex, getAddress, hexToBytes } from 'viem';
import type { ApiServices } from '../api/ApiServices.ts';
import { createNodeVerifier } from './nodeVerifier.ts';
import { recheckCredential } from './recheckCredential.ts';

/** A check of a grantee before a key release: the refusal reason, or `undefined` to release. */
export type GranteeCheck = (grantee: Address) => Promise<string | undefined>;

/**
 * The credential gate of key releases (issue 5: "the vault … verify credentials"): a grantee must hold a
 * credential it presented to this node (`POST /v1/credentials`) that still holds now — issuer in `TrustedIssuers`,
 * unexpired, status entry 0 in the issuer's latest list (`recheckCredential`, the check `GET /v1/credentials/{a}`
 * makes). Refusals: `no-credential`, `expired`, `untrusted-issuer`, `revoked`, `status-unavailable`…
 */
export function createCredentialGate(services: Pick<ApiServices, 'chain' | 'sql'>): GranteeCheck {
  const verifier = createNodeVerifier(services);
  return async (grantee) => {
    const { rows } = await services.sql.query<{
      issuer: Uint8Array;
      status_uri: string;
      status_idx: number;
      expires_at: number | bigint | string;
    }>('select issuer, status_uri, status_idx, expires_at from identity_presentations where identity = $1', [
      hexToBytes(grantee),
    ]);
    const row = rows[0];
    if (row === undefined) return 'no-credential';
    const issuer = getAddress(bytesToHex(row.issuer));
    return recheckCredential(verifier, {
      issuer,
      issuerDid: toDid({ address: issuer, chainId: services.chain.chainId }),
      statusUri: row.status_uri,
      statusIdx: row.status_idx,
      expiresAt: Number(row.expires_at),
    });
  };
}
