import type { IncomingHttpHeaders } from 'node:http';
import { buildPatientIndex, type RecordSource, type SourcedResource } from '@carekey/sdk/clinical';
import type { Hex } from 'viem';
import type { GatewayStore, StoredRecord } from '../store/openGatewayStore.ts';
import {
  type CdsCard,
  DEFAULT_WINDOWS,
  type DuplicateWindows,
  findDuplicateOrders,
} from './findDuplicateOrders.ts';
import { type CdsHook, CdsRequestError, ordersToCheck, parseCdsRequest } from './parseCdsRequest.ts';

/** A request as the gateway hands it to a mounted route (the body already parsed safely, or undefined). */
export type CdsHttpRequest = { method: string; url: URL; headers: IncomingHttpHeaders; body: unknown };

/** What the route answers. */
export type CdsHttpResponse = { status: number; headers?: Record<string, string>; body?: unknown };

/** The caller a bearer token proves (the gateway's SMART scopes). */
export type CdsCaller = {
  client: string;
  scopes: readonly {
    context: 'patient' | 'user' | 'system';
    resourceType: string;
    read: boolean;
    category?: string;
  }[];
  patient: string | undefined;
};

/** What the route needs from the gateway (the gateway's `GatewayContext` fits). */
export type CdsContext = {
  store: GatewayStore;
  /** The gateway's base URL: links to records are `${baseUrl}/<type>/<id>` (its FHIR read). */
  baseUrl: string;
  /** Checks the bearer token (throws the gateway's 401 when missing or invalid). */
  authorize(request: CdsHttpRequest): Promise<CdsCaller>;
  log?(entry: {
    client: string;
    interaction: string;
    request: string;
    status: number;
    reason?: string;
  }): void;
};

export type CreateCdsHooksHandlerParameters = {
  /** How recent a done test must be to count as a duplicate (default: lab 30 days, imaging 90 days). */
  windows?: Partial<DuplicateWindows>;
  /** The clock (tests). */
  now?: () => Date;
};

/** The two services, by id. */
export const CDS_SERVICES: readonly {
  hook: CdsHook;
  id: string;
  title: string;
  description: string;
  prefetch: Record<string, string>;
}[] = [
  {
    hook: 'order-select',
    id: 'carekey-duplicate-order-select',
    title: 'Already done elsewhere (order select)',
    description:
      'When a lab test, imaging study or medication is selected, says if the same was done recently (or is active) at any institution whose records the patient shared: where, when, the result, and a link to the record.',
    prefetch: {},
  },
  {
    hook: 'order-sign',
    id: 'carekey-duplicate-order-sign',
    title: 'Already done elsewhere (order sign)',
    description:
      'Before orders are signed, lists the lab tests, imaging studies and medications among them that were done recently (or are active) at any institution, with where, when, the result and a link to the record.',
    prefetch: {},
  },
];

/** CDS Hooks answers JSON (not FHIR JSON). */
const JSON_TYPE = { 'Content-Type': 'application/json; charset=utf-8' };
/** Resource types a card can reveal. */
const REVEALED = [
  'Observation',
  'DiagnosticReport',
  'ImagingStudy',
  'MedicationRequest',
  'MedicationStatement',
  'Medication',
];

function badRequest(detail: string, path?: string): CdsHttpResponse {
  return {
    status: 400,
    headers: { 'Content-Type': 'application/problem+json' },
    body: {
      type: 'urn:carekey:problem:invalid-cds-request',
      title: 'Bad Request',
      status: 400,
      detail,
      code: 'invalid-cds-request',
      ...(path === undefined ? {} : { path }),
    },
  };
}

/** Whether the caller's scopes let it read this record of this patient. */
function readable(caller: CdsCaller, patientId: string, record: StoredRecord): boolean {
  return caller.scopes.some(
    (s) =>
      s.read &&
      (s.resourceType === '*' || s.resourceType === record.resourceType) &&
      (s.context !== 'patient' || caller.patient === patientId) &&
      (s.category === undefined ||
        record.category === s.category ||
        record.category.endsWith(`|${s.category.split('|').pop()}`)),
  );
}

