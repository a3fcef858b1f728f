import type { Bundle, MedicationRequest, Resource, ServiceRequest } from '@medplum/fhirtypes';

/** The hooks the duplicate-order services answer. */
export type CdsHook = 'order-select' | 'order-sign';

/** A CDS Hooks request (https://cds-hooks.hl7.org/2.0/#http-request), checked. */
export type CdsRequest = {
  hook: CdsHook;
  hookInstance: string;
  fhirServer?: string;
  context: {
    userId: string;
    patientId: string;
    encounterId?: string;
    /** `order-select` only: `ResourceType/id` of the orders just selected (each in `draftOrders`). */
    selections?: string[];
    draftOrders: Bundle;
  };
  prefetch?: Record<string, unknown>;
};

/** The draft orders the services look at. */
export type DraftOrder = ServiceRequest | MedicationRequest;

/** A request the services cannot answer: 400, with the JSON path of the fault. */
export class CdsRequestError extends Error {
  override name = 'CdsRequestError';
  readonly path: string;
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
  }
}

const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/u;
const REFERENCE = /^[A-Z][A-Za-z]{1,63}\/[A-Za-z0-9\-.]{1,64}$/u;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/u;
/** Most draft orders in one request. */
export const MAX_DRAFT_ORDERS = 200;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const quote = (v: unknown) => {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
};

function string(value: unknown, path: string, pattern?: RegExp, what?: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw new CdsRequestError(path, `expected a non-empty string, got ${quote(value)}`);
  if (pattern !== undefined && !pattern.test(value))
    throw new CdsRequestError(path, `${quote(value)} is not ${what}`);
  return value;
}

/**
 * Checks a CDS Hooks request body for the `order-select` / `order-sign` services: `hook` (the service's own),
 * `hookInstance` (a UUID), `context.userId` (`Practitioner/123`…), `context.patientId` (a FHIR id),
 * `context.draftOrders` (a Bundle whose entries each hold a resource, at most 200), for `order-select`
 * `context.selections` (references to draft orders), and optional `fhirServer`, `prefetch`, `encounterId`.
 *
 * @throws {CdsRequestError} naming the first fault's path, e.g. `context.patientId: expected a non-empty string`.
 */
export function parseCdsRequest(body: unknown, hook: CdsHook): CdsRequest {
  if (!isObject(body)) throw new CdsRequestError('(body)', `expected a JSON object, got ${quote(body)}`);
  if (body.hook !== hook)
    throw new CdsRequestError('hook', `this service answers ${quote(hook)}, got ${quote(body.hook)}`);
  const hookInstance = string(body.hookInstance, 'hookInstance', UUID, 'a UUID');
  if (!isObject(body.context))
    throw new CdsRequestError('context', `expected an object, got ${quote(body.context)}`);
  const c = body.context;
  const userId = string(c.userId, 'context.userId', REFERENCE, 'a reference like "Practitioner/123"');
  const patientId = string(c.patientId, 'context.patientId', FHIR_ID, 'a FHIR id');
  const drafts = c.draftOrders;
  if (!isObject(drafts) || drafts.resourceType !== 'Bundle')
    throw new CdsRequestError('context.draftOrders', `expected a FHIR Bundle, got ${quote(drafts)}`);
  const entries = drafts.entry ?? [];
  if (!Array.isArray(entries))
    throw new CdsRequestError('context.draftOrders.entry', `expected an array, got ${quote(entries)}`);
  if (entries.length > MAX_DRAFT_ORDERS)
    throw new CdsRequestError(
      'context.draftOrders.entry',
      `${entries.length} orders, over the limit of ${MAX_DRAFT_ORDERS}`,
    );
  const ids = new Set<string>();
  entries.forEach((entry, i) => {
    const path = `context.draftOrders.entry[${i}].resource`;
    const resource = isObject(entry) ? entry.resource : undefined;
    if (!isObject(resource))
      throw new CdsRequestError(path, `expected a FHIR resource, got ${quote(resource)}`);
    string(resource.resourceType, `${path}.resourceType`, /^[A-Z][A-Za-z]{1,63}$/u, 'a FHIR resource type');
    if (resource.id !== undefined)
      ids.add(`${resource.resourceType}/${string(resource.id, `${path}.id`, FHIR_ID, 'a FHIR id')}`);
    for (const element of ['code', 'medicationCodeableConcept'] as const) {
      const concept = resource[element];
      if (concept === undefined) continue;
      if (!isObject(concept) || (concept.coding !== undefined && !Array.isArray(concept.coding)))
        throw new CdsRequestError(`${path}.${element}`, `expected a CodeableConcept, got ${quote(concept)}`);
    }
  });
  const request: CdsRequest = {
    hook,
    hookInstance,
    context: { userId, patientId, draftOrders: drafts as unknown as Bundle },
  };
  if (c.encounterId !== undefined)
    request.context.encounterId = string(c.encounterId, 'context.encounterId', FHIR_ID, 'a FHIR id');
  if (hook === 'order-select') {
    const selections = c.selections;
    if (!Array.isArray(selections) || selections.length === 0)
      throw new CdsRequestError(
        'context.selections',
        `expected a non-empty array of references, got ${quote(selections)}`,
      );
    request.context.selections = selections.map((s, i) => {
      const ref = string(s, `context.selections[${i}]`, REFERENCE, 'a reference like "ServiceRequest/1"');
      if (!ids.has(ref))
        throw new CdsRequestError(`context.selections[${i}]`, `${quote(ref)} is not among the draft orders`);
      return ref;
    });
  }
  if (body.fhirServer !== undefined)
    request.fhirServer = string(body.fhirServer, 'fhirServer', /^https?:\/\//u, 'an http(s) URL');
  if (body.prefetch !== undefined && body.prefetch !== null) {
    if (!isObject(body.prefetch))
      throw new CdsRequestError('prefetch', `expected an object, got ${quote(body.prefetch)}`);
    request.prefetch = body.prefetch;
  }
  return request;
}

/** The draft orders a request asks about: all for `order-sign`, the selected ones for `order-select`. */
export function ordersToCheck(request: CdsRequest): DraftOrder[] {
  const all = (request.context.draftOrders.entry ?? [])
    .map((e) => e.resource as Resource)
    .filter(
      (r): r is DraftOrder => r.resourceType === 'ServiceRequest' || r.resourceType === 'MedicationRequest',
    );
  const selections = request.context.selections;
  return selections === undefined ? all : all.filter((r) => selections.includes(`${r.resourceType}/${r.id}`));
}
