import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { EMPTY_BODY_HASH } from '@carekey/sdk/protocol';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Address, Hex } from 'viem';
import { ApiError } from './ApiError.ts';
import type { ApiServices } from './ApiServices.ts';
import { authenticateNodeRequest } from './authenticateNodeRequest.ts';
import { buildOpenApiDocument, type OpenApiDocument } from './buildOpenApiDocument.ts';
import { type AnyRoute, AUTH_POLICIES, type RouteContext } from './defineRoute.ts';
import type { NonceStore } from './NonceStore.ts';
import { MAX_JSON_DEPTH, parseStrictJson } from './parseStrictJson.ts';
import { installRateLimits, loadRateLimits, type RateLimitSettings } from './rateLimits.ts';
import { createGetOpenApiRoute } from './routes/getOpenApi.ts';
import { servePortal } from './servePortal.ts';
import { PROBLEM_CONTENT_TYPE, problem, toProblem } from './toProblem.ts';

/** Largest JSON body, bytes (THREAT-MODEL T-19: 1 MiB of metadata). */
export const DEFAULT_MAX_JSON_BYTES = 1 << 20;

/** One request log line. Deliberately without query, headers, body, identities or ids (T-10). */
export type ApiLogEntry =
  | { event: 'request'; method: string; route: string; status: number; ms: number }
  | { event: 'error'; method: string; route: string; status: number; error: string };

export type CreateApiServerParameters = {
  services: ApiServices;
  /** The route table (usually `routes` from `routes/index.ts`); `GET /openapi.json` is added to it. */
  routes: readonly AnyRoute[];
  nonces: NonceStore;
  /** Exact origins allowed to call from a browser (e.g. `https://portal.example`); default none. Never `*`. */
  corsOrigins?: readonly string[] | undefined;
  /** Largest JSON body in bytes (default 1 MiB). */
  maxJsonBytes?: number | undefined;
  /** Deepest JSON nesting (default 32). */
  maxJsonDepth?: number | undefined;
  /** Where request log lines go (default: nowhere). */
  log?: ((entry: ApiLogEntry) => void) | undefined;
  /** Per-IP and per-identity limits of the write and key-release routes (T-24); default from the environment. */
  rateLimits?: RateLimitSettings | undefined;
  /** Node clock for signed-request freshness, seconds (tests). */
  now?: (() => number) | undefined;
  /** Serve the built web portal from `dir` at `/` (`servePortal`); default: no portal. */
  portal?: { dir: string } | undefined;
};

/** The API, built but not listening. */
export type ApiServer = {
  app: FastifyInstance;
  /** The served route table, `GET /openapi.json` included. */
  routes: readonly AnyRoute[];
  openapi: OpenApiDocument;
};

export type CreateApiServerReturnType = ApiServer;

declare module 'fastify' {
  interface FastifyRequest {
    /** The JSON body's bytes as received (what the signed body hash covers). */
    carekeyRawBody: Buffer | null;
    /** The identity the auth layer verified. */
    carekeyIdentity: Address | null;
  }
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  // meaningful once a TLS terminator fronts the node; browsers ignore it over plain HTTP.
  'strict-transport-security': 'max-age=31536000',
};

/**
 * Builds the node's HTTP API (Fastify) from a route table: strict JSON parsing with a size and depth limit,
 * streamed octet-stream bodies for blob routes, the one auth layer every non-public route goes through,
 * RFC 9457 problems for every error, security headers, exact-origin CORS, and minimal request logs.
 *
 * @throws {Error} a route without a known auth policy, a `signed-payload` route without `verifyPayload`, a
 * duplicate `operationId` or method+path, or a CORS origin that is not an exact origin.
 * @example
 * const { app } = createApiServer({ services, routes, nonces });
 * await app.listen({ host: '127.0.0.1', port: 0 });
 */
