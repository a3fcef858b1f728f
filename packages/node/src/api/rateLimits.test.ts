import { Type } from '@sinclair/typebox';
import type { Address } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { createApiServer } from './createApiServer.ts';
import { createMemoryNonceStore } from './createMemoryNonceStore.ts';
import { defineRoute } from './defineRoute.ts';
import { loadRateLimits } from './rateLimits.ts';

// Routes that need no chain: a public write, a read, and a signed-payload write whose "signature" names its signer
// (what the limiter sees is the identity verifyPayload returns, whatever the route).
const routes = [
  defineRoute({
    operationId: 'postPing',
    method: 'POST',
    path: '/ping',
    summary: 'a write',
    auth: 'public',
    body: Type.Object({}),
    responses: { 200: { description: 'ok', schema: Type.Object({ ok: Type.Boolean() }) } },
    handler: async () => ({ status: 200, body: { ok: true } }),
  }),
  defineRoute({
    operationId: 'getPing',
    method: 'GET',
    path: '/ping',
    summary: 'a read',
    auth: 'public',
    responses: { 200: { description: 'ok', schema: Type.Object({ ok: Type.Boolean() }) } },
    handler: async () => ({ status: 200, body: { ok: true } }),
  }),
  defineRoute({
    operationId: 'postSigned',
    method: 'POST',
    path: '/signed',
    summary: 'a signed write',
    auth: 'signed-payload',
    body: Type.Object({ signer: Type.String() }),
    responses: { 200: { description: 'ok', schema: Type.Object({ ok: Type.Boolean() }) } },
    verifyPayload: async ({ body }) => body.signer as Address,
    handler: async () => ({ status: 200, body: { ok: true } }),
  }),
];
const server = (perIp: number, perIdentity: number) =>
  createApiServer({
    services: { version: 'test' } as never,
    routes,
    nonces: createMemoryNonceStore(),
    rateLimits: { perIp, perIdentity, windowMs: 60_000 },
  });
const opened: ReturnType<typeof server>[] = [];
afterAll(async () => {
  for (const s of opened) await s.app.close();
});
const json = { 'content-type': 'application/json' };

describe('rate limits (THREAT-MODEL T-24)', () => {
  it('T-24 per IP: writes over the limit get 429 problem+json with Retry-After, before any signature check; reads are not limited', async () => {
    const s = server(3, 0);
    opened.push(s);
    const post = (ip: string) =>
      s.app.inject({ method: 'POST', url: '/ping', headers: json, payload: '{}', remoteAddress: ip });
    for (let i = 0; i < 3; i++) expect((await post('10.0.0.1')).statusCode).toBe(200);
    const refused = await post('10.0.0.1');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/u);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.json()).toMatchObject({ status: 429, code: 'rate-limited' });
    // a signed write from the same address is refused before its signature is even looked at
    const signed = await s.app.inject({
      method: 'POST',
      url: '/signed',
      headers: json,
      payload: JSON.stringify({ signer: '0x00000000000000000000000000000000000000aa' }),
      remoteAddress: '10.0.0.1',
    });
    expect(signed.statusCode).toBe(429);
    // another address is not affected, and reads never are
    expect((await post('10.0.0.2')).statusCode).toBe(200);
    for (let i = 0; i < 10; i++) {
      expect(
        (await s.app.inject({ method: 'GET', url: '/ping', remoteAddress: '10.0.0.1' })).statusCode,
      ).toBe(200);
    }
  });

  it('T-24 per identity: a verified identity over its limit gets 429 from any address; other identities go on', async () => {
    const s = server(0, 2);
    opened.push(s);
    const signed = (signer: string, ip: string) =>
      s.app.inject({
        method: 'POST',
        url: '/signed',
        headers: json,
        payload: JSON.stringify({ signer }),
        remoteAddress: ip,
      });
    const alice = '0x00000000000000000000000000000000000000a1';
    const bob = '0x00000000000000000000000000000000000000b2';
    expect((await signed(alice, '10.0.0.1')).statusCode).toBe(200);
    expect((await signed(alice.toUpperCase().replace('0X', '0x'), '10.0.0.2')).statusCode).toBe(200);
    const refused = await signed(alice, '10.0.0.3');
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'rate-limited' });
    expect(refused.headers['retry-after']).toBeDefined();
    expect((await signed(bob, '10.0.0.3')).statusCode).toBe(200);
  });

  it('T-24 limits come from the environment with defaults that never throttle a test run; bad values are refused', () => {
    expect(loadRateLimits({})).toEqual({ perIp: 30_000, perIdentity: 6_000, windowMs: 60_000 });
    expect(
      loadRateLimits({
        CAREKEY_RATE_LIMIT_IP: '100',
        CAREKEY_RATE_LIMIT_IDENTITY: '0',
        CAREKEY_RATE_LIMIT_WINDOW_MS: '1000',
      }),
    ).toEqual({ perIp: 100, perIdentity: 0, windowMs: 1000 });
    expect(() => loadRateLimits({ CAREKEY_RATE_LIMIT_IP: '-1' })).toThrow(/CAREKEY_RATE_LIMIT_IP/u);
    expect(() => loadRateLimits({ CAREKEY_RATE_LIMIT_WINDOW_MS: '0' })).toThrow(/≥ 1/u);
    expect(() => loadRateLimits({ CAREKEY_RATE_LIMIT_IDENTITY: 'lots' })).toThrow(/not an integer/u);
  });
});
