import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The portal's Content-Security-Policy (UX.md 14, THREAT-MODEL T-22): only the node's own scripts, styles and
 * API; no `unsafe-inline`, no `unsafe-eval`, no framing, no `<base>`, no plugins, forms only to the node, and
 * Trusted Types required for every DOM XSS sink (an HTML sink needs a policy, e.g. DOMPurify's
 * `RETURN_TRUSTED_TYPE`).
 */
export const PORTAL_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
  "form-action 'self'",
  "require-trusted-types-for 'script'",
].join('; ');

/** Browser features the portal may use: the camera for scanning a QR code, fullscreen; nothing else. */
export const PORTAL_PERMISSIONS_POLICY = [
  'camera=(self)',
  'fullscreen=(self)',
  'microphone=()',
  'geolocation=()',
  'payment=()',
  'usb=()',
  'serial=()',
  'hid=()',
  'midi=()',
  'bluetooth=()',
  'display-capture=()',
  'accelerometer=()',
  'gyroscope=()',
  'magnetometer=()',
  'browsing-topics=()',
].join(', ');

/** Headers on every portal response (its files, its fallback page, its 404 and 503). */
export const PORTAL_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PORTAL_CSP,
  'permissions-policy': PORTAL_PERMISSIONS_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** `cache-control` of a content-hashed file (Vite's `assets/name-HASH.ext`): it never changes under its name. */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** `cache-control` of everything else (`index.html`, the SPA fallback): revalidate every time (ETag). */
export const REVALIDATE_CACHE = 'no-cache';

/** Paths the API owns: never answered with the portal, even when no route matches (404 problem instead). */
const API_PREFIXES = ['/v1/', '/openapi.json'];

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Vite's default `build.assetsDir` and file names (`[name]-[hash].[ext]`, 8-character base64url hash). */
const HASHED_ASSET = /^\/assets\/(?:.+\/)?[^/]+-[\w-]{8,}\.[a-z0-9]+$/u;

type PortalFile = { body: Buffer; type: string; etag: string; cache: string };

export type ServePortalParameters = {
  /** The Fastify instance of the API (`createApiServer`). */
  app: FastifyInstance;
  /** The built portal (`packages/web/dist`): `index.html` and `assets/`. */
  dir: string;
};

/**
 * Serves the built portal from `dir` at `/` on the API's port: exactly the files found under `dir` (a request
 * path is looked up in that list, never joined onto the file system, so no traversal can reach anything else),
 * `index.html` for any other extension-less path (client-side routes), immutable caching for content-hashed
 * assets, ETags, and {@link PORTAL_SECURITY_HEADERS} on every response. The folder is re-read when its
 * `index.html` changes, so a rebuild is served without a restart. Without a built portal, pages answer 503 with
 * a short explanation. API paths (`/v1/…`, `/openapi.json`) are left to the API: an unknown one stays a 404
 * problem.
 *
 * @example
 * const { app } = createApiServer({ services, routes, nonces, portal: { dir: 'packages/web/dist' } });
 */
export function servePortal(parameters: ServePortalParameters): void {
  const { app, dir } = parameters;
  let cache: { stamp: string; files: Map<string, PortalFile> } | undefined;

  const load = (): Map<string, PortalFile> | undefined => {
    let stamp: string;
    try {
      const index = statSync(join(dir, 'index.html'));
      stamp = `${index.mtimeMs}:${index.size}`;
    } catch {
      cache = undefined;
      return undefined;
    }
    if (cache?.stamp !== stamp) cache = { stamp, files: readPortal(dir) };
    return cache.files;
  };

  // The `cache-control` of each portal reply. A child context: its onSend hook runs after the API's (which sets
  // the API's own `default-src 'none'` CSP and `no-store` on everything), so portal replies get the portal's
  // headers, and API problems (an unknown `/v1/…`, a refused path) keep the API's.
  const portalReplies = new WeakMap<FastifyReply, string>();
  app.register(async (portal) => {
    portal.addHook('onSend', async (_request, reply, payload) => {
      const cacheControl = portalReplies.get(reply);
      if (cacheControl === undefined) return payload;
      for (const [name, value] of Object.entries(PORTAL_SECURITY_HEADERS)) reply.header(name, value);
      reply.header('cache-control', cacheControl);
      return payload;
    });
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      // Bad percent-encoding and dot segments were refused already (400, `refuseDotSegments`, T-20).
      const path = decodeURIComponent(request.url.split('?', 1)[0] ?? '/');
      if (API_PREFIXES.some((prefix) => path === prefix.replace(/\/$/u, '') || path.startsWith(prefix))) {
        return reply.callNotFound();
      }
      const files = load();
      const asPage = !(path.split('/').pop() ?? '').includes('.');
      if (files === undefined) {
        portalReplies.set(reply, 'no-store');
        return reply
          .code(503)
          .type('text/html; charset=utf-8')
          .send(asPage ? NOT_BUILT_PAGE : 'portal not built\n');
      }
      const file =
        files.get(path === '/' ? '/index.html' : path) ?? (asPage ? files.get('/index.html') : undefined);
      if (file === undefined) {
        portalReplies.set(reply, 'no-store');
        return reply.code(404).type('text/plain; charset=utf-8').send('not found\n');
      }
      portalReplies.set(reply, file.cache);
      reply.header('etag', file.etag);
      if (etagMatches(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
      return reply.code(200).type(file.type).send(file.body);
    };
    portal.get('/', handler);
    portal.get('/*', handler);
  });
}

/** Every regular file under `dir`, by URL path (`/assets/index-AbCd1234.js`). Symbolic links are not followed. */
function readPortal(dir: string): Map<string, PortalFile> {
  const files = new Map<string, PortalFile>();
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    const path = `/${relative(dir, full).split(sep).join('/')}`;
    const body = readFileSync(full);
    files.set(path, {
      body,
      type: CONTENT_TYPES[extname(entry.name).toLowerCase()] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      cache: HASHED_ASSET.test(path) ? IMMUTABLE_CACHE : REVALIDATE_CACHE,
    });
  }
  return files;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header
    .split(',')
    .map((tag) => tag.trim().replace(/^W\//u, ''))
    .some((tag) => tag === etag || tag === '*');
}

/** The 503 page when `packages/web/dist` is missing: plain HTML, no script or style (the CSP allows none inline). */
const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Carekey: portal not built</title></head>
<body>
<h1>The Carekey portal is not built yet</h1>
<p>This node serves the web portal from <code>packages/web/dist</code>, which is missing.
Run <code>npm run build:web</code> (or restart with <code>npm start</code>, which builds it), then reload this page.</p>
<p>The node's API works without it: see <a href="/openapi.json">/openapi.json</a>.</p>
</body>
</html>
`;
