import { consentRegistryAbi } from '@carekey/sdk/chain';
import { type Address, bytesToHex, decodeFunctionData, getAddress, type Hex, hexToBytes } from 'viem';
import { purposeCode } from '../indexer/applyEvent.ts';
import type { Vault } from './Vault.ts';

export type ListAccessRequestsParameters = { vault: Vault; identity: Address };

/** An access request as the patient (or the requester) sees it. */
export type ListedAccessRequest = {
  /** The chain's request id; `undefined` while the request waits in the outbox. */
  requestId: Hex | undefined;
  /** EIP-712 digest of the signed request, when this node relayed it. */
  requestDigest: Hex | undefined;
  role: 'patient' | 'requester';
  patient: Address;
  requester: Address;
  scope: 'all' | 'categories' | 'records';
  scopeData: Hex[];
  /** HL7 PurposeOfUse code, e.g. `TREAT`. */
  purpose: string;
  /** Chain time asked for (unix seconds). */
  expiresAt: bigint | undefined;
  /**
   * `queued` (in this node's outbox, or mined and not indexed yet), `failed` (the chain refused it), `pending`, `approved`, `denied`, or `expired`
   * (pending past its expiry, by chain time).
   */
  status: 'queued' | 'failed' | 'pending' | 'approved' | 'denied' | 'expired';
  /** The grant that approved it. */
  grantId: Hex | undefined;
  /** The requester's note, encrypted to the patient (an age file). */
  sealed: Uint8Array | undefined;
};

export type ListAccessRequestsReturnType = { block: bigint; requests: ListedAccessRequest[] };

const SCOPES: readonly ListedAccessRequest['scope'][] = ['all', 'categories', 'records'];

/** Most requests answered per call (newest first). */
export const MAX_LISTED_REQUESTS = 500;

/**
 * Access requests addressed to `identity` (as patient) or filed by it (as requester): the chain's, as indexed
 * (`access_requests`), with the sealed note this node was given for each, and the ones still in the outbox.
 * A pending request past its expiry (chain time) is `expired`.
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function listAccessRequests(
  parameters: ListAccessRequestsParameters,
): Promise<ListAccessRequestsReturnType> {
  const { vault, identity } = parameters;
  const me = hexToBytes(identity);
  const head = await vault.chain.head();
  const { rows } = await vault.sql.query<{
    request_id: Uint8Array;
    patient: Uint8Array;
    requester: Uint8Array;
    scope_kind: ListedAccessRequest['scope'];
    scope_data: Uint8Array[];
    purpose: string;
    expires_at: bigint;
    status: 'pending' | 'approved' | 'denied';
    grant_id: Uint8Array | null;
    request_digest: Uint8Array | null;
    sealed: Uint8Array | null;
  }>(
    `select a.request_id, a.patient, a.requester, a.scope_kind, a.scope_data, a.purpose, a.expires_at, a.status,
            a.grant_id, s.request_digest, s.sealed
       from access_requests a
       left join lateral (
         select s.request_digest, s.sealed
           from chain_events e
           join outbox o on o.tx_hash = e.tx_hash
           join access_request_submissions s on o.idempotency_key = '0x' || encode(s.request_digest, 'hex')
          where e.name = 'AccessRequested' and lower(e.args->>'requestId') = '0x' || encode(a.request_id, 'hex')
          limit 1
       ) s on true
      where a.patient = $1 or a.requester = $1
      order by a.requested_block desc
      limit ${MAX_LISTED_REQUESTS}`,
    [me],
  );
  const requests: ListedAccessRequest[] = rows.map((r) => ({
    requestId: bytesToHex(r.request_id),
    requestDigest: r.request_digest === null ? undefined : bytesToHex(r.request_digest),
    role: bytesToHex(r.patient) === identity.toLowerCase() ? 'patient' : 'requester',
    patient: getAddress(bytesToHex(r.patient)),
    requester: getAddress(bytesToHex(r.requester)),
    scope: r.scope_kind,
    scopeData: r.scope_data.map((d) => bytesToHex(d)),
    purpose: r.purpose,
    expiresAt: BigInt(r.expires_at),
    status: r.status === 'pending' && head.timestamp >= BigInt(r.expires_at) ? 'expired' : r.status,
    grantId: r.grant_id === null ? undefined : bytesToHex(r.grant_id),
    sealed: r.sealed ?? undefined,
  }));
  // Relayed here but not indexed yet (in the outbox, mined but its AccessRequested not indexed, or refused): the
  // requester sees them; so does the patient, marked. The outbox and the indexer are two loops: a request the
  // outbox marks confirmed is listed above only once indexed, and one indexed is listed there only (not twice).
  const { rows: queued } = await vault.sql.query<{
    request_digest: Uint8Array;
    patient: Uint8Array;
    requester: Uint8Array;
    sealed: Uint8Array | null;
    status: string;
    data: Hex;
  }>(
    `select s.request_digest, s.patient, s.requester, s.sealed, o.status, o.payload->>'data' as data
       from access_request_submissions s
       join outbox o on o.idempotency_key = '0x' || encode(s.request_digest, 'hex')
      where (s.patient = $1 or s.requester = $1)
        and (o.tx_hash is null or not exists (
          select 1 from chain_events e where e.tx_hash = o.tx_hash and e.name = 'AccessRequested'))
      order by s.created_at desc
      limit ${MAX_LISTED_REQUESTS}`,
    [me],
  );
  for (const q of queued) {
    const call = decodeFunctionData({ abi: consentRegistryAbi, data: q.data });
    if (call.functionName !== 'requestAccessSigned') continue;
    const [, , scopeKind, scopeData, purpose, expiresAt] = call.args;
    requests.push({
      requestId: undefined,
      requestDigest: bytesToHex(q.request_digest),
      role: bytesToHex(q.patient) === identity.toLowerCase() ? 'patient' : 'requester',
      patient: getAddress(bytesToHex(q.patient)),
      requester: getAddress(bytesToHex(q.requester)),
      scope: SCOPES[scopeKind] ?? 'all',
      scopeData: [...scopeData],
      purpose: purposeCode(purpose),
      expiresAt,
      status: q.status === 'failed' ? 'failed' : 'queued',
      grantId: undefined,
      sealed: q.sealed ?? undefined,
    });
  }
  return { block: head.number, requests };
}
