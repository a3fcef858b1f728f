import { createHmac, randomBytes } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { BaseError } from '@carekey/sdk/errors';
import { bytesToHex } from 'viem';
import type { Sql } from '../db/Sql.ts';
import type { EmergencySettings } from './EmergencyServices.ts';

/** A webhook target the node refuses to call (T-21). */
export class WebhookTargetError extends BaseError {
  override name = 'WebhookTargetError';
}

/** Addresses a webhook may never reach unless private targets are allowed (tests): SSRF into the node's network. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
  ['64:ff9b::', 96],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

/** Whether an IP literal is private, loopback, link-local, multicast or unspecified (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/iu.exec(address)?.[1];
  if (mapped !== undefined) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return true;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** A checked webhook target: the URL and the one address it will be sent to (pinned: no DNS rebinding). */
export type WebhookTarget = { url: URL; address: string; family: 4 | 6 };

/**
 * Checks a webhook URL and resolves it once: `https` only (`http` only when private targets are allowed), no user
 * info, and every address the name resolves to public — unless `allowPrivate` (tests). The caller connects to the
 * returned address, so a name that later resolves elsewhere (DNS rebinding) is not followed; redirects are never
 * followed either.
 *
 * @throws {WebhookTargetError} with a one-line reason.
 */
export async function checkWebhookTarget(raw: string, allowPrivate: boolean): Promise<WebhookTarget> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError(`webhook '${raw.slice(0, 80)}' is not a URL`, {
      hint: 'use https://host/path',
    });
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    throw new WebhookTargetError(`webhook must use https, not ${url.protocol.replace(':', '')}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new WebhookTargetError('webhook URL must not carry a user name or password');
  }
  const host = url.hostname.replace(/^\[|\]$/gu, '');
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await dnsLookup(host, { all: true, verbatim: true });
    } catch {
      throw new WebhookTargetError(`webhook host '${host.slice(0, 80)}' does not resolve`);
    }
  }
  const first = addresses[0];
  if (first === undefined)
    throw new WebhookTargetError(`webhook host '${host.slice(0, 80)}' does not resolve`);
  if (!allowPrivate) {
    const blocked = addresses.find((a) => isPrivateAddress(a.address));
    if (blocked !== undefined) {
      throw new WebhookTargetError(
        `webhook host '${host.slice(0, 80)}' is a private, loopback or link-local address (${blocked.address})`,
        { hint: 'a webhook must be a public https endpoint' },
      );
    }
  }
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** A new webhook signing secret (shown to the patient once). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** `Carekey-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/** POSTs once to the pinned address; resolves with the status code (no redirect followed). */
function post(target: WebhookTarget, body: string, signature: string, timeoutMs: number): Promise<number> {
  const lookup: LookupFunction = (_host, options, callback) => {
    if ((options as { all?: boolean }).all)
      callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      target.url,
      {
        method: 'POST',
        lookup,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'carekey-signature': signature,
          'user-agent': 'carekey-node',
        },
        timeout: timeoutMs,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Sends every due webhook delivery once (signed with the patient's current secret), marks 2xx delivered, and
 * schedules the rest again with doubling delay until `webhookAttempts`, then `failed`. The target is re-checked
 * at every attempt (T-21).
 */
export async function deliverDueWebhooks(parameters: {
  sql: Sql;
  settings: EmergencySettings;
  timeoutMs?: number;
}): Promise<{ delivered: number; failed: number; retried: number }> {
  const { sql, settings } = parameters;
  const { rows } = await sql.query<{
    id: string;
    url: string;
    body: string;
    attempts: number;
    secret: string | null;
  }>(
    `select d.id::text as id, d.url, d.body, d.attempts, s.webhook_secret as secret
       from webhook_deliveries d left join notification_settings s on s.patient = d.patient
      where d.status = 'pending' and d.next_attempt_at <= now() order by d.id limit 50`,
  );
  const counts = { delivered: 0, failed: 0, retried: 0 };
  for (const row of rows) {
    let error: string | undefined;
    try {
      if (row.secret === null) throw new Error('no webhook secret');
      const target = await checkWebhookTarget(row.url, settings.allowPrivateWebhooks);
      const status = await post(
        target,
        row.body,
        signWebhook(row.secret, row.body, Math.floor(Date.now() / 1000)),
        parameters.timeoutMs ?? 5_000,
      );
      if (status < 200 || status > 299) error = `HTTP ${status}`;
    } catch (cause) {
      error = cause instanceof BaseError ? cause.name : (cause as Error).message.slice(0, 100);
    }
    const attempts = row.attempts + 1;
    if (error === undefined) {
      counts.delivered++;
      await sql.query(
        `update webhook_deliveries set status = 'delivered', attempts = $2, last_error = null where id = $1`,
        [row.id, attempts],
      );
    } else if (attempts >= settings.webhookAttempts) {
      counts.failed++;
      await sql.query(
        `update webhook_deliveries set status = 'failed', attempts = $2, last_error = $3 where id = $1`,
        [row.id, attempts, error],
      );
    } else {
      counts.retried++;
      const delay = settings.webhookRetryMs * 2 ** (attempts - 1);
      await sql.query(
        `update webhook_deliveries set attempts = $2, last_error = $3,
                next_attempt_at = now() + ($4::text || ' milliseconds')::interval where id = $1`,
        [row.id, attempts, error, String(delay)],
      );
    }
  }
  return counts;
}

/** Runs `deliverDueWebhooks` every `interval` ms and on `wake()`; `stop()` waits for the run in progress. */
export function startWebhookLoop(parameters: {
  sql: Sql;
  settings: EmergencySettings;
  interval?: number;
  onError?: (error: unknown) => void;
}): { wake(): void; stop(): Promise<void> } {
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!stopping) {
      try {
        await deliverDueWebhooks(parameters);
      } catch (error) {
        parameters.onError?.(error);
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, parameters.interval ?? 1_000);
      });
    }
  })();
  return {
    wake: () => wake?.(),
    async stop() {
      stopping = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}

/** The body a webhook receives for one break-glass: no health data, no reason text, no credential claims. */
export function emergencyWebhookBody(event: {
  accessId: Uint8Array;
  clinician: string;
  scope: string;
  at: Date;
  expiresAt: Date;
}): string {
  return JSON.stringify({
    type: 'emergency.access',
    accessId: bytesToHex(event.accessId),
    clinician: event.clinician,
    scope: event.scope,
    at: event.at.toISOString(),
    expiresAt: event.expiresAt.toISOString(),
    read: 'carekey notifications',
  });
}
