import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../startNode.ts';
import { IMMUTABLE_CACHE, PORTAL_SECURITY_HEADERS, REVALIDATE_CACHE } from './servePortal.ts';
import { type RequestNodeReturnType, requestNode } from './testing/requestNode.ts';

// A built portal as Vite lays it out, beside a secret the portal must never serve.
const INDEX =
  '<!doctype html><title>portal</title><script type="module" src="/assets/index-AbC_12-9.js"></script>';
const ENTRY = 'console.log("portal")';
let dir: string;
let dist: string;
let node: CarekeyNode;

const get = (path: string, headers?: Record<string, string>) =>
  requestNode({ url: node.api.url, method: 'GET', path, headers });

function expectPortalHeaders(response: RequestNodeReturnType): void {
  for (const [name, value] of Object.entries(PORTAL_SECURITY_HEADERS))
    expect(response.headers[name]).toBe(value);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carekey-portal-'));
  dist = join(dir, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'index-AbC_12-9.js'), ENTRY);
  writeFileSync(join(dist, 'assets', 'index-AbC_12-9.css'), 'body{}');
  writeFileSync(join(dist, 'robots.txt'), 'User-agent: *\n');
  writeFileSync(join(dir, 'secret.txt'), 'SECRET outside the portal');
  symlinkSync(join(dir, 'secret.txt'), join(dist, 'link.txt'));
  node = await startNode({
    dataDir: join(dir, 'node'),
    shredDelay: 0,
    chain: { port: 0 } as NonNullable<StartNodeParameters['chain']>,
    api: { port: 0, portalDir: dist },
  });
});

afterAll(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('servePortal (a real node serving a built portal)', () => {
  it('T-22: / is the portal with a strict CSP and the other security headers', async () => {
    const page = await get('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body.toString()).toBe(INDEX);
    expectPortalHeaders(page);
    const csp = String(page.headers['content-security-policy']);
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/u);
        return [name, values.join(' ')] as const;
      }),
    );
    expect(directives.get('default-src')).toBe("'none'");
    expect(directives.get('script-src')).toBe("'self'");
    expect(directives.get('connect-src')).toBe("'self'");
    expect(directives.get('frame-ancestors')).toBe("'none'");
    expect(directives.get('base-uri')).toBe("'none'");
    expect(directives.get('object-src')).toBe("'none'");
    expect(directives.get('form-action')).toBe("'self'");
    expect(directives.get('require-trusted-types-for')).toBe("'script'");
    expect(csp).not.toMatch(/unsafe-|\*|https?:/u);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['permissions-policy']).toContain('microphone=()');
    expect(page.headers['cache-control']).toBe(REVALIDATE_CACHE);
    expect(page.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('T-23: a portal page asked for from another origin gets no CORS grant', async () => {
    for (const path of ['/', '/assets/index-AbC_12-9.js', '/records']) {
      const response = await get(path, { origin: 'https://evil.example' });
      expect(response.status, path).toBe(200);
      expect(response.headers['access-control-allow-origin'], path).toBeUndefined();
      expect(response.headers['access-control-allow-credentials'], path).toBeUndefined();
    }
  });

  it('hashed assets are immutable; other files revalidate; an unchanged file answers 304', async () => {
    const js = await get('/assets/index-AbC_12-9.js');
    expect(js.status).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body.toString()).toBe(ENTRY);
    expect(js.headers['cache-control']).toBe(IMMUTABLE_CACHE);
    expectPortalHeaders(js);
    expect((await get('/assets/index-AbC_12-9.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const robots = await get('/robots.txt');
    expect(robots.headers['cache-control']).toBe(REVALIDATE_CACHE);
    const etag = String(js.headers.etag);
    const again = await get('/assets/index-AbC_12-9.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expectPortalHeaders(again);
  });

  it('client-side routes fall back to index.html; a missing file is a 404, never the page', async () => {
    for (const path of ['/records', '/share/new?x=1', '/patient/records/abc-123']) {
      const page = await get(path);
      expect(page.status, path).toBe(200);
      expect(page.body.toString()).toBe(INDEX);
      expectPortalHeaders(page);
    }
    for (const path of ['/assets/index-Missing1.js', '/favicon.ico', '/index.js']) {
      const missing = await get(path);
      expect(missing.status, path).toBe(404);
      expect(missing.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(missing.headers['cache-control']).toBe('no-store');
      expectPortalHeaders(missing);
    }
  });

  it('T-20: traversal out of the portal folder is refused and never serves a file outside it', async () => {
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2E%2E/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/assets/..%2f..%2fsecret.txt',
      '/..%5csecret.txt',
      '/..\\secret.txt',
      '/%00',
      '/index.html%00.js',
      '/%2fetc%2fpasswd',
      '//etc/passwd',
      '/link.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '/%E2%80%A5/secret.txt',
    ];
    for (const path of attempts) {
      const response = await get(path);
      expect(response.body.toString(), path).not.toContain('SECRET');
      expect(response.body.toString(), path).not.toContain('root:');
      // Refused, or (an extension-less path) the portal's own page: never anything else.
      if (response.status === 200) expect(response.body.toString(), path).toBe(INDEX);
      else expect([400, 404], path).toContain(response.status);
    }
  });

  it('API routes are unaffected: JSON with the API headers, unknown API paths stay problem+json 404s', async () => {
    const info = await get('/v1/node');
    expect(info.status).toBe(200);
    expect(info.headers['content-type']).toContain('application/json');
    expect(info.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(info.headers['cache-control']).toBe('no-store');
    expect((await get('/openapi.json')).status).toBe(200);
    for (const path of ['/v1/nope', '/v1', '/openapi.json/x']) {
      const missing = await get(path);
      expect(missing.status, path).toBe(404);
      expect(missing.headers['content-type'], path).toContain('application/problem+json');
      expect(missing.json, path).toMatchObject({ code: 'not-found' });
    }
    const post = await requestNode({ url: node.api.url, method: 'POST', path: '/', body: '' });
    expect(post.status).toBe(404);
    expect(post.headers['content-type']).toContain('application/problem+json');
  });

  it('a rebuilt portal is served without a restart; without a build, pages answer 503 with what to do', async () => {
    writeFileSync(join(dist, 'index.html'), `${INDEX}<!-- v2 -->`);
    expect((await get('/')).body.toString()).toContain('v2');
    unlinkSync(join(dist, 'index.html'));
    try {
      const page = await get('/records');
      expect(page.status).toBe(503);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.body.toString()).toContain('npm run build:web');
      expect(page.headers['cache-control']).toBe('no-store');
      expectPortalHeaders(page);
      expect((await get('/assets/index-AbC_12-9.js')).status).toBe(503);
      expect((await get('/v1/node')).status).toBe(200);
    } finally {
      writeFileSync(join(dist, 'index.html'), INDEX);
    }
    expect((await get('/')).status).toBe(200);
  });
});
