import type { OpenApiDocument } from '../buildOpenApiDocument.ts';
import { defineRoute } from '../defineRoute.ts';

/** `GET /openapi.json`: the OpenAPI 3.1 document generated from the route table (this route included). */
export function createGetOpenApiRoute(document: () => OpenApiDocument) {
  return defineRoute({
    operationId: 'getOpenApi',
    method: 'GET',
    path: '/openapi.json',
    summary: 'The OpenAPI 3.1 document of this API',
    tags: ['node'],
    auth: 'public',
    responses: { 200: { description: 'the OpenAPI document', contentType: 'application/json' } },
    handler: async () => ({ status: 200, body: document() }),
  });
}