export function createApiServer(parameters: CreateApiServerParameters): CreateApiServerReturnType {
  const { services, nonces } = parameters;
  const log = parameters.log ?? (() => {});
  const maxJsonBytes = parameters.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES;
  const maxDepth = parameters.maxJsonDepth ?? MAX_JSON_DEPTH;
  const corsOrigins = new Set(parameters.corsOrigins ?? []);
  for (const origin of corsOrigins) {
    let exact = false;
    try {
      exact = new URL(origin).origin === origin;
    } catch {}
    if (!exact)
      throw new Error(`CORS origin ${JSON.stringify(origin)} is not an exact origin like https://a.example`);
  }

  let openapi: OpenApiDocument | undefined;
  const routes = [...parameters.routes, createGetOpenApiRoute(() => openapi as OpenApiDocument)];
  checkRouteTable(routes);
  openapi = buildOpenApiDocument({ routes, version: services.version });

  const app = Fastify({
    logger: false,
    exposeHeadRoutes: false,
    bodyLimit: maxJsonBytes,
    return503OnClosing: true,
    forceCloseConnections: true,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 500 },
    ajv: {
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false },
    },
  });
  app.decorateRequest('carekeyRawBody', null);
  app.decorateRequest('carekeyIdentity', null);

  // Bodies: strict JSON (T-19), or a raw stream for routes that declare one; nothing else (415).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: maxJsonBytes },
    (
      request: FastifyRequest,
      body: Buffer | string,
      done: (error: Error | null, value?: unknown) => void,
    ) => {
      const bytes = typeof body === 'string' ? Buffer.from(body) : body;
      request.carekeyRawBody = bytes;
      try {
        done(null, parseStrictJson({ text: bytes, maxDepth }));
      } catch (error) {
        done(error as Error);
      }
    },
  );
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.addHook('onRequest', async (request, reply) => {
    refuseDotSegments(request.url);
    const origin = request.headers.origin;
    const allowed = typeof origin === 'string' && corsOrigins.has(origin);
    if (allowed) {
      reply.header('access-control-allow-origin', origin);
      reply.header('vary', 'Origin');
    }
    if (request.method === 'OPTIONS') {
      if (!allowed) {
        throw new ApiError({
          status: 403,
          code: 'cors-refused',
          detail: 'cross-origin calls from this origin are not allowed',
        });
      }
      reply.header('access-control-allow-methods', 'GET, POST, PUT, DELETE');
      reply.header('access-control-allow-headers', 'content-type, carekey-auth');
      reply.header('access-control-max-age', '600');
      return reply.code(204).send();
    }
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value);
    return payload;
  });
  app.addHook('onResponse', async (request, reply) => {
    log({
      event: 'request',
      method: request.method,
      route: request.routeOptions.url ?? '(unmatched)',
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
  });

  app.setErrorHandler(async (error, request, reply) => {
    const { internal, ...body } = toProblem(error);
    if (internal) {
      log({
        event: 'error',
        method: request.method,
        route: request.routeOptions.url ?? '(unmatched)',
        status: body.status,
        error: error instanceof Error ? error.name : typeof error,
      });
    }
    return sendProblem(reply, body);
  });
  app.setNotFoundHandler(async (_request, reply) =>
    sendProblem(reply, problem(404, 'not-found', 'no such route; see GET /openapi.json')),
  );

  const limits = installRateLimits(app, parameters.rateLimits ?? loadRateLimits());
  for (const route of routes) register(app, route);
  if (parameters.portal !== undefined) servePortal({ app, dir: parameters.portal.dir });
  return { app, routes, openapi };

  function register(instance: FastifyInstance, route: AnyRoute): void {
    const response: Record<number, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      if (spec.schema !== undefined) response[Number(status)] = spec.schema;
    }
    const streamed = route.streamBody !== undefined;
    // T-24: every write and the key release are rate limited, per IP first (before any signature is checked).
    const limited = route.method !== 'GET';
    instance.route({
      method: route.method,
      url: route.path.replace(/\{(\w+)\}/gu, ':$1'),
      schema: {
        ...(route.params !== undefined ? { params: route.params } : {}),
        ...(route.query !== undefined ? { querystring: route.query } : {}),
        ...(route.body !== undefined ? { body: route.body } : {}),
        response,
      },
      ...(limited ? { onRequest: (request, reply) => limits.byIp(request, reply) } : {}),
      // The auth layer runs before schema validation, so an unauthenticated caller learns nothing about schemas.
      preValidation: async (request) => {
        if (route.auth === 'node-request') {
          request.carekeyIdentity = await authenticateNodeRequest({
            header: request.headers['carekey-auth'],
            method: request.method,
            url: request.url,
            bodyHash: streamed ? EMPTY_BODY_HASH : hashOf(request.carekeyRawBody),
            services,
            nonces,
            now: parameters.now?.(),
          });
        }
        const isStream = request.body instanceof Readable;
        if (streamed !== isStream) {
          throw new ApiError({
            status: 415,
            code: 'unsupported-media-type',
            detail: streamed
              ? `send the body as ${route.streamBody?.contentType}`
              : 'send the body as application/json',
          });
        }
      },
      handler: async (request, reply) => {
        let identity: Address | undefined;
        if (route.auth === 'node-request') identity = request.carekeyIdentity ?? undefined;
        else if (route.auth === 'signed-payload' && route.verifyPayload !== undefined) {
          identity = await route.verifyPayload({ body: request.body, services });
        }
        if (limited && identity !== undefined) await limits.byIdentity(identity, request, reply);
        if (route.auth !== 'public' && identity === undefined) {
          throw new ApiError({
            status: 401,
            code: 'missing-auth',
            detail: 'this route needs authentication',
          });
        }
        const context: RouteContext<unknown, unknown, unknown, Address | undefined> = {
          params: request.params,
          query: request.query,
          body: streamed ? undefined : request.body,
          stream: streamed ? (request.body as Readable) : undefined,
          identity,
          services,
          headers: request.headers,
        };
        const result = await route.handler(context as never);
        reply.code(result.status);
        for (const [name, value] of Object.entries(result.headers ?? {})) reply.header(name, value);
        if ('stream' in result) return reply.type(result.contentType).send(result.stream);
        return reply.type('application/json; charset=utf-8').send(result.body);
      },
    });
  }
}

