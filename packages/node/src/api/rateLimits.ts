import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './ApiError.ts';

/** Limits of the write and key-release routes (THREAT-MODEL T-24). `0` turns a limit off. */
export type RateLimitSettings = {
  /** Requests per window from one client IP, counted before any signature is checked (cheap checks first). */
  perIp: number;
  /** Requests per window of one verified identity (after its signature checked out). */
  perIdentity: number;
  /** Window length, milliseconds. */
  windowMs: number;
};

/**
 * Defaults: generous for one person's gateway or a clinic's (and for the test suite and benchmarks, which run from
 * one loopback address), tight enough that a flood from one address or identity is answered 429 instead of costing
 * a signature recovery and a chain read each.
 */
export const DEFAULT_RATE_LIMITS: RateLimitSettings = { perIp: 30_000, perIdentity: 6_000, windowMs: 60_000 };

/**
 * Reads `CAREKEY_RATE_LIMIT_IP`, `CAREKEY_RATE_LIMIT_IDENTITY` (requests per window, 0 = off) and
 * `CAREKEY_RATE_LIMIT_WINDOW_MS`.
 *
 * @throws {Error} a value that is not a non-negative integer (a window must be positive).
 */
export function loadRateLimits(env: NodeJS.ProcessEnv = process.env): RateLimitSettings {
  const read = (name: string, fallback: number, min: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (!/^[0-9]{1,9}$/u.test(raw) || Number(raw) < min) {
      throw new Error(`${name}=${JSON.stringify(raw)} is not an integer ≥ ${min}`);
    }
    return Number(raw);
  };
  return {
    perIp: read('CAREKEY_RATE_LIMIT_IP', DEFAULT_RATE_LIMITS.perIp, 0),
    perIdentity: read('CAREKEY_RATE_LIMIT_IDENTITY', DEFAULT_RATE_LIMITS.perIdentity, 0),
    windowMs: read('CAREKEY_RATE_LIMIT_WINDOW_MS', DEFAULT_RATE_LIMITS.windowMs, 1),
  };
}

/** The two checks a limited route runs; each throws a 429 problem with `Retry-After` when over its limit. */
export type RateLimits = {
  byIp(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  byIdentity(identity: string, request: FastifyRequest, reply: FastifyReply): Promise<void>;
};

/**
 * Registers `@fastify/rate-limit` (not globally) and returns the per-IP and per-identity checks the server runs on
 * its write and key-release routes: per IP in `onRequest`, before the body is read or a signature recovered; per
 * identity once the caller is verified (an unverified claim could spend someone else's budget).
 */
export function installRateLimits(app: FastifyInstance, settings: RateLimitSettings): RateLimits {
  app.register(fastifyRateLimit, { global: false });
  type Check = ReturnType<FastifyInstance['createRateLimit']>;
  let ipCheck: Check | undefined;
  let identityCheck: Check | undefined;
  const identities = new WeakMap<FastifyRequest, string>();
  const refuse = (reply: FastifyReply, ttlInSeconds: number, what: string) => {
    const seconds = Math.max(1, ttlInSeconds);
    reply.header('retry-after', String(seconds));
    throw new ApiError({
      status: 429,
      code: 'rate-limited',
      detail: `too many requests ${what}; retry after ${seconds} s`,
    });
  };
  return {
    async byIp(request, reply) {
      if (settings.perIp === 0) return;
      ipCheck ??= app.createRateLimit({
        max: settings.perIp,
        timeWindow: settings.windowMs,
        keyGenerator: (r) => `ip:${r.ip}`,
      });
      const result = await ipCheck(request);
      if (!result.isAllowed && result.isExceeded) refuse(reply, result.ttlInSeconds, 'from this address');
    },
    async byIdentity(identity, request, reply) {
      if (settings.perIdentity === 0) return;
      identityCheck ??= app.createRateLimit({
        max: settings.perIdentity,
        timeWindow: settings.windowMs,
        keyGenerator: (r) => `id:${identities.get(r) ?? ''}`,
      });
      identities.set(request, identity.toLowerCase());
      const result = await identityCheck(request);
      if (!result.isAllowed && result.isExceeded) refuse(reply, result.ttlInSeconds, 'for this identity');
    },
  };
}
