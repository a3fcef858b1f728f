import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobIdFromDigest, encodeBlobBatch } from '@carekey/sdk/blobs';
import { changeIdentityOwner } from '@carekey/sdk/chain';
import { Type } from '@sinclair/typebox';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CarekeyNode, startNode } from '../startNode.ts';
import type { ApiLogEntry } from './createApiServer.ts';
import { createApiServer } from './createApiServer.ts';
import { createMemoryNonceStore } from './createMemoryNonceStore.ts';
import { defineRoute } from './defineRoute.ts';
import { routes } from './routes/index.ts';
import {
  type RequestNodeParameters,
  type RequestNodeReturnType,
  requestNode,
  signedHeaders,
} from './testing/requestNode.ts';

const MAX_BLOB = 8 << 20;
const echo = defineRoute({
  operationId: 'testEcho',
  method: 'POST',
  path: '/v1/test/echo',
  summary: 'test-only: echoes the verified identity and a message',
  auth: 'node-request',
  body: Type.Object({ message: Type.String() }, { additionalProperties: false }),
  responses: {
    200: {
      description: 'echo',
      schema: Type.Object(
        { identity: Type.String(), message: Type.String() },
        { additionalProperties: false },
      ),
    },
  },
  handler: async ({ identity, body }) => ({ status: 200, body: { identity, message: body.message } }),
});

const patient = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const logs: ApiLogEntry[] = [];
const errors: RequestNodeReturnType[] = [];
let node: CarekeyNode;
let domain: { chainId: number; verifyingContract: `0x${string}` };

async function call(parameters: Omit<RequestNodeParameters, 'url'>): Promise<RequestNodeReturnType> {
  const response = await requestNode({ url: node.api.url, ...parameters });
  if (response.status >= 400) errors.push(response);
  return response;
}

async function signed(
  method: string,
  path: string,
  options: {
    body?: string | Uint8Array;
    sign?: Partial<Parameters<typeof signedHeaders>[0]>;
    headers?: Record<string, string>;
  } = {},
) {
  const signBody = typeof options.body === 'string' ? options.body : undefined;
  const auth = await signedHeaders({
    account: patient,
    domain,
    audience: node.audience,
    method,
    path,
    ...(signBody !== undefined ? { body: signBody } : {}),
    ...options.sign,
  });
  return call({ method, path, body: options.body, headers: { ...options.headers, ...auth } });
}

const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carekey-api-'));
  node = await startNode({
    dataDir,
    shredDelay: 0,
    chain: { port: 0, blockTime: 0 },
    api: {
      port: 0,
      maxBlobBytes: MAX_BLOB,
      routes: [...routes, echo],
      corsOrigins: ['https://portal.example'],
      log: (entry) => logs.push(entry),
    },
  });
  domain = {
    chainId: node.chain.chainId,
    verifyingContract: node.chain.deployment.contracts.consentRegistry.address,
  };
}, 300_000); // PGlite's first initdb in a new data folder takes seconds to tens of seconds

afterAll(async () => {
  await node?.stop();
});

