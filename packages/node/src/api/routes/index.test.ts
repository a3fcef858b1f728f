import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../buildOpenApiDocument.ts';
import { checkRouteTable } from '../createApiServer.ts';
import { type AnyRoute, AUTH_POLICIES } from '../defineRoute.ts';
import { routes } from './index.ts';

const noop = async () => ({ status: 200, body: {} });

describe('the route table', () => {
  it('T-12 every route declares a known auth policy, and routes that carry a signature verify it', () => {
    expect(routes.length).toBeGreaterThanOrEqual(6);
    for (const route of routes) {
      expect(AUTH_POLICIES, `${route.method} ${route.path}`).toContain(route.auth);
      if (route.auth === 'signed-payload') expect(typeof route.verifyPayload).toBe('function');
    }
    expect(() => checkRouteTable(routes)).not.toThrow();
  });

  it('T-12 only the listed descriptive routes are public; blob routes need a signed request', () => {
    // A new public route fails here until it is added to this list on purpose (T-12: no unannotated key route).
    const PUBLIC = [
      'GET /v1/node',
      'GET /v1/did/{address}',
      'GET /v1/did/{address}/nonce',
      // Nonces are public on chain; the node adds only its own queued writes' count.
      'GET /v1/nonces/{address}',
      // Identity (docs/identity.md): resolver config, challenges, disclosed verified identities, status lists, issuers.
      'GET /v1/identity/resolver',
      'GET /v1/credentials/challenge',
      'GET /v1/credentials/{address}',
      'GET /v1/status-lists/{issuer}/{listId}',
      'GET /v1/issuers/{address}',
      // Stolen-phone recovery (docs/recovery.md): the state is public on chain; executing after the delay is
      // anyone's call (the contract checks approvals and time).
      'GET /v1/recovery/{address}',
      'POST /v1/recovery/execute',
      // Emergency (docs/emergency.md): the emergency key's public half and limits; a patient's policy (public on
      // chain) and whether its summary is here (record id only).
      'GET /v1/emergency',
      'GET /v1/emergency/policies/{address}',
    ];
    const policy = new Map(routes.map((r) => [`${r.method} ${r.path}`, r.auth]));
    for (const [route, auth] of policy) {
      if (auth === 'public') expect(PUBLIC, route).toContain(route);
    }
    for (const route of PUBLIC) expect(policy.get(route)).toBe('public');
    expect(policy.get('PUT /v1/blobs/{cid}')).toBe('node-request');
    expect(policy.get('GET /v1/blobs/{cid}')).toBe('node-request');
    expect(policy.get('POST /v1/did/attributes')).toBe('signed-payload');
  });

  it('T-12 a route without a policy, a signed-payload route without a verifier, or a duplicate is refused', () => {
    const base = {
      operationId: 'x',
      method: 'GET',
      path: '/x',
      summary: 'x',
      responses: {},
      handler: noop,
    } as const;
    expect(() => checkRouteTable([{ ...base } as unknown as AnyRoute])).toThrow(/no auth policy/);
    expect(() => checkRouteTable([{ ...base, auth: 'admin' } as unknown as AnyRoute])).toThrow(
      /no auth policy/,
    );
    expect(() => checkRouteTable([{ ...base, auth: 'signed-payload' } as AnyRoute])).toThrow(
      /no verifyPayload/,
    );
    expect(() =>
      checkRouteTable([
        { ...base, auth: 'public' },
        { ...base, auth: 'public', operationId: 'y' },
      ]),
    ).toThrow(/duplicate route/);
  });

  it('the OpenAPI document lists every route with its policy, parameters and problem responses', () => {
    const echo: AnyRoute = {
      operationId: 'echo',
      method: 'POST',
      path: '/v1/echo/{id}',
      summary: 'echo',
      auth: 'node-request',
      params: Type.Object({ id: Type.String() }),
      body: Type.Object({ a: Type.String() }),
      responses: { 200: { description: 'ok', schema: Type.Object({ a: Type.String() }) } },
      handler: noop,
    };
    const doc = buildOpenApiDocument({ routes: [...routes, echo], version: '9.9.9' });
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe('9.9.9');
    const op = doc.paths['/v1/echo/{id}']?.post;
    expect(op).toMatchObject({
      operationId: 'echo',
      'x-carekey-auth': 'node-request',
      security: [{ carekeyAuth: [] }],
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: { content: { 'application/json': { schema: { type: 'object' } } } },
    });
    expect(Object.keys(op?.responses as object).sort()).toEqual(['200', '400', '401', '403', '500']);
    expect(doc.paths['/v1/blobs/{cid}']).toHaveProperty('put');
    expect(doc.paths['/v1/blobs/{cid}']).toHaveProperty('get');
    expect(doc.paths['/v1/blobs/{cid}']?.put?.requestBody).toMatchObject({
      content: { 'application/octet-stream': { schema: { format: 'binary' } } },
    });
  });
});