function hashOf(body: Buffer | null): Hex {
  if (body === null || body.length === 0) return EMPTY_BODY_HASH;
  return `0x${createHash('sha256').update(body).digest('hex')}`;
}

function sendProblem(reply: FastifyReply, body: ReturnType<typeof problem>) {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(body));
}

/**
 * Refuses `.` and `..` path segments (also percent-encoded), backslashes and NUL anywhere in the path, rather than
 * normalising them (RFC 3986 §5.2.4): no route needs them, and a blob id never contains one (T-20).
 */
function refuseDotSegments(url: string): void {
  const path = url.split('?', 1)[0] ?? '';
  for (const raw of path.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      throw new ApiError({
        status: 400,
        code: 'invalid-path',
        detail: 'the path is not valid percent-encoding',
      });
    }
    if (segment === '.' || segment === '..' || segment.includes('\\') || segment.includes('\0')) {
      throw new ApiError({
        status: 400,
        code: 'invalid-path',
        detail: 'the path contains a dot segment, a backslash or NUL',
      });
    }
  }
}

/**
 * T-12: a route table is served only if every route declares a known auth policy (and `signed-payload` routes
 * their verifier), and no two routes share an `operationId` or a method and path.
 *
 * @throws {Error} naming the offending route.
 */
export function checkRouteTable(routes: readonly AnyRoute[]): void {
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const route of routes) {
    const name = `${route.method} ${route.path}`;
    if (!AUTH_POLICIES.includes(route.auth)) throw new Error(`route ${name} declares no auth policy`);
    if (route.auth === 'signed-payload' && typeof route.verifyPayload !== 'function') {
      throw new Error(`route ${name} is signed-payload but has no verifyPayload`);
    }
    if (ids.has(route.operationId)) throw new Error(`duplicate operationId ${route.operationId}`);
    if (keys.has(name)) throw new Error(`duplicate route ${name}`);
    ids.add(route.operationId);
    keys.add(name);
  }
}
