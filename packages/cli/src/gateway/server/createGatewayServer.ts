import { createHash } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { GrantRow } from '@carekey/sdk/client';
import { Decryptor, decodeStanza, type Identity, PayloadDecryptor, unwrapFileKey } from '@carekey/sdk/crypto';
import { nodeCryptoBackend } from '@carekey/sdk/crypto/node';
import {
  categoryTag,
  FILE_ATTACHMENT_EXTENSION,
  fileRecordCategory,
  impossibleFhirDate,
  parseFhirJson,
  recordIdOfAttachment,
  sessionCategoryKey,
} from '@carekey/sdk/fhir';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import type { Session } from '../../commands/openSession.ts';
import { type GatewayCaller, gatewayTokenKey, verifyGatewayToken } from '../auth/gatewayToken.ts';
import { type SmartScope, scopesFor } from '../auth/smartScopes.ts';
import { BulkExportJobs, type ExportFile } from '../bulk/BulkExportJobs.ts';
import { gatewayEntryToAuditEvent, nodeEntryToAuditEvent } from '../fhir/accessLogToAuditEvent.ts';
import { nodeAccessEntries } from '../fhir/auditEventBundle.ts';
import { capabilityStatement } from '../fhir/capabilityStatement.ts';
import { FhirError } from '../fhir/FhirError.ts';
import { grantToConsent } from '../fhir/grantToConsent.ts';
import { loadGatewayDefinitions } from '../fhir/loadGatewayDefinitions.ts';
import {
  isKnownResourceType,
  matchesSearch,
  narrowingTerms,
  type ParsedSearch,
  parseSearch,
} from '../fhir/searchResources.ts';
import {
  categoriesOf,
  type GatewayStore,
  type StoredRecord,
  tokenMatches,
} from '../store/openGatewayStore.ts';
import type { SyncGatewayStoreReturnType } from '../store/syncGatewayStore.ts';
import { GatewayAccessLog } from './GatewayAccessLog.ts';
import type { GatewayContext, GatewayRequest, GatewayResponse, GatewayRouteHandler } from './types.ts';

/** Default port of `carekey gateway`. */
export const DEFAULT_GATEWAY_PORT = 8790;
/** Default interval between background syncs with the node. */
export const DEFAULT_SYNC_INTERVAL_MS = 60_000;
/** Largest request body (CDS Hooks requests carry prefetch: generous, bounded). */
const MAX_BODY = 1 << 20;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const ID = '[A-Za-z0-9\\-.]{1,64}';
/** A FHIR instant: seconds and a zone required (R4 datatypes, `instant`). */
const INSTANT =
  /^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,9})?(Z|[+-]((0\d|1[0-3]):[0-5]\d|14:00))$/u;

/** Record ids of the files a describing resource points to (`urn:carekey:record:`; docs/fhir.md, "Files"). */
function fileRecordIdsOf(resource: Resource): string[] {
  const attachments: unknown[] = [];
  const r = resource as {
    content?: { attachment?: unknown }[];
    extension?: { url?: string; valueAttachment?: unknown }[];
  };
  if (resource.resourceType === 'DocumentReference')
    for (const c of r.content ?? []) attachments.push(c.attachment);
  for (const e of r.extension ?? [])
    if (e.url === FILE_ATTACHMENT_EXTENSION) attachments.push(e.valueAttachment);
  return attachments.flatMap((a) => {
    const id = recordIdOfAttachment((a as { url?: string } | undefined)?.url);
    return id === undefined ? [] : [id.toLowerCase()];
  });
}

/** The plaintext of an own age file, decrypted as it is read (each STREAM chunk authenticated before it is given). */
async function* decryptedPieces(
  file: AsyncIterable<Uint8Array>,
  identity: Identity,
): AsyncGenerator<Uint8Array> {
  const decryptor = new Decryptor({ identities: [identity], backend: nodeCryptoBackend });
  const out: Uint8Array[] = [];
  const sink = (part: Uint8Array) => out.push(part.slice());
  for await (const piece of file) {
    await decryptor.write(piece, sink);
    yield* out.splice(0);
  }
  await decryptor.end(sink);
  yield* out.splice(0);
}

