import {
  buildRecordIdTree,
  purposeOfUse,
  ScopeKind,
  ShredAction,
  signAccessRequestForRelay,
  signDenyForRelay,
  signGrantForRelay,
  signRevokeForRelay,
  toShredTypedData,
} from '@carekey/sdk/chain';
import type { GrantRow } from '@carekey/sdk/client';
import { decodeStanza, encodeStanza, unwrapFileKey, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import { categoryTag, recordCategory, sessionCategoryKey } from '@carekey/sdk/fhir';
import { parseIdentityRef } from '@carekey/sdk/identity';
import { getAddress, type Hex, hexToString, isAddressEqual, isHex } from 'viem';
import { PortalError } from './errors.ts';
import type { RecoveryEvent } from './notificationWords.ts';
import { loadCache, type PortalRecord, saveCache } from './records.ts';
import { type Session, signatureContext } from './session.ts';

export type ShareScope =
  | { kind: 'all' }
  | { kind: 'categories'; categories: string[] }
  | { kind: 'records'; recordIds: Hex[] };

export type ShareParameters = {
  records: readonly PortalRecord[];
  /** The recipient: an address or `did:ethr:…`. */
  with: string;
  scope: ShareScope;
  /** HL7 PurposeOfUse code, e.g. TREAT. */
  purpose: string;
  /** Lifetime in seconds (finite, > 0). */
  lifetimeSeconds: number;
  requestId?: Hex;
};

export type ShareResult = { grantee: Hex; grantDigest: Hex; recordCount: number; expiresAt: Date };

/** The records a scope covers (active ones only). */
export function recordsInScope(records: readonly PortalRecord[], scope: ShareScope): PortalRecord[] {
  const active = records.filter((r) => r.state === 'active' && r.stanza !== undefined);
  if (scope.kind === 'all') return active;
  if (scope.kind === 'categories') {
    const wanted = new Set(scope.categories);
    return active.filter((r) => r.resource !== undefined && wanted.has(categoryOf(r.resource)));
  }
  const ids = new Set(scope.recordIds.map((id) => id.toLowerCase()));
  return active.filter((r) => ids.has(r.recordId.toLowerCase()));
}

/** `resourceType` or `resourceType|first category code` (the SDK's `recordCategory`). */
export function categoryOf(resource: { resourceType: string; [key: string]: unknown }): string {
  return recordCategory(resource as never);
}

/**
 * Shares records (docs/protocol.md flow 2, as `carekey share`): unwraps my file keys, wraps each to the grantee's
 * X25519 key from its DID, signs the `Grant` and `POST /v1/grants` with the grantee's stanzas.
 */
export async function share(session: Session, parameters: ShareParameters): Promise<ShareResult> {
  const { node, keys } = session;
  const description = await node.describe();
  const grantee = parseIdentityRef(parameters.with, { chainId: description.chainId });
  if (isAddressEqual(grantee, session.identity)) throw new PortalError('You cannot share with yourself.');
  if (!Number.isFinite(parameters.lifetimeSeconds) || parameters.lifetimeSeconds <= 0) {
    throw new PortalError('A share needs a finite expiry.');
  }
  if (parameters.purpose.trim() === '') throw new PortalError('A share needs a purpose.');
  const purpose = purposeOfUse(parameters.purpose.trim().toUpperCase());
  const chosen = recordsInScope(parameters.records, parameters.scope);
  if (chosen.length === 0)
    throw new PortalError('Nothing to share: pick at least one record or category that has records.');
  const recipient = (await node.getDid(grantee)).recipient;
  const to = new X25519Recipient(recipient);
  const stanzas: { recordId: Hex; stanza: string }[] = [];
  for (const record of chosen) {
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(record.stanza as string)],
      identities: [keys.identity],
    });
    stanzas.push({
      recordId: record.recordId,
      stanza: encodeStanza(await wrapFileKey({ fileKey, recipient: to })),
    });
    fileKey.fill(0);
  }
  const scopeKind =
    parameters.scope.kind === 'all'
      ? ScopeKind.All
      : parameters.scope.kind === 'categories'
        ? ScopeKind.Categories
        : ScopeKind.Records;
  const recordIds = chosen.map((r) => r.recordId);
  let scopeData: Hex[] = [];
  if (parameters.scope.kind === 'categories') {
    const tagKey = await sessionCategoryKey(session);
    const categories = [
      ...new Set(chosen.map((r) => categoryOf(r.resource as PortalRecord['resource'] & object))),
    ].sort();
    scopeData = categories.map((category) => categoryTag({ patientSalt: tagKey, category }));
  } else if (parameters.scope.kind === 'records') {
    scopeData = [buildRecordIdTree(recordIds).root];
  }
  const context = await signatureContext(session, 'ConsentRegistry');
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + Math.round(parameters.lifetimeSeconds));
  const signed = await signGrantForRelay({
    account: session.account,
    chainId: description.chainId,
    verifyingContract: description.contracts.consentRegistry,
    nonce: context.nonce,
    deadline: context.deadline,
    grant: {
      patient: session.identity,
      grantee,
      scopeKind,
      scopeData,
      purpose,
      expiresAt,
      requestId: parameters.requestId,
    },
  });
  const answer = await node.createGrant({
    grant: signed.body,
    recipient,
    ...(parameters.scope.kind === 'records' ? { scopeRecordIds: recordIds } : {}),
    stanzas,
  });
  await context.commit();
  return {
    grantee,
    grantDigest: answer.grantDigest,
    recordCount: stanzas.length,
    expiresAt: new Date(Number(expiresAt) * 1000),
  };
}

