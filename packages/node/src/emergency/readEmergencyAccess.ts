import { EmergencyPolicy, emergencyAbi } from '@carekey/sdk/emergency';
import { toDid } from '@carekey/sdk/identity';
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, isAddressEqual } from 'viem';
import { readContract } from 'viem/actions';
import { ApiError } from '../api/ApiError.ts';
import type { ApiServices } from '../api/ApiServices.ts';
import { readChain } from '../api/readChain.ts';
import { createNodeVerifier } from '../identity/nodeVerifier.ts';
import { recheckCredential } from '../identity/recheckCredential.ts';
import { appendAccessLog } from '../vault/appendAccessLog.ts';
import { type EmergencyAccessResult, needEmergency, rewrapEmergencyStanzas } from './openEmergencyAccess.ts';

/**
 * Reads an open break-glass again (`GET /v1/emergency/access/{id}`): only its clinician, only before it expires,
 * only while the credential still holds and the patient's policy still allows it; the summary as it is now.
 * Logged like the opening (a `break_glass` row, allowed or denied).
 *
 * @throws {ApiError} 404 `unknown-access`, 403 `access-expired` / `credential-refused` / `policy-off`.
 */
export async function readEmergencyAccess(parameters: {
  services: ApiServices;
  accessId: Hex;
  clinician: Address;
}): Promise<EmergencyAccessResult> {
  const { services, accessId, clinician } = parameters;
  const emergency = needEmergency(services);
  const { rows } = await services.sql.query<{
    patient: Uint8Array;
    clinician: Uint8Array;
    scope: 'summary' | 'all';
    recipient: string;
    expires_at: Date;
    issuer: Uint8Array;
    status_uri: string;
    status_idx: number;
    credential_expires_at: string;
  }>(
    `select patient, clinician, scope, recipient, expires_at, issuer, status_uri, status_idx,
            credential_expires_at::text from emergency_accesses where access_id = $1`,
    [hexToBytes(accessId)],
  );
  const row = rows[0];
  if (row === undefined || !isAddressEqual(bytesToHex(row.clinician), clinician)) {
    throw new ApiError({
      status: 404,
      code: 'unknown-access',
      detail: 'no break-glass of yours has this id',
    });
  }
  const patient = getAddress(bytesToHex(row.patient));
  const refuse = async (code: string, detail: string): Promise<never> => {
    await appendAccessLog({
      tx: services.sql,
      patient,
      actor: clinician,
      action: 'break_glass',
      outcome: 'denied',
      reason: code,
    });
    throw new ApiError({ status: 403, code, detail });
  };
  if (new Date(row.expires_at).getTime() <= Date.now())
    await refuse('access-expired', 'this break-glass has expired');
  const issuer = getAddress(bytesToHex(row.issuer));
  const stale = await recheckCredential(createNodeVerifier(services), {
    issuer,
    issuerDid: toDid({ address: issuer, chainId: services.chain.chainId }),
    statusUri: row.status_uri,
    statusIdx: row.status_idx,
    expiresAt: Number(row.credential_expires_at),
  });
  if (stale !== undefined) await refuse('credential-refused', `the credential no longer holds: ${stale}`);
  const policy = await readChain(() =>
    readContract(services.chain.client, {
      abi: emergencyAbi,
      address: emergency.contract,
      functionName: 'policyOf',
      args: [patient],
    }),
  );
  if (policy === EmergencyPolicy.off || (row.scope === 'all' && policy !== EmergencyPolicy.all)) {
    await refuse('policy-off', 'the patient no longer allows this emergency access');
  }
  const records = await rewrapEmergencyStanzas(services, patient, row.scope, row.recipient);
  await appendAccessLog({
    tx: services.sql,
    patient,
    actor: clinician,
    action: 'break_glass',
    recordIds: records.map((r) => r.recordId),
    outcome: 'allowed',
    reason: 'emergency:reread',
  });
  return {
    accessId,
    patient,
    clinician,
    scope: row.scope,
    expiresAt: new Date(row.expires_at).toISOString(),
    records,
  };
}