export type CreateGatewayServerParameters = {
  session: Session;
  store: GatewayStore;
  /** Loopback address to listen on (default 127.0.0.1); anything else is refused. */
  host?: string | undefined;
  /** Port (default {@link DEFAULT_GATEWAY_PORT}; 0 for a free one). */
  port?: number | undefined;
  /** Background sync interval (default one minute; 0 disables). */
  syncIntervalMs?: number | undefined;
  /** Extra routes tried before the FHIR API (CDS Hooks). */
  handlers?: readonly GatewayRouteHandler[] | undefined;
};

export type GatewayServer = {
  url: string;
  accessLog: GatewayAccessLog;
  /** Syncs the store with the node now (serialised with the background sync). */
  sync(): Promise<SyncGatewayStoreReturnType>;
  close(): Promise<void>;
};

function isStream(body: unknown): body is AsyncIterable<string> {
  return typeof body === 'object' && body !== null && Symbol.asyncIterator in body;
}

/** Whether a host name is a loopback address (the gateway never listens beyond the machine). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127(?:\.\d{1,3}){3}$/u.test(host);
}

function hostOfHeader(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d{1,5})?$/u.exec(host);
  return m?.[1]?.replace(/^\[|\]$/gu, '');
}

function searchset(parameters: {
  baseUrl: string;
  url: URL;
  resources: readonly Resource[];
  count: number;
  offset: number;
  summaryCount: boolean;
}): Bundle {
  const { baseUrl, url, resources, count, offset } = parameters;
  const page = parameters.summaryCount ? [] : resources.slice(offset, offset + count);
  const link = (relation: string, at: number) => {
    const next = new URL(url.pathname + url.search, baseUrl);
    next.searchParams.set('_offset', String(at));
    next.searchParams.set('_count', String(count));
    return { relation, url: next.toString() };
  };
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: resources.length,
    link: [
      { relation: 'self', url: new URL(url.pathname + url.search, baseUrl).toString() },
      ...(!parameters.summaryCount && count > 0 && offset + count < resources.length
        ? [link('next', offset + count)]
        : []),
      ...(!parameters.summaryCount && offset > 0 ? [link('previous', Math.max(0, offset - count))] : []),
    ],
    entry: page.map((resource) => ({
      fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' },
    })),
  };
}

/**
 * Starts the gateway's HTTP server on loopback: the FHIR R4 API over the local store (read, search, `$everything`,
 * Consent, AuditEvent, Bulk `$export`), a CapabilityStatement at `/metadata`, and mounted routes (CDS Hooks).
 * Every answer is narrowed by the caller's SMART scopes; refusals are OperationOutcomes and are logged.
 *
 * @throws FhirError when asked to listen beyond loopback.
 */