/** A grant row with its purpose as text. */
export type Grant = GrantRow & { purposeText: string; scopeKind?: number; createdAt?: string };

export function purposeText(purpose: unknown): string {
  if (typeof purpose !== 'string') return '';
  return isHex(purpose) ? hexToString(purpose, { size: 32 }).replace(/\0+$/u, '') : purpose;
}

export async function listGrants(session: Session): Promise<Grant[]> {
  const { grants } = await session.node.listGrants();
  return grants.map((g) => ({ ...g, purposeText: purposeText(g.purpose) }));
}

/** Revokes a grant I gave (flow 4). Returns the time it took effect at the node. */
export async function revoke(session: Session, grantId: Hex): Promise<Date> {
  const { node } = session;
  const description = await node.describe();
  const context = await signatureContext(session, 'ConsentRegistry');
  const signed = await signRevokeForRelay({
    account: session.account,
    chainId: description.chainId,
    verifyingContract: description.contracts.consentRegistry,
    nonce: context.nonce,
    deadline: context.deadline,
    patient: session.identity,
    grantId,
  });
  await node.revokeGrant(grantId, signed.body);
  await context.commit();
  return new Date();
}

/**
 * Forgets (crypto-shreds) one record (flow 5): one signed `Shred(Request)` with the node's next nonce; the node
 * finalises it after the delay (permissionless on chain). Returns the new state.
 */
export async function forget(session: Session, recordId: Hex): Promise<string> {
  const { node } = session;
  const description = await node.describe();
  const context = await signatureContext(session, 'RecordRegistry');
  const { nonce, deadline } = context;
  const signature = await session.account.signTypedData(
    toShredTypedData({
      chainId: description.chainId,
      verifyingContract: description.contracts.recordRegistry,
      message: { patient: session.identity, recordId, action: ShredAction.Request, nonce, deadline },
    }),
  );
  const answer = await node.shredRecord(recordId, {
    action: 'request',
    patient: session.identity,
    recordId,
    request: { nonce: nonce.toString(), deadline: deadline.toString(), signature },
  });
  await context.commit();
  const cached = await loadCache(session);
  for (const r of cached) {
    if (r.recordId.toLowerCase() !== recordId.toLowerCase()) continue;
    r.state = answer.state;
    if (answer.state === 'shredded') {
      delete r.stanza;
      delete r.resource;
    }
  }
  await saveCache(session, cached);
  return answer.state;
}