/**
 * The CDS Hooks service of the gateway (https://cds-hooks.hl7.org/2.0/), mounted by the gateway server as a route
 * handler: `GET /cds-services` (discovery), `POST /cds-services/carekey-duplicate-order-select` (`order-select`)
 * and `POST /cds-services/carekey-duplicate-order-sign` (`order-sign`). A request needs the gateway's bearer
 * token; cards only use records of `context.patientId` (a Patient id of the gateway's FHIR API) that the token's
 * scopes can read. A malformed request is a 400 `application/problem+json` naming the faulty field; an unknown
 * patient gets no cards. Returns `undefined` for paths it does not own.
 *
 * @example
 * await createGatewayServer({ session, store, handlers: [createCdsHooksHandler()] });
 */
export function createCdsHooksHandler(parameters: CreateCdsHooksHandlerParameters = {}) {
  const windows: DuplicateWindows = { ...DEFAULT_WINDOWS, ...parameters.windows };
  const now = parameters.now ?? (() => new Date());
  return async (request: CdsHttpRequest, context: CdsContext): Promise<CdsHttpResponse | undefined> => {
    const path = request.url.pathname.replace(/\/+$/u, '');
    if (path === '/cds-services') {
      if (request.method !== 'GET')
        return { status: 405, headers: { ...JSON_TYPE, Allow: 'GET' }, body: { error: 'use GET' } };
      return {
        status: 200,
        headers: JSON_TYPE,
        body: {
          services: CDS_SERVICES.map((s) => ({
            hook: s.hook,
            id: s.id,
            title: s.title,
            description: s.description,
            prefetch: s.prefetch,
          })),
        },
      };
    }
    if (!path.startsWith('/cds-services/')) return undefined;
    const service = CDS_SERVICES.find((s) => `/cds-services/${s.id}` === path);
    if (service === undefined) {
      return {
        status: 404,
        headers: { 'Content-Type': 'application/problem+json' },
        body: {
          type: 'urn:carekey:problem:unknown-cds-service',
          title: 'Not Found',
          status: 404,
          detail: `no CDS service at ${path}`,
          code: 'unknown-cds-service',
        },
      };
    }
    if (request.method !== 'POST')
      return { status: 405, headers: { ...JSON_TYPE, Allow: 'POST' }, body: { error: 'use POST' } };
    const caller = await context.authorize(request);
    const log = (status: number, reason?: string) =>
      context.log?.({
        client: caller.client,
        interaction: 'operation',
        request: `POST ${path}`,
        status,
        ...(reason === undefined ? {} : { reason }),
      });
    let cds: ReturnType<typeof parseCdsRequest>;
    try {
      cds = parseCdsRequest(request.body, service.hook);
    } catch (error) {
      if (!(error instanceof CdsRequestError)) throw error;
      log(400, error.message);
      return badRequest(`invalid CDS Hooks request: ${error.message}`, error.path);
    }
    const { store } = context;
    const patient = store.get('Patient', cds.context.patientId)?.patient;
    const records: SourcedResource[] = [];
    if (patient !== undefined) {
      for (const record of store.search({ patient, resourceType: REVEALED })) {
        if (!readable(caller, cds.context.patientId, record)) continue;
        const source: RecordSource = {
          custodian: record.custodian ?? record.patient,
          recordId: record.recordId,
        };
        records.push({ resource: record.resource, source });
      }
    }
    const index = buildPatientIndex({ records });
    const cards: CdsCard[] = findDuplicateOrders({
      index,
      orders: ordersToCheck(cds),
      now: now(),
      windows,
      linkOf: (source) => {
        const record = store.getRecord(source.recordId as Hex);
        return record === undefined
          ? undefined
          : `${context.baseUrl}/${record.resourceType}/${record.fhirId}`;
      },
    });
    log(200);
    return { status: 200, headers: JSON_TYPE, body: { cards } };
  };
}

/** The handler with the default windows, for the gateway to mount. */
export const cdsHooksHandler = createCdsHooksHandler();
