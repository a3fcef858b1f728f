import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayCaller } from '../auth/gatewayToken.ts';
import type { GatewayAccessEntry } from '../fhir/accessLogToAuditEvent.ts';
import type { GatewayStore } from '../store/openGatewayStore.ts';

/** A request as a gateway route sees it: the body is parsed JSON (T-19 safe parser, at most 1 MiB) or undefined. */
export type GatewayRequest = {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: unknown;
};

/** A route's answer: a JSON body (or text for NDJSON), status and extra headers. */
export type GatewayResponse = {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised unless a string (sent as is). */
  body?: unknown;
};

/** What a mounted route (e.g. CDS Hooks) can use. */
export type GatewayContext = {
  store: GatewayStore;
  /** The gateway's base URL (`http://127.0.0.1:<port>`): build links to records with it (`${baseUrl}/Observation/1`). */
  baseUrl: string;
  /** Checks the request's bearer token; throws a 401 `FhirError` when missing, malformed or expired. */
  authorize(request: GatewayRequest): Promise<GatewayCaller>;
  /** Appends to the gateway's access log (served as AuditEvent). */
  log(entry: Omit<GatewayAccessEntry, 'id' | 'at'>): void;
};

/**
 * A mounted route: answers the requests it owns, `undefined` for the others. The gateway mounts the CDS Hooks
 * service this way (`packages/cli/src/gateway/cdsHooks/index.ts` exporting `cdsHooksHandler`). A thrown
 * `FhirError` becomes an OperationOutcome with its status; anything else a 500.
 */
export type GatewayRouteHandler = (
  request: GatewayRequest,
  context: GatewayContext,
) => Promise<GatewayResponse | undefined>;