/** One access-log entry (`GET /v1/audit`). */
export type AuditEntry = {
  id: string;
  at: string;
  actor: string;
  action: string;
  recordIds: string[];
  grantId: string | null;
  outcome: string;
  reason: string | null;
};

/** The whole access log of my records, oldest first (every page). */
export async function readAudit(session: Session): Promise<AuditEntry[]> {
  const entries: AuditEntry[] = [];
  let after: string | null = null;
  for (let page = 0; page < 100; page++) {
    const query: string = `?limit=500${after === null ? '' : `&after=${after}`}`;
    const log = (await session.node.audit(query)) as { entries: AuditEntry[]; next?: string | null };
    entries.push(...log.entries);
    after = log.next ?? null;
    if (after === null || log.entries.length === 0) break;
  }
  return entries;
}

/** An access request (`GET /v1/requests`): to me as patient, or filed by me as requester. */
export type AccessRequest = {
  requestId: Hex | null;
  requestDigest: string | null;
  role: string;
  /** queued | failed | pending | approved | denied | expired */
  status: string;
  requester: string;
  patient: string;
  purpose: string;
  purposeText: string;
  expiresAt: string | null;
  grantId: string | null;
};

/** Access requests to me and from me; `undefined` when this node does not offer the requests API. */
export async function listRequests(session: Session): Promise<AccessRequest[] | undefined> {
  try {
    const { requests } = await session.node.listAccessRequests();
    return (requests as Omit<AccessRequest, 'purposeText'>[]).map((r) => ({
      ...r,
      purposeText: purposeText(r.purpose),
    }));
  } catch (error) {
    const e = error as { name?: string; status?: number };
    if (e.name === 'NodeProblemError' && e.status === 404) return undefined;
    if (e.name === 'NodeResponseError') return undefined;
    throw error;
  }
}

/**
 * Asks a patient for access (flow 7, as a provider): a signed `AccessRequest` for everything, a purpose and how long
 * the grant would last, relayed by the node. The patient approves (a grant) or denies it.
 */
export async function requestAccess(
  session: Session,
  parameters: { patient: string; purpose: string; lifetimeSeconds: number },
): Promise<void> {
  const description = await session.node.describe();
  const patient = parseIdentityRef(parameters.patient, { chainId: description.chainId });
  if (isAddressEqual(patient, session.identity)) throw new PortalError('You cannot ask yourself for access.');
  const purpose = purposeOfUse(parameters.purpose);
  const context = await signatureContext(session, 'ConsentRegistry');
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + Math.round(parameters.lifetimeSeconds));
  const signed = await signAccessRequestForRelay({
    account: session.account,
    chainId: description.chainId,
    verifyingContract: description.contracts.consentRegistry,
    nonce: context.nonce,
    deadline: context.deadline,
    request: {
      requester: session.identity,
      patient,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose,
      expiresAt,
    },
  });
  await session.node.createAccessRequest({ request: signed.body });
  await context.commit();
}

/** Denies an access request with a signed `Deny`. */
export async function deny(session: Session, requestId: Hex): Promise<void> {
  const description = await session.node.describe();
  const context = await signatureContext(session, 'ConsentRegistry');
  const signed = await signDenyForRelay({
    account: session.account,
    chainId: description.chainId,
    verifyingContract: description.contracts.consentRegistry,
    nonce: context.nonce,
    deadline: context.deadline,
    patient: session.identity,
    requestId,
  });
  await session.node.denyAccessRequest(requestId, signed.body);
  await context.commit();
}

/** Everything this portal holds of me, decrypted, as one FHIR collection Bundle plus the access log. */
export function exportBundle(
  records: readonly PortalRecord[],
  audit: readonly AuditEntry[],
  address: string,
): string {
  const bundle = {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: new Date().toISOString(),
    meta: { tag: [{ system: 'urn:carekey', code: 'export', display: `Carekey export of ${address}` }] },
    entry: records
      .filter((r) => r.resource !== undefined)
      .map((r) => ({ fullUrl: `urn:carekey:record:${r.recordId}`, resource: r.resource })),
  };
  return JSON.stringify({ carekeyExport: 1, patient: address, bundle, accessLog: audit }, null, 2);
}