describe('the node API over real HTTP', () => {
  it('GET /v1/node describes the node with security headers and no CORS header', async () => {
    const r = await call({ method: 'GET', path: '/v1/node' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      version: node.version,
      chainId: 31337,
      audience: node.audience,
      contracts: {
        didRegistry: node.chain.deployment.contracts.didRegistry.address,
        recordRegistry: node.chain.deployment.contracts.recordRegistry.address,
        consentRegistry: node.chain.deployment.contracts.consentRegistry.address,
      },
      deployBlock: node.chain.deployment.deployBlock,
    });
    expect(node.audience).toMatch(/^carekey-node:[0-9a-f]{32}$/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('T-12 GET /openapi.json is a well-formed OpenAPI 3.1 document listing every route with its auth policy', async () => {
    const r = await call({ method: 'GET', path: '/openapi.json' });
    expect(r.status).toBe(200);
    const doc = r.json as {
      openapi: string;
      paths: Record<string, Record<string, Record<string, unknown>>>;
      components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe('3.1.0');
    const listed = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(listed.sort()).toEqual(
      [...routes, echo]
        .map((x) => `${x.method} ${x.path}`)
        .concat('GET /openapi.json')
        .sort(),
    );
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const operation of Object.values(item)) {
        expect(['public', 'node-request', 'signed-payload']).toContain(operation['x-carekey-auth']);
        expect(typeof operation.operationId).toBe('string');
        expect(ids.has(operation.operationId as string)).toBe(false);
        ids.add(operation.operationId as string);
        expect(Object.keys(operation.responses as object).length).toBeGreaterThan(0);
        const declared = ((operation.parameters ?? []) as { name: string; in: string }[])
          .filter((p) => p.in === 'path')
          .map((p) => p.name);
        const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        expect(declared.sort()).toEqual(templated.sort());
        if (operation['x-carekey-auth'] === 'node-request') {
          expect(operation.security).toEqual([{ carekeyAuth: [] }]);
        }
      }
    }
    // Every $ref points at a component that exists.
    for (const [, name] of JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)) {
      expect(doc.components.schemas[name as string]).toBeDefined();
    }
    expect(doc.components.securitySchemes.carekeyAuth).toMatchObject({ type: 'apiKey', in: 'header' });
  });

  it('R-1 every authenticated route in the OpenAPI document refuses a call without auth (401)', async () => {
    const cid = blobIdFromDigest(createHash('sha256').update('x').digest()).id;
    const operations = Object.entries(node.api.openapi.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
    );
    const authenticated = operations.filter(({ op }) => op['x-carekey-auth'] === 'node-request');
    expect(authenticated.length).toBeGreaterThanOrEqual(3);
    for (const { path, method } of authenticated) {
      const concrete = path.replace(/\{(\w+)\}/g, (_, name: string) =>
        name === 'cid' ? cid : name === 'address' ? patient.address : `0x${'ab'.repeat(32)}`,
      );
      for (const headers of [{}, { 'carekey-auth': '%%%' }, { 'carekey-auth': 'e30' }]) {
        const r = await call({ method, path: concrete, headers });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect((r.json as { code: string }).code).toMatch(/^(missing-auth|malformed)$/);
      }
    }
  });

  it('R-1 every signed-payload route refuses an empty or unsigned body (4xx, never 2xx)', async () => {
    const operations = Object.entries(node.api.openapi.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
    );
    const signedPayload = operations.filter(({ op }) => op['x-carekey-auth'] === 'signed-payload');
    expect(signedPayload.length).toBeGreaterThanOrEqual(1);
    for (const { path, method } of signedPayload) {
      const concrete = path.replace(/\{(\w+)\}/g, () => `0x${'ab'.repeat(32)}`);
      for (const body of ['{}', JSON.stringify({ signature: `0x${'11'.repeat(65)}` })]) {
        const r = await call({ method, path: concrete, body, headers: json });
        expect([400, 401, 403, 404], `${method} ${path}`).toContain(r.status);
      }
    }
  });

  it('T-1 accepts a fresh signed request once and refuses its replay', async () => {
    const body = JSON.stringify({ message: 'hello' });
    const auth = await signedHeaders({
      account: patient,
      domain,
      audience: node.audience,
      method: 'POST',
      path: '/v1/test/echo',
      body,
    });
    const first = await call({ method: 'POST', path: '/v1/test/echo', body, headers: { ...json, ...auth } });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ identity: patient.address, message: 'hello' });
    const again = await call({ method: 'POST', path: '/v1/test/echo', body, headers: { ...json, ...auth } });
    expect(again.status).toBe(401);
    expect(again.json).toMatchObject({ code: 'replayed', status: 401 });
  });

  it('T-1 refuses bad signature, wrong audience, expired, another path, query, method or body', async () => {
    const body = JSON.stringify({ message: 'hi' });
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Promise<RequestNodeReturnType>, string][] = [
      [
        'wrong audience',
        signed('POST', '/v1/test/echo', { body, headers: json, sign: { audience: 'carekey-node:other' } }),
        'wrong-audience',
      ],
      [
        'expired',
        signed('POST', '/v1/test/echo', { body, headers: json, sign: { now: now - 1000 } }),
        'expired',
      ],
      [
        'future',
        signed('POST', '/v1/test/echo', { body, headers: json, sign: { now: now + 600 } }),
        'not-yet-valid',
      ],
      [
        'other path',
        signed('POST', '/v1/test/echo', { body, headers: json, sign: { path: '/v1/test/other' } }),
        'request-mismatch',
      ],
      [
        'other query',
        signed('POST', '/v1/test/echo?x=1', { body, headers: json, sign: { path: '/v1/test/echo' } }),
        'request-mismatch',
      ],
      [
        'other method',
        signed('POST', '/v1/test/echo', { body, headers: json, sign: { method: 'PUT' } }),
        'request-mismatch',
      ],
      [
        'other body',
        signed('POST', '/v1/test/echo', { body, headers: json, sign: { body: '{"message":"bye"}' } }),
        'body-mismatch',
      ],
      [
        'other chain',
        signed('POST', '/v1/test/echo', { body, headers: json, sign: { domain: { ...domain, chainId: 1 } } }),
        'not-owner',
      ],
    ];
    for (const [what, pending, code] of cases) {
      const r = await pending;
      expect((r.json as { code: string }).code, what).toBe(code);
      expect(r.status, what).toBe(code === 'not-owner' ? 403 : 401);
    }
    // A flipped byte in the signature recovers someone else (403) or nothing (401).
    const auth = await signedHeaders({
      account: patient,
      domain,
      audience: node.audience,
      method: 'POST',
      path: '/v1/test/echo',
      body,
    });
    const envelope = JSON.parse(Buffer.from(auth['carekey-auth'] as string, 'base64url').toString());
    envelope.signature = `${envelope.signature.slice(0, 10)}${envelope.signature[10] === 'a' ? 'b' : 'a'}${envelope.signature.slice(11)}`;
    const tampered = Buffer.from(JSON.stringify(envelope)).toString('base64url');
    const r = await call({
      method: 'POST',
      path: '/v1/test/echo',
      body,
      headers: { ...json, 'carekey-auth': tampered },
    });
    expect([401, 403]).toContain(r.status);
    expect((r.json as { code: string }).code).toMatch(/^(bad-signature|not-owner)$/);
  });

  it('T-6 a key that does not own the identity it names is refused; after a rotation the new owner is accepted', async () => {
    const body = JSON.stringify({ message: 'impostor' });
    const r = await signed('POST', '/v1/test/echo', {
      body,
      headers: json,
      sign: { account: stranger, signer: patient.address },
    });
    expect(r.status).toBe(403);
    expect(r.json).toMatchObject({ code: 'not-owner' });
    const identity = privateKeyToAccount(generatePrivateKey());
    await changeIdentityOwner({
      client: node.chain.client,
      didRegistry: node.chain.deployment.contracts.didRegistry.address,
      identity: identity.address,
      signer: identity,
      newOwner: stranger.address,
    });
    const old = await signed('POST', '/v1/test/echo', { body, headers: json, sign: { account: identity } });
    expect(old.json).toMatchObject({ code: 'not-owner' });
    const rotated = await signed('POST', '/v1/test/echo', {
      body,
      headers: json,
      sign: { account: stranger, signer: identity.address },
    });
    expect(rotated.status).toBe(200);
    expect(rotated.json).toEqual({ identity: identity.address, message: 'impostor' });
  });

  it('T-19 refuses an oversized JSON body (413), __proto__ / constructor keys, deep nesting, duplicate keys, bad UTF-8 and bad JSON (400)', async () => {
    const big = JSON.stringify({ message: 'x'.repeat(2 << 20) });
    const tooBig = await signed('POST', '/v1/test/echo', { body: big, headers: json });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json).toMatchObject({ code: 'body-too-large' });
    const bodies: [string, string | Uint8Array, string][] = [
      ['__proto__', '{"message":"a","__proto__":{"admin":true}}', 'forbidden-key'],
      ['nested __proto__', '{"message":"a","x":[{"__proto__":1}]}', 'forbidden-key'],
      ['escaped __proto__', '{"message":"a","\\u005f_proto__":{"admin":true}}', 'forbidden-key'],
      ['constructor', '{"message":"a","constructor":{"prototype":{}}}', 'forbidden-key'],
      ['depth 10^4', `${'['.repeat(10_000)}${']'.repeat(10_000)}`, 'json-too-deep'],
      ['duplicate key', '{"message":"a","message":"b"}', 'duplicate-key'],
      ['invalid UTF-8', Uint8Array.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'invalid-json'],
      ['not JSON', '{"message":', 'invalid-json'],
      ['schema', '{"message":5}', 'invalid-request'],
      ['extra field', '{"message":"a","admin":true}', 'invalid-request'],
    ];
    for (const [what, body, code] of bodies) {
      const r = await signed('POST', '/v1/test/echo', { body, headers: json, sign: { body } });
      expect(r.status, what).toBe(400);
      expect((r.json as { code: string }).code, what).toBe(code);
    }
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    const text = await signed('POST', '/v1/test/echo', {
      body: 'hello',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
  });

  it('uploads and downloads a 3 MB blob (201, then 200), with Content-Length and ETag', async () => {
    const payload = randomBytes(3 << 20);
    const cid = blobIdFromDigest(createHash('sha256').update(payload).digest()).id;
    const octets = { 'content-type': 'application/octet-stream' };
    const put = await signed('PUT', `/v1/blobs/${cid}`, { body: payload, headers: octets });
    expect(put.status).toBe(201);
    expect(put.json).toEqual({ cid, size: payload.length });
    const again = await signed('PUT', `/v1/blobs/${cid}`, { body: payload, headers: octets });
    expect(again.status).toBe(200);
    const get = await signed('GET', `/v1/blobs/${cid}`);
    expect(get.status).toBe(200);
    expect(get.headers['content-length']).toBe(String(payload.length));
    expect(get.headers.etag).toBe(`"${cid}"`);
    expect(get.headers['content-type']).toBe('application/octet-stream');
    expect(get.body.equals(payload)).toBe(true);
    const missing = await signed(
      'GET',
      `/v1/blobs/${blobIdFromDigest(createHash('sha256').update('none').digest()).id}`,
    );
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 'blob-not-found' });
  });

  it('R-7 a stored blob damaged on disk is never served as a complete body', async () => {
    const payload = randomBytes(300_000);
    const cid = blobIdFromDigest(createHash('sha256').update(payload).digest()).id;
    const octets = { 'content-type': 'application/octet-stream' };
    expect((await signed('PUT', `/v1/blobs/${cid}`, { body: payload, headers: octets })).status).toBe(201);
    const path = join(node.blobs.dir, cid.slice(-2), cid);
    const damaged = Buffer.from(payload);
    damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 1;
    writeFileSync(path, damaged);
    const r = await signed('GET', `/v1/blobs/${cid}`).catch((error: Error) => error);
    if (!(r instanceof Error)) {
      expect(r.body.length).toBeLessThan(payload.length);
    }
  });

  it('F-1 a body that does not hash to its cid is refused (400) and nothing is stored; an oversized blob is refused (413)', async () => {
    const claimed = randomBytes(1000);
    const cid = blobIdFromDigest(createHash('sha256').update(claimed).digest()).id;
    const octets = { 'content-type': 'application/octet-stream' };
    const r = await signed('PUT', `/v1/blobs/${cid}`, { body: randomBytes(1000), headers: octets });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 'hash-mismatch' });
    expect(await node.blobs.has(cid)).toBe(false);
    expect(readdirSync(join(node.blobs.dir, 'tmp'))).toEqual([]);

    const huge = randomBytes(MAX_BLOB + 1);
    const hugeCid = blobIdFromDigest(createHash('sha256').update(huge).digest()).id;
    const tooBig = await signed('PUT', `/v1/blobs/${hugeCid}`, { body: huge, headers: octets }).catch(
      (e: Error) => e,
    );
    if (!(tooBig instanceof Error)) {
      expect(tooBig.status).toBe(413);
      expect(tooBig.json).toMatchObject({ code: 'blob-too-large' });
    }
    expect(await node.blobs.has(hugeCid)).toBe(false);
    const auth = await signedHeaders({
      account: patient,
      domain,
      audience: node.audience,
      method: 'PUT',
      path: `/v1/blobs/${cid}`,
    });
    const json415 = await call({
      method: 'PUT',
      path: `/v1/blobs/${cid}`,
      body: '{}',
      headers: { ...json, ...auth },
    });
    expect(json415.status).toBe(415);
  });

  it('POST /v1/blobs/batch stores many payloads from one signed request, each under its cid', async () => {
    const payloads = [randomBytes(4000), randomBytes(1), randomBytes(200_000)];
    const octets = { 'content-type': 'application/octet-stream' };
    const first = payloads[0] as Buffer;
    const cid0 = blobIdFromDigest(createHash('sha256').update(first).digest()).id;
    expect((await signed('PUT', `/v1/blobs/${cid0}`, { body: first, headers: octets })).status).toBe(201);
    const batch = encodeBlobBatch({ payloads });
    const r = await signed('POST', `/v1/blobs/batch?manifest=${batch.manifestDigest}`, {
      body: Buffer.concat(batch.parts),
      headers: octets,
    });
    expect(r.status).toBe(201);
    expect(r.json).toEqual({
      blobs: payloads.map((p, i) => ({ cid: batch.cids[i], size: p.length, created: i !== 0 })),
    });
    for (const [i, p] of payloads.entries()) {
      expect((await signed('GET', `/v1/blobs/${batch.cids[i]}`)).body.equals(p)).toBe(true);
    }
  });

  it('T-19 F-1 a blob batch with one bad payload, a truncated or over-long body, a wrong manifest or too large is refused whole and stores nothing', async () => {
    const octets = { 'content-type': 'application/octet-stream' };
    const payloads = [randomBytes(3000), randomBytes(5000), randomBytes(7000)];
    const batch = encodeBlobBatch({ payloads });
    const body = Buffer.concat(batch.parts);
    const path = `/v1/blobs/batch?manifest=${batch.manifestDigest}`;
    const flipped = Buffer.from(body);
    flipped[flipped.length - 100] = (flipped[flipped.length - 100] ?? 0) ^ 1;
    const manifestOf = (manifest: unknown) => {
      const text = Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(text.length);
      return { bytes: Buffer.concat([head, text]), digest: createHash('sha256').update(text).digest('hex') };
    };
    const oversized = manifestOf({ blobs: [{ cid: batch.cids[0], size: MAX_BLOB + 1 }] });
    const polluted = manifestOf(
      `{"blobs":[{"cid":"${batch.cids[0]}","size":3000,"__proto__":{"admin":true}}]}`,
    );
    const other = encodeBlobBatch({ payloads: [randomBytes(10)] });
    const cases: [string, string, Buffer, number, string][] = [
      ['one payload that does not hash to its cid', path, flipped, 400, 'hash-mismatch'],
      ['a truncated last payload', path, body.subarray(0, body.length - 1), 400, 'invalid-content-length'],
      [
        'bytes after the last payload',
        path,
        Buffer.concat([body, Buffer.from('x')]),
        400,
        'invalid-content-length',
      ],
      [
        'a manifest that is not the signed one',
        `/v1/blobs/batch?manifest=${other.manifestDigest}`,
        body,
        400,
        'manifest-mismatch',
      ],
      [
        'a payload larger than the node accepts',
        `/v1/blobs/batch?manifest=${oversized.digest}`,
        oversized.bytes,
        413,
        'blob-too-large',
      ],
      [
        'a __proto__ key in the manifest',
        `/v1/blobs/batch?manifest=${polluted.digest}`,
        polluted.bytes,
        400,
        'forbidden-key',
      ],
      ['a manifest length over 1 MiB', path, Buffer.from([0x7f, 0xff, 0xff, 0xff]), 400, 'invalid-manifest'],
    ];
    for (const [what, target, bytes, status, code] of cases) {
      const r = await signed('POST', target, { body: bytes, headers: octets });
      expect(r.status, what).toBe(status);
      expect((r.json as { code: string }).code, what).toBe(code);
    }
    // Chunked (no Content-Length): the body ends inside the last payload.
    const auth = await signedHeaders({
      account: patient,
      domain,
      audience: node.audience,
      method: 'POST',
      path,
    });
    const chunked = await new Promise<{ status: number; json: { code?: string } }>((resolve, reject) => {
      const { hostname, port } = new URL(node.api.url);
      const req = httpRequest(
        { host: hostname, port: Number(port), method: 'POST', path, headers: { ...octets, ...auth } },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (p: Buffer) => parts.push(p));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString()) }),
          );
        },
      );
      req.on('error', reject);
      req.write(body.subarray(0, 5000));
      req.end(body.subarray(5000, body.length - 10));
    });
    expect(chunked).toMatchObject({ status: 400, json: { code: 'truncated-batch' } });
    const unsigned = await call({ method: 'POST', path, body, headers: octets });
    expect(unsigned.status).toBe(401);
    for (const cid of batch.cids) expect(await node.blobs.has(cid)).toBe(false);
    expect(readdirSync(join(node.blobs.dir, 'tmp'))).toEqual([]);
  });

  it('T-20 refuses traversal and malformed blob ids with 400, signed or not', async () => {
    const attempts = [
      '/v1/blobs/../../etc/passwd',
      '/v1/blobs/..',
      '/v1/blobs/%2e%2e',
      '/v1/blobs/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/v1/blobs/..%2F..%2Fetc%2Fpasswd',
      '/v1/blobs/..%5C..%5Cwindows%5Cwin.ini',
      '/v1/blobs/..\\..\\windows',
      '/v1/blobs/bafkrei%00',
      '/v1/blobs/%E2%80%A4%E2%80%A4%2Fetc',
      '/v1/blobs/%EF%BC%8E%EF%BC%8E%EF%BC%8Fetc',
      '/v1/blobs/%2Fetc%2Fpasswd',
      '/v1/blobs/C:%5Cwindows',
      '/v1/blobs/QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG',
      `/v1/blobs/${'b'.repeat(300)}`,
    ];
    for (const path of attempts) {
      for (const method of ['GET', 'PUT']) {
        const r = await signed(
          method,
          path,
          method === 'PUT'
            ? { body: Buffer.from('x'), headers: { 'content-type': 'application/octet-stream' } }
            : {},
        );
        expect(r.status, `${method} ${path}`).toBe(400);
        expect((r.json as { code: string }).code, path).toMatch(/^(invalid-path|invalid-blob-id)$/);
      }
    }
  });

  it('T-23 a preflight or call from an origin not allowed gets no CORS header; an allowed origin gets exactly itself', async () => {
    const preflight = {
      origin: 'https://evil.example',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'carekey-auth',
    };
    const evil = await call({ method: 'OPTIONS', path: '/v1/node', headers: preflight });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    expect(evil.headers['access-control-allow-credentials']).toBeUndefined();
    expect(evil.status).toBe(403);
    const evilGet = await call({
      method: 'GET',
      path: '/v1/node',
      headers: { origin: 'https://evil.example' },
    });
    expect(evilGet.headers['access-control-allow-origin']).toBeUndefined();
    const good = await call({
      method: 'OPTIONS',
      path: '/v1/blobs/x',
      headers: { ...preflight, origin: 'https://portal.example' },
    });
    expect(good.status).toBe(204);
    expect(good.headers['access-control-allow-origin']).toBe('https://portal.example');
    expect(good.headers['access-control-allow-credentials']).toBeUndefined();
    const prefix = await call({
      method: 'GET',
      path: '/v1/node',
      headers: { origin: 'https://portal.example.evil.example' },
    });
    expect(prefix.headers['access-control-allow-origin']).toBeUndefined();
    for (const origin of ['*', 'https://portal.example/', 'null', 'portal.example']) {
      expect(() =>
        createApiServer({
          services: {} as never,
          routes,
          nonces: createMemoryNonceStore(),
          corsOrigins: [origin],
        }),
      ).toThrow(/exact origin/);
    }
  });

  it('unknown routes and methods are 404 problems', async () => {
    expect((await call({ method: 'GET', path: '/v1/nope' })).status).toBe(404);
    expect((await call({ method: 'DELETE', path: '/v1/node' })).status).toBe(404);
    expect((await call({ method: 'HEAD', path: '/v1/node' })).status).toBe(404);
  });

  it('every error body is application/problem+json with type, title, status, detail and code, and no stack', () => {
    expect(errors.length).toBeGreaterThan(40);
    for (const r of errors) {
      if (r.body.length === 0) continue; // HEAD
      expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
      const p = r.json as Record<string, unknown>;
      expect(Object.keys(p).sort()).toEqual(['code', 'detail', 'status', 'title', 'type']);
      expect(p.status).toBe(r.status);
      expect(p.type).toBe(`urn:carekey:problem:${p.code}`);
      expect(String(p.detail)).not.toMatch(/ at |node_modules|\/work\/|Error:/);
    }
  });

  it('T-10 request logs hold method, route pattern, status and time only: no ids, addresses, headers or bodies', () => {
    expect(logs.length).toBeGreaterThan(40);
    const text = JSON.stringify(logs);
    for (const secret of [
      patient.address,
      patient.address.toLowerCase(),
      node.audience,
      'bafkrei',
      'hello',
      'etc',
    ]) {
      expect(text).not.toContain(secret);
    }
    for (const entry of logs) {
      expect(Object.keys(entry).sort()).toEqual(
        entry.event === 'request'
          ? ['event', 'method', 'ms', 'route', 'status']
          : ['error', 'event', 'method', 'route', 'status'],
      );
    }
    expect(logs.some((e) => e.route === '/v1/blobs/:cid')).toBe(true);
  });
});
