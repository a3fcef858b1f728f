import type { TSchema } from '@sinclair/typebox';
import type { AnyRoute } from './defineRoute.ts';
import { PROBLEM_CONTENT_TYPE } from './toProblem.ts';

/** Name of the security scheme of `node-request` routes in the document. */
export const NODE_REQUEST_SCHEME = 'carekeyAuth';

export type BuildOpenApiDocumentParameters = {
  routes: readonly AnyRoute[];
  /** The node software's version (`info.version`). */
  version: string;
};

/** An OpenAPI 3.1 document (plain JSON). */
export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, OpenApiOperation>>;
  components: Record<string, unknown>;
};

/** One operation; `x-carekey-auth` names the route's auth policy (T-12: every operation has one). */
export type OpenApiOperation = {
  operationId: string;
  summary: string;
  'x-carekey-auth': AnyRoute['auth'];
  [key: string]: unknown;
};

const problemSchema = {
  type: 'object',
  required: ['type', 'title', 'status', 'detail', 'code'],
  properties: {
    type: { type: 'string', description: '`urn:carekey:problem:<code>`' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string', description: 'stable reason code, e.g. `replayed`, `invalid-blob-id`' },
  },
};

const problemResponse = (description: string) => ({
  description,
  content: { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** JSON of a TypeBox schema without its symbol keys (TypeBox schemas are JSON Schema 2020-12). */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema));
}

/**
 * Generates the OpenAPI 3.1 document of a route table: one operation per route with its parameters, request
 * body, responses (plus the problem responses every route can give) and its auth policy.
 *
 * @example
 * const doc = buildOpenApiDocument({ routes, version: '0.1.0' });
 */
export function buildOpenApiDocument(parameters: BuildOpenApiDocumentParameters): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of parameters.routes) {
    const parametersList: unknown[] = [];
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
    ] as const) {
      if (schema === undefined) continue;
      const json = plain(schema) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, property] of Object.entries(json.properties ?? {})) {
        parametersList.push({
          name,
          in: where,
          required: where === 'path' || (json.required ?? []).includes(name),
          schema: property,
        });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(route.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.schema !== undefined
          ? { content: { 'application/json': { schema: plain(spec.schema) } } }
          : spec.contentType !== undefined
            ? { content: { [spec.contentType]: { schema: { type: 'string', format: 'binary' } } } }
            : {}),
      };
    }
    responses['400'] ??= problemResponse('malformed request (problem+json)');
    if (route.auth !== 'public') {
      responses['401'] ??= problemResponse('missing, malformed, stale, replayed or mis-signed request');
      responses['403'] ??= problemResponse('signed by a key that does not own the identity');
    }
    responses['500'] ??= problemResponse('internal error (no detail)');
    const operation: OpenApiOperation = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description !== undefined ? { description: route.description } : {}),
      ...(route.tags !== undefined ? { tags: route.tags } : {}),
      'x-carekey-auth': route.auth,
      ...(route.auth === 'node-request' ? { security: [{ [NODE_REQUEST_SCHEME]: [] }] } : { security: [] }),
      ...(parametersList.length > 0 ? { parameters: parametersList } : {}),
      ...(route.body !== undefined
        ? { requestBody: { required: true, content: { 'application/json': { schema: plain(route.body) } } } }
        : route.streamBody !== undefined
          ? {
              requestBody: {
                required: true,
                description: route.streamBody.description,
                content: { [route.streamBody.contentType]: { schema: { type: 'string', format: 'binary' } } },
              },
            }
          : {}),
      responses,
    };
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Carekey node',
      version: parameters.version,
      description:
        'The Carekey node API (docs/api.md, docs/protocol.md). Errors are RFC 9457 application/problem+json with a stable `code`.',
    },
    paths,
    components: {
      schemas: { Problem: problemSchema },
      securitySchemes: {
        [NODE_REQUEST_SCHEME]: {
          type: 'apiKey',
          in: 'header',
          name: 'Carekey-Auth',
          description:
            'base64url JSON of a signed EIP-712 NodeRequest binding method, path with query, body SHA-256, audience, nonce and a ≤ 300 s validity window',
        },
      },
    },
  };
}