/**
 * One notification of `GET /v1/notifications` (`@carekey/sdk/emergency` `Notification`): a break-glass on my
 * records, or on those of a patient who named me guardian; or a recovery event (`notificationWords.ts`). Other kinds
 * a newer node sends are shown by their kind.
 */
export type PortalNotification = {
  id: string;
  at: string;
  kind: string;
  patient: string;
  role: 'patient' | 'guardian' | string;
  accessId?: string;
  clinician?: string;
  clinicianClaims?: Record<string, string>;
  issuerName?: string;
  reason?: string;
  scope?: string;
  expiresAt?: string;
  /** A recovery notification's contract event (who approved, the new key, approvals, when it is ready…). */
  event?: RecoveryEvent;
};

/** My notifications, oldest first; `undefined` when this node has no notification feed. */
export async function readNotifications(session: Session): Promise<PortalNotification[] | undefined> {
  try {
    const answer = await session.node.call<{ notifications: PortalNotification[] }>({
      method: 'GET',
      path: '/v1/notifications',
      signed: true,
    });
    return answer.notifications;
  } catch (error) {
    const e = error as { name?: string; status?: number };
    if (e.name === 'NodeProblemError' && e.status === 404) return undefined;
    throw error;
  }
}

/** Who an identity verifiably is (`GET /v1/credentials/{address}`: its latest credential, re-checked by the node). */
export type VerifiedIdentity = {
  identity: string;
  verified: boolean;
  reason?: string;
  issuerName: string;
  claims: Record<string, string | undefined>;
};

/** The verified identity of each address (`null`: it presented no credential, or the node cannot say). */
export async function readVerifiedIdentities(
  session: Session,
  addresses: readonly string[],
): Promise<Map<string, VerifiedIdentity | null>> {
  const out = new Map<string, VerifiedIdentity | null>();
  await Promise.all(
    [...new Set(addresses.map((a) => a.toLowerCase()))].map(async (a) => {
      try {
        out.set(
          a,
          await session.node.call<VerifiedIdentity>({
            method: 'GET',
            path: `/v1/credentials/${getAddress(a)}`,
          }),
        );
      } catch {
        out.set(a, null);
      }
    }),
  );
  return out;
}

/** One line of who an identity verifiably is, as the CLI's `describeIdentity` says it. */
export function identityWords(found: VerifiedIdentity | null | undefined): string {
  if (found === undefined) return '';
  if (found === null) return 'Unverified: no credential presented';
  const { role, specialty, organisation } = found.claims;
  const what = [role === undefined ? 'clinician' : `licensed ${role}`, specialty, organisation]
    .filter((part) => part !== undefined && part !== '')
    .join(', ');
  if (!found.verified)
    return `Unverified: the credential (${what}) no longer holds (${found.reason ?? 'unknown reason'})`;
  return `${what} — verified by ${found.issuerName}`;
}

/**
 * Why a read under a share was refused, in words, from the share's state on the ledger (the node answers every
 * refusal with the same `access-refused`, T-15, but the grantee may see its own grant's state): expired (and when),
 * revoked, or not known here.
 */
export function refusedShareWords(grant: Grant | undefined, now = Date.now()): string {
  if (grant !== undefined && (grant.state === 'expired' || Number(grant.expiresAt) * 1000 <= now))
    return `Access refused: this share expired on ${formatUntilDate(new Date(Number(grant.expiresAt) * 1000))}. Ask the patient to share again; nothing was opened.`;
  if (grant?.state === 'revoked')
    return 'Access refused: the patient revoked this share. Ask them to share again if you still need it; nothing was opened.';
  return 'Access refused: there is no active share for this record (it was revoked, it has expired, or it never covered it). Ask the patient to share again.';
}

function formatUntilDate(d: Date): string {
  return d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}