export async function createGatewayServer(parameters: CreateGatewayServerParameters): Promise<GatewayServer> {
  const { session, store } = parameters;
  const host = parameters.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new FhirError(400, 'security', `the gateway serves loopback only, not ${JSON.stringify(host)}`);
  }
  await loadGatewayDefinitions();
  const owner = session.keys.address;
  const tokenKey = gatewayTokenKey(session.keys.privateKey);
  const { chainId } = await session.node.describe();
  const accessLog = new GatewayAccessLog(join(session.home.dir, 'gateway', 'access.log'));
  await accessLog.load();
  const jobs = new BulkExportJobs();
  let baseUrl = '';

  let syncing: Promise<SyncGatewayStoreReturnType> | undefined;
  const sync = () => {
    syncing ??= store.sync(session).finally(() => {
      syncing = undefined;
    });
    return syncing;
  };

  const authorize = async (request: GatewayRequest): Promise<GatewayCaller> =>
    verifyGatewayToken({ key: tokenKey, owner, authorization: request.headers.authorization });

  const context: GatewayContext = {
    store,
    get baseUrl() {
      return baseUrl;
    },
    authorize,
    log: (entry) => accessLog.append(entry),
  };

  /** The Carekey identity of the token's patient (patient/ scopes), or undefined when unknown here. */
  const patientAddressOf = (caller: GatewayCaller): Address | undefined =>
    caller.patient === undefined ? undefined : store.get('Patient', caller.patient)?.patient;

  const patientIdOf = (address: Address): string | undefined =>
    store.search({ patient: address, resourceType: 'Patient' })[0]?.fhirId;

  /** Whether one of the scopes lets the caller see a record of `patient` with these categories. */
  const allowedBy = (
    scopes: readonly SmartScope[],
    caller: GatewayCaller,
    patient: Address,
    record?: StoredRecord,
  ): boolean =>
    scopes.some(
      (s) =>
        (s.context !== 'patient' || patientAddressOf(caller)?.toLowerCase() === patient.toLowerCase()) &&
        (s.category === undefined ||
          (record !== undefined &&
            (record.category === s.category || tokenMatches(s.category, categoriesOf(record.resource))))),
    );

  const scopesOrForbid = (caller: GatewayCaller, type: string, interaction: 'read' | 'search') => {
    const scopes = scopesFor(caller.scopes, type, interaction);
    if (scopes.length === 0) {
      throw new FhirError(403, 'forbidden', `the token's scopes do not allow ${interaction} on ${type}`);
    }
    return scopes;
  };

  /**
   * The owner's file records (DICOM, PDF) that these describing records point to, for `$export`: read from the
   * wallet's own age files when downloaded. Files of other patients' records are not held by the gateway.
   */
  async function ownFiles(records: readonly StoredRecord[]): Promise<ExportFile[]> {
    const wanted = new Set(
      records
        .filter((r) => r.patient.toLowerCase() === owner.toLowerCase())
        .flatMap((r) => fileRecordIdsOf(r.resource)),
    );
    if (wanted.size === 0) return [];
    const local = await session.store.list(session.keys.identity);
    const out: ExportFile[] = [];
    for (const l of local) {
      if (l.state !== 'active' || !l.category.startsWith('Binary|') || !wanted.has(l.recordId.toLowerCase()))
        continue;
      if (!(await session.store.hasFile(l.recordId))) continue;
      out.push({
        id: l.recordId.slice(2).toLowerCase(),
        contentType: l.category.slice('Binary|'.length),
        sha256: l.sha256,
        read: () => decryptedPieces(session.store.pieces(l.recordId), session.keys.identity),
      });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  async function grants(): Promise<GrantRow[]> {
    return (await session.node.listGrants()).grants;
  }

  const nodeEntries = () => nodeAccessEntries(session);
  // The identity's category key (the same across rotations): its tags name the owner's categories in Consents.
  const tagKey = await sessionCategoryKey(session);
  /** Category tag → category, for the categories of the owner's own records. */
  const ownTags = () =>
    new Map(
      [...new Set(store.search({ patient: owner }).map((r) => r.category))].map((category) => [
        categoryTag({ patientSalt: tagKey, category }).toLowerCase(),
        category,
      ]),
    );

  /** Consent and AuditEvent: built from the node's grants and logs on each request, then searched alike. */
  async function virtualResources(
    type: 'Consent' | 'AuditEvent',
    caller: GatewayCaller,
    scopes: readonly SmartScope[],
  ) {
    if (type === 'Consent') {
      const out: Resource[] = [];
      for (const grant of await grants()) {
        if (!allowedBy(scopes, caller, grant.patient)) continue;
        const held = store.search({ grantId: grant.grantId });
        const row = grant as GrantRow & { scopeKind?: number; scopeData?: string[] };
        // The grantee names categories by the records it holds; the patient by its own tags (HMAC of each category).
        const categories =
          grant.patient.toLowerCase() !== owner.toLowerCase()
            ? held.map((r) => r.category)
            : (row.scopeData ?? []).flatMap((tag) => {
                const category = ownTags().get(tag.toLowerCase());
                return category === undefined ? [] : [category];
              });
        out.push(
          grantToConsent({
            grant,
            chainId,
            patientId: patientIdOf(grant.patient),
            categories,
            records: held.map((r) => `${r.resourceType}/${r.fhirId}`),
          }),
        );
      }
      return out;
    }
    const out: Resource[] = [];
    if (allowedBy(scopes, caller, owner)) {
      for (const entry of await nodeEntries()) {
        out.push(
          nodeEntryToAuditEvent({
            entry,
            chainId,
            patient: owner,
            patientId: patientIdOf(owner),
            node: session.node.url,
          }),
        );
      }
    }
    if (scopes.some((s) => s.context !== 'patient')) {
      for (const entry of accessLog.entries()) {
        out.push(gatewayEntryToAuditEvent({ entry, chainId, owner, gateway: baseUrl }));
      }
    }
    return out;
  }

  /**
   * The files of records shared with me that these describing records point to, for a grantee's `$export`: only the
   * file records one of my grants covers (the node's `GET /v1/shared`), of the same patient. Each file's key is
   * released once, under that grant (the vault logs the release before it gives it: one release, one log row per
   * file and export); its payload is streamed from the node (checked against its CID) and decrypted chunk by chunk
   * with that released stanza once now for its SHA-256 and content type, and again when `Binary.ndjson` is
   * downloaded: never held whole, never written in clear, the file key unwrapped for each read and wiped after it.
   */
  async function sharedFiles(records: readonly StoredRecord[]): Promise<ExportFile[]> {
    const wanted = new Map<string, Address>();
    for (const r of records) {
      if (r.patient.toLowerCase() === owner.toLowerCase()) continue;
      for (const id of fileRecordIdsOf(r.resource)) wanted.set(id, r.patient);
    }
    if (wanted.size === 0) return [];
    const out: ExportFile[] = [];
    for (const s of (await session.node.listShared()).records) {
      const id = s.recordId.toLowerCase();
      const patient = wanted.get(id);
      if (patient === undefined || patient.toLowerCase() !== s.patient.toLowerCase()) continue;
      wanted.delete(id); // one grant is enough
      const released = await releaseShared(s.grantId, s.recordId);
      const read = () => sharedPieces(released);
      const hash = createHash('sha256');
      let head: Uint8Array | undefined;
      for await (const piece of read()) {
        hash.update(piece);
        head ??= piece.slice(0, 1024);
      }
      const category = fileRecordCategory(head ?? new Uint8Array());
      out.push({
        id: id.slice(2),
        contentType: category.slice('Binary|'.length),
        sha256: hash.digest('hex'),
        read,
      });
    }
    return out;
  }

  /** A shared file record's key released under a grant (logged by the vault): its stanza and blob id. */
  async function releaseShared(grantId: Hex, recordId: Hex): Promise<{ stanza: string; blobId: string }> {
    const released = await session.node.releaseKeys({ grantId, recordIds: [recordId] });
    const item = released.records.find((r) => r.recordId.toLowerCase() === recordId.toLowerCase());
    if (item === undefined) throw new Error(`the node released no key for file record ${recordId}`);
    return { stanza: item.stanza, blobId: item.blobId };
  }

  /** A shared file record's plaintext, from its released stanza (streamed payload, decrypted chunk by chunk). */
  async function* sharedPieces(item: { stanza: string; blobId: string }): AsyncGenerator<Uint8Array> {
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(item.stanza)],
      identities: [session.keys.identity],
    });
    // The payload key is derived from the file key and the payload's nonce, its first bytes: wiped at the end.
    const decryptor = new PayloadDecryptor(fileKey, { backend: nodeCryptoBackend });
    const out: Uint8Array[] = [];
    const sink = (part: Uint8Array) => out.push(part);
    const reader = (await session.node.openBlob(item.blobId)).stream().getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        decryptor.write(value, sink);
        yield* out.splice(0);
      }
      decryptor.end(sink);
      yield* out.splice(0);
    } finally {
      fileKey.fill(0);
      await reader.cancel().catch(() => {}); // a download stopped half-way closes the payload stream
    }
  }

  function ordered(records: readonly Resource[], parsed: ParsedSearch): Resource[] {
    return parsed.sort === 'desc' ? [...records].reverse() : [...records];
  }

  async function fhirRoute(request: GatewayRequest, caller: GatewayCaller): Promise<GatewayResponse> {
    const { url } = request;
    const path = url.pathname;
    let m: RegExpExecArray | null;

    m = /^\/(Patient\/)?\$export$/u.exec(path);
    if (m !== null) {
      if (request.method !== 'GET')
        throw new FhirError(405, 'not-supported', `${request.method} ${path} is not supported`);
      const patientLevel = m[1] !== undefined;
      if (!/respond-async/u.test(String(request.headers.prefer ?? ''))) {
        throw new FhirError(400, 'invalid', '$export needs the header Prefer: respond-async');
      }
      let types: string[] | undefined;
      let since: number | undefined;
      for (const [key, value] of url.searchParams) {
        if (key === '_outputFormat') {
          if (!['application/fhir+ndjson', 'application/ndjson', 'ndjson'].includes(value)) {
            throw new FhirError(
              400,
              'not-supported',
              `_outputFormat ${JSON.stringify(value.slice(0, 40))}: only NDJSON`,
              ['_outputFormat'],
            );
          }
        } else if (key === '_type') {
          types = value.split(',');
          const unknown = types.find((t) => !isKnownResourceType(t));
          if (unknown !== undefined)
            throw new FhirError(
              400,
              'invalid',
              `_type: unknown resource type ${JSON.stringify(unknown.slice(0, 64))}`,
              ['_type'],
            );
        } else if (key === '_since') {
          const impossible = impossibleFhirDate(value.slice(0, 10));
          since = Date.parse(value);
          if (!INSTANT.test(value) || impossible !== undefined || Number.isNaN(since)) {
            throw new FhirError(
              400,
              'invalid',
              `_since must be a FHIR instant such as 2024-05-31T12:00:00Z, not ${JSON.stringify(value.slice(0, 40))}${impossible === undefined ? '' : ` (${impossible})`}`,
              ['_since'],
            );
          }
        } else {
          throw new FhirError(
            400,
            'not-supported',
            `$export parameter ${JSON.stringify(key.slice(0, 40))} is not supported`,
            [key],
          );
        }
      }
      const ownerPatient = owner.toLowerCase();
      // One snapshot: every record in it arrived at or before transactionTime, every later one is stamped after it.
      const transactionTime = store.snapshotInstant();
      const base = store.all().filter((r) => {
        if (!patientLevel && r.patient.toLowerCase() !== ownerPatient) return false;
        // _since: what arrived in this gateway after the instant (Carekey records never change in place).
        if (since !== undefined && Date.parse(r.syncedAt) <= since) return false;
        return allowedBy(scopesFor(caller.scopes, r.resourceType, 'search'), caller, r.patient, r);
      });
      const records = types === undefined ? base : base.filter((r) => types?.includes(r.resourceType));
      const binaryScopes = scopesFor(caller.scopes, 'Binary', 'search');
      const filesWanted = types === undefined || types.includes('Binary');
      const withFiles = filesWanted && allowedBy(binaryScopes, caller, owner);
      // Files of other patients' shared records: where the token's scopes allow that patient's Binary.
      const sharedDescriptions = filesWanted
        ? base.filter(
            (r) => r.patient.toLowerCase() !== ownerPatient && allowedBy(binaryScopes, caller, r.patient),
          )
        : [];
      const id = jobs.start({
        client: caller.client,
        request: new URL(path + url.search, baseUrl).toString(),
        baseUrl,
        transactionTime,
        records: () => records,
        files: async () => [
          ...(withFiles ? await ownFiles(base) : []),
          ...(await sharedFiles(sharedDescriptions)),
        ],
      });
      return { status: 202, headers: { 'Content-Location': `${baseUrl}/$export-status/${id}` } };
    }
    m = /^\/\$export-status\/([0-9a-f-]{36})$/u.exec(path);
    if (m !== null) {
      const id = m[1] as string;
      if (request.method === 'DELETE') {
        jobs.delete(id, caller.client);
        return { status: 202 };
      }
      const status = jobs.status(id, caller.client);
      if (status.state === 'running')
        return { status: 202, headers: { 'X-Progress': 'in progress', 'Retry-After': '1' } };
      return {
        status: 200,
        headers: {
          'Content-Type': 'application/json',
          Expires: new Date(Date.now() + 3600_000).toUTCString(),
        },
        body: status.manifest,
      };
    }
    m = /^\/\$export-file\/([0-9a-f-]{36})\/([A-Za-z]{1,64})\.ndjson$/u.exec(path);
    if (m !== null) {
      return {
        status: 200,
        headers: { 'Content-Type': 'application/fhir+ndjson' },
        body: jobs.file(m[1] as string, caller.client, m[2] as string),
      };
    }
    if (request.method !== 'GET')
      throw new FhirError(
        405,
        'not-supported',
        `${request.method} is not supported: the gateway is read-only`,
      );

    m = new RegExp(`^/Patient/(${ID})/\\$everything$`, 'u').exec(path);
    if (m !== null) {
      const patientScopes = scopesOrForbid(caller, 'Patient', 'read');
      const patientRecord = store.get('Patient', m[1] as string);
      // Outside the token's patient: answered like an absent Patient (T-15); the log keeps why.
      if (
        patientRecord === undefined ||
        !allowedBy(patientScopes, caller, patientRecord.patient, patientRecord)
      ) {
        throw new FhirError(
          404,
          'not-found',
          `Patient/${m[1]} is not here`,
          undefined,
          patientRecord === undefined ? undefined : "outside the token's patient",
        );
      }
      let count = 50;
      let offset = 0;
      let types: string[] | undefined;
      for (const [key, value] of url.searchParams) {
        if (key === '_count' || key === '_offset') {
          const parsed = parseSearch('Patient', new URLSearchParams([[key, value]]));
          if (key === '_count') count = parsed.count;
          else offset = parsed.offset;
        } else if (key === '_type') {
          types = value.split(',');
        } else {
          throw new FhirError(
            400,
            'not-supported',
            `$everything parameter ${JSON.stringify(key.slice(0, 40))} is not supported`,
            [key],
          );
        }
      }
      const resources = store
        .search({ patient: patientRecord.patient })
        .filter((r) => types === undefined || types.includes(r.resourceType))
        .filter((r) => allowedBy(scopesFor(caller.scopes, r.resourceType, 'search'), caller, r.patient, r))
        .map((r) => r.resource);
      // The Patient first, as $everything is usually read.
      resources.sort((a, b) => Number(b.resourceType === 'Patient') - Number(a.resourceType === 'Patient'));
      return {
        status: 200,
        body: searchset({ baseUrl, url, resources, count, offset, summaryCount: false }),
      };
    }

    m = /^\/([A-Za-z]{1,64})$/u.exec(path);
    if (m !== null) {
      const type = m[1] as string;
      if (!isKnownResourceType(type))
        throw new FhirError(404, 'not-supported', `unknown resource type ${JSON.stringify(type)}`);
      const parsed = parseSearch(type, url.searchParams);
      const scopes = scopesOrForbid(caller, type, 'search');
      let resources: Resource[];
      if (type === 'Consent' || type === 'AuditEvent') {
        resources = (await virtualResources(type, caller, scopes)).filter((r) => matchesSearch(r, parsed));
      } else {
        const compartment = scopes.every((s) => s.context === 'patient')
          ? patientAddressOf(caller)
          : undefined;
        if (scopes.every((s) => s.context === 'patient') && compartment === undefined) resources = [];
        else {
          // Candidates narrowed by the store's term index first (a superset), then matched exactly.
          let candidates = store.search({ resourceType: type, patient: compartment });
          for (const terms of narrowingTerms(parsed)) {
            const holders = terms.map((t) => store.withTerm(t));
            candidates = candidates.filter((r) => holders.some((h) => h.has(r)));
          }
          resources = candidates
            .filter((r) => allowedBy(scopes, caller, r.patient, r) && matchesSearch(r.resource, parsed))
            .map((r) => r.resource);
        }
      }
      return {
        status: 200,
        body: searchset({
          baseUrl,
          url,
          resources: ordered(resources, parsed),
          count: parsed.count,
          offset: parsed.offset,
          summaryCount: parsed.summaryCount,
        }),
      };
    }

    m = new RegExp(`^/([A-Za-z]{1,64})/(${ID})$`, 'u').exec(path);
    if (m !== null) {
      const [, type = '', id = ''] = m;
      if (!isKnownResourceType(type))
        throw new FhirError(404, 'not-supported', `unknown resource type ${JSON.stringify(type)}`);
      const scopes = scopesOrForbid(caller, type, 'read');
      if (type === 'Consent' || type === 'AuditEvent') {
        const found = (await virtualResources(type, caller, scopes)).find((r) => r.id === id);
        if (found === undefined)
          throw new FhirError(
            404,
            'not-found',
            `${type}/${id} is not here (or not within the token's scopes)`,
          );
        return { status: 200, body: found };
      }
      const record = store.get(type, id);
      if (record === undefined) throw new FhirError(404, 'not-found', `${type}/${id} is not here`);
      if (!allowedBy(scopes, caller, record.patient, record)) {
        // Outside the token's patient or category: answered like an absent resource (T-15: one answer for "not
        // yours" and "not here"); the access log keeps why.
        throw new FhirError(
          404,
          'not-found',
          `${type}/${id} is not here`,
          undefined,
          "outside the token's patient or category",
        );
      }
      return { status: 200, body: record.resource };
    }
    throw new FhirError(404, 'not-found', `no route ${JSON.stringify(path.slice(0, 100))}`);
  }

  function interactionOf(request: GatewayRequest): string {
    const path = request.url.pathname;
    if (path.includes('$')) return 'operation';
    return /^\/[A-Za-z]+\/[^/]+$/u.test(path) ? 'read' : 'search-type';
  }

  async function handle(req: IncomingMessage): Promise<GatewayResponse> {
    const headerHost = hostOfHeader(req.headers.host);
    // DNS rebinding: a web page's script reaching 127.0.0.1 under another host name is refused.
    if (headerHost === undefined || !isLoopbackHost(headerHost)) {
      throw new FhirError(403, 'security', 'the Host header must name a loopback address');
    }
    const url = new URL(req.url ?? '/', baseUrl);
    let body: unknown;
    if (req.method === 'POST' || req.method === 'PUT') {
      const chunks: Buffer[] = [];
      let size = 0;
      // Read to the end but keep at most MAX_BODY: leaving the loop early would reset the connection before the
      // client reads the 413.
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size <= MAX_BODY) chunks.push(chunk as Buffer);
      }
      if (size > MAX_BODY) throw new FhirError(413, 'too-costly', `request body over ${MAX_BODY} bytes`);
      if (size > 0) {
        try {
          body = parseFhirJson(new Uint8Array(Buffer.concat(chunks)), { maxBytes: MAX_BODY });
        } catch (cause) {
          throw new FhirError(
            400,
            'invalid',
            `the request body is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`,
          );
        }
      }
    }
    const request: GatewayRequest = { method: req.method ?? 'GET', url, headers: req.headers, body };
    for (const handler of parameters.handlers ?? []) {
      const answer = await handler(request, context);
      if (answer !== undefined) return answer;
    }
    if (url.pathname === '/metadata' && request.method === 'GET') {
      return {
        status: 200,
        body: capabilityStatement({ baseUrl, types: [...new Set(store.all().map((r) => r.resourceType))] }),
      };
    }
    let caller: GatewayCaller;
    try {
      caller = await authorize(request);
    } catch (error) {
      accessLog.append({
        client: 'anonymous',
        interaction: 'login',
        request: `${request.method} ${url.pathname}`,
        status: 401,
        reason: error instanceof Error ? error.message : String(error),
      });
      throw error;
    }
    try {
      const answer = await fhirRoute(request, caller);
      accessLog.append({
        client: caller.client,
        interaction: interactionOf(request),
        request: `${request.method} ${url.pathname}`,
        status: answer.status,
      });
      return answer;
    } catch (error) {
      accessLog.append({
        client: caller.client,
        interaction: interactionOf(request),
        request: `${request.method} ${url.pathname}`,
        status: error instanceof FhirError ? error.status : 500,
        reason: error instanceof FhirError ? (error.logReason ?? error.message) : String(error),
      });
      throw error;
    }
  }

  function send(res: ServerResponse, answer: GatewayResponse): void {
    if (isStream(answer.body)) {
      const body = answer.body;
      res.writeHead(answer.status, {
        'Content-Type': FHIR_JSON,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        ...answer.headers,
      });
      void (async () => {
        for await (const text of body) if (!res.write(text)) await new Promise((r) => res.once('drain', r));
        res.end();
      })().catch((error: unknown) => {
        // Headers are gone: a cut connection is the only way left to say the file is not whole.
        process.stderr.write(
          `carekey gateway: export file failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        res.destroy();
      });
      return;
    }
    const text =
      answer.body === undefined
        ? ''
        : typeof answer.body === 'string'
          ? answer.body
          : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      'Content-Type': FHIR_JSON,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...(answer.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="carekey-gateway"' } : {}),
      ...answer.headers,
    });
    res.end(text);
  }

  const server: Server = createServer((req, res) => {
    handle(req).then(
      (answer) => send(res, answer),
      (error: unknown) => {
        if (error instanceof FhirError && (req.url ?? '').startsWith('/cds-services')) {
          // CDS Hooks clients get the service's own error form (docs/gateway.md, "CDS Hooks"), also for a body
          // the gateway refused before the service saw it (not JSON, too deep, `__proto__`, too large).
          send(res, {
            status: error.status,
            headers: { 'Content-Type': 'application/problem+json' },
            body: {
              type: `urn:carekey:problem:${error.code}`,
              title: STATUS_CODES[error.status] ?? 'Error',
              status: error.status,
              detail: error.message,
              code: error.code,
            },
          });
        } else if (error instanceof FhirError) send(res, { status: error.status, body: error.toOutcome() });
        else {
          process.stderr.write(
            `carekey gateway: ${error instanceof Error ? error.message : String(error)}\n`,
          );
          send(res, { status: 500, body: new FhirError(500, 'exception', 'internal error').toOutcome() });
        }
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(parameters.port ?? DEFAULT_GATEWAY_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  const interval = parameters.syncIntervalMs ?? DEFAULT_SYNC_INTERVAL_MS;
  const timer =
    interval > 0
      ? setInterval(() => {
          sync().catch((error: unknown) => {
            process.stderr.write(
              `carekey gateway: sync failed, retrying later: ${error instanceof Error ? error.message : String(error)}\n`,
            );
          });
        }, interval)
      : undefined;
  timer?.unref();

  return {
    url: baseUrl,
    accessLog,
    sync,
    async close() {
      if (timer !== undefined) clearInterval(timer);
      await syncing?.catch(() => {});
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await accessLog.flush();
    },
  };
}
