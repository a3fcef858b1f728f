import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin, type Rolldown } from 'vite';
import { PORTAL_SECURITY_HEADERS } from '../../../node/src/api/servePortal.ts';

/**
 * A Vite plugin that records every import of a Node built-in (`node:crypto`, `fs`…) as `"<module> imported by
 * <file>"`: Vite would replace them with a stub that throws in the browser, and name none of them in its output.
 */
export function recordNodeBuiltins(found: string[]): Plugin {
  return {
    name: 'carekey-record-node-builtins',
    enforce: 'pre',
    resolveId(source, importer) {
      if (isBuiltin(source)) found.push(`${source} imported by ${importer ?? '(entry)'}`);
      return null;
    },
  };
}

export type SdkCryptoPage = {
  /** Where the page is, e.g. `http://127.0.0.1:41234/`. */
  url: string;
  /** Every module in the page's bundle. */
  moduleIds: string[];
  /** Node built-ins the bundle imports (`recordNodeBuiltins`); none for a browser-safe SDK. */
  nodeBuiltins: string[];
  /** The page's JavaScript, bytes. */
  jsBytes: number;
  /** Files the page can `fetch` at `/files/<name>`; the test sets them. */
  files: Map<string, Uint8Array>;
  /** Files the page POSTed to `/files/<name>`. */
  uploads: Map<string, Buffer>;
  stop(): Promise<void>;
};

/**
 * Builds the SDK crypto test page (`sdkCryptoPage/`: `@carekey/sdk/crypto` bundled by Vite for the browser, as
 * the portal bundles it) and serves it on loopback with the portal's security headers (its CSP included), plus
 * `/files/<name>`: GET what the test put in `files`, POST into `uploads`.
 */
export async function startSdkCryptoPage(): Promise<SdkCryptoPage> {
  const outDir = mkdtempSync(join(tmpdir(), 'carekey-sdk-page-'));
  const nodeBuiltins: string[] = [];
  const output = (await build({
    root: fileURLToPath(new URL('./sdkCryptoPage/', import.meta.url)),
    configFile: false,
    logLevel: 'warn',
    plugins: [recordNodeBuiltins(nodeBuiltins)],
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      modulePreload: { polyfill: false },
      assetsInlineLimit: 0,
    },
  })) as Rolldown.RolldownOutput;
  const moduleIds: string[] = [];
  const assets = new Map<string, Buffer>();
  let jsBytes = 0;
  for (const item of output.output) {
    if (item.type === 'chunk') {
      moduleIds.push(...item.moduleIds);
      jsBytes += Buffer.byteLength(item.code);
    }
    assets.set(`/${item.fileName}`, readFileSync(join(outDir, item.fileName)));
  }
  rmSync(outDir, { recursive: true, force: true });

  const files = new Map<string, Uint8Array>();
  const uploads = new Map<string, Buffer>();
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    for (const [name, value] of Object.entries(PORTAL_SECURITY_HEADERS)) response.setHeader(name, value);
    response.setHeader('cache-control', 'no-store');
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    if (path.startsWith('/files/')) {
      const name = decodeURIComponent(path.slice('/files/'.length));
      if (request.method === 'POST') {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          uploads.set(name, Buffer.concat(chunks));
          response.writeHead(204).end();
        });
        return;
      }
      const file = files.get(name);
      if (file === undefined) return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.length });
      return void response.end(file);
    }
    if (path === '/favicon.ico') return void response.writeHead(204).end(); // asked by Chromium for every page
    const asset = assets.get(path === '/' ? '/index.html' : path);
    if (asset === undefined) return void response.writeHead(404).end();
    const type = extname(path) === '.js' ? 'text/javascript' : 'text/html; charset=utf-8';
    response.writeHead(200, { 'content-type': type }).end(asset);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    moduleIds,
    nodeBuiltins,
    jsBytes,
    files,
    uploads,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
