import type { Readable } from 'node:stream';
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { Address } from 'viem';
import type { ApiServices } from './ApiServices.ts';

/**
 * Who may call a route. Every route declares one; the server refuses to register a route without it and a CI
 * test fails on any route whose policy is missing (THREAT-MODEL T-12).
 *
 * - `public` — no authentication (node description, OpenAPI document, public DID data).
 * - `node-request` — a signed `NodeRequest` in the `Carekey-Auth` header, checked by the auth layer before the
 *   body is validated: method, path with query, body hash, audience, freshness, nonce never used, signer is the
 *   identity's owner at the chain head. The handler receives the verified identity.
 * - `signed-payload` — the JSON body carries its own signature (a chain meta-transaction); the route's
 *   `verifyPayload` (run by the layer after validation, before the handler) returns the identity it proves.
 */
export type AuthPolicy = 'public' | 'node-request' | 'signed-payload';

/** Every {@link AuthPolicy}, for checks at run time. */
export const AUTH_POLICIES: readonly AuthPolicy[] = ['public', 'node-request', 'signed-payload'];

/** HTTP methods routes may use. */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One documented response of a route. */
export type RouteResponseSpec = {
  description: string;
  /** JSON body schema; the server also serialises through it, so undeclared fields never leave. */
  schema?: TSchema;
  /** Media type of a non-JSON body, e.g. `application/octet-stream`. */
  contentType?: string;
};

/** What a handler returns: a JSON body, or a byte stream with its headers. */
export type RouteResult =
  | { status: number; body: unknown; headers?: Record<string, string> }
  | { status: number; stream: Readable; contentType: string; headers?: Record<string, string> };

/** What a handler receives; `identity` is the verified caller on authenticated routes. */
export type RouteContext<params, query, body, identity> = {
  params: params;
  query: query;
  body: body;
  /** The request body as a byte stream, for routes declared with `streamBody`. */
  stream: Readable | undefined;
  identity: identity;
  services: ApiServices;
  /** Request headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
};

type EmptyObject = TObject<Record<string, never>>;

/** A route as data: method, path, schemas and policy next to the handler. */
export type RouteDefinition<
  params extends TSchema = EmptyObject,
  query extends TSchema = EmptyObject,
  body extends TSchema = EmptyObject,
  auth extends AuthPolicy = AuthPolicy,
> = {
  /** Unique, camelCase; the OpenAPI `operationId`. */
  operationId: string;
  method: RouteMethod;
  /** OpenAPI path template, e.g. `/v1/blobs/{cid}`. */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  auth: auth;
  params?: params;
  query?: query;
  /** JSON request body schema. */
  body?: body;
  /** The body is streamed bytes of this media type (not JSON). The signed body hash is then zero. */
  streamBody?: { contentType: 'application/octet-stream'; description: string };
  responses: Record<number, RouteResponseSpec>;
  handler: (
    context: RouteContext<
      Static<params>,
      Static<query>,
      Static<body>,
      auth extends 'public' ? undefined : Address
    >,
  ) => Promise<RouteResult>;
} & (auth extends 'signed-payload'
  ? {
      /**
       * Checks the signature the body carries and returns the identity it proves.
       * @throws ApiError 401/403 when it does not verify.
       */
      verifyPayload: (context: { body: Static<body>; services: ApiServices }) => Promise<Address>;
    }
  : { verifyPayload?: never });

/** A route of any shape, as kept in a route table (each was type-checked by {@link defineRoute}). */
export type AnyRoute = Omit<
  RouteDefinition<TSchema, TSchema, TSchema, AuthPolicy>,
  'handler' | 'verifyPayload'
> & {
  // biome-ignore lint/suspicious/noExplicitAny: the table erases each route's context type; defineRoute checked it.
  handler: (context: any) => Promise<RouteResult>;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  verifyPayload?: ((context: any) => Promise<Address>) | undefined;
};

/**
 * Declares a route; only checks types (schemas ↔ handler context, `verifyPayload` required for
 * `signed-payload`). Add it to `routes/index.ts` to serve it.
 *
 * @example
 * export const getNode = defineRoute({
 *   operationId: 'getNode', method: 'GET', path: '/v1/node', summary: 'Describe this node', auth: 'public',
 *   responses: { 200: { description: 'the node', schema: NodeDescription } },
 *   handler: async ({ services }) => ({ status: 200, body: describe(services) }),
 * });
 */
export function defineRoute<
  params extends TSchema = EmptyObject,
  query extends TSchema = EmptyObject,
  body extends TSchema = EmptyObject,
  auth extends AuthPolicy = AuthPolicy,
>(route: RouteDefinition<params, query, body, auth>): RouteDefinition<params, query, body, auth> {
  return route;
}
