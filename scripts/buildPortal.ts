/**
 * `npm start` runs this first (`prestart`): builds the web portal (`npm run build:web` → packages/web/dist) when
 * the build is missing or older than any of its sources, so the node always serves a current portal. A fresh
 * build is left alone (well under a second). The browser tests and `npm run bench -- --only web` call
 * `ensurePortalBuilt` too.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEB = join(ROOT, 'packages', 'web');
/** The built portal the node serves (`DEFAULT_PORTAL_DIR` in packages/node/src/startNode.ts). */
export const PORTAL_DIST = join(WEB, 'dist');

/** What goes into the bundle: the portal's own files and the SDK it imports (tests excluded). */
const SOURCES = [
  join(WEB, 'src'),
  join(WEB, 'public'),
  join(WEB, 'index.html'),
  join(WEB, 'vite.config.ts'),
  join(WEB, 'package.json'),
  join(ROOT, 'packages', 'sdk', 'src'),
  join(ROOT, 'packages', 'sdk', 'package.json'),
];

export type PortalBuildState =
  | { stale: false }
  | { stale: true; reason: 'missing' }
  | { stale: true; reason: 'outdated'; newest: string };

/** Whether packages/web/dist must be (re)built: missing, or older than its newest source file. */
export function portalBuildState(): PortalBuildState {
  let built: number;
  try {
    built = statSync(join(PORTAL_DIST, 'index.html')).mtimeMs;
  } catch {
    return { stale: true, reason: 'missing' };
  }
  let newest: { path: string; mtime: number } | undefined;
  for (const source of SOURCES) {
    for (const file of listFiles(source)) {
      const mtime = statSync(file).mtimeMs;
      if (mtime > built && (newest === undefined || mtime > newest.mtime)) newest = { path: file, mtime };
    }
  }
  return newest === undefined
    ? { stale: false }
    : { stale: true, reason: 'outdated', newest: relative(ROOT, newest.path) };
}

/**
 * Builds the portal if {@link portalBuildState} says so, with one line saying why.
 *
 * @throws {Error} when the build fails (its output is on stderr).
 */
export function ensurePortalBuilt(parameters: { log?: (line: string) => void } = {}): void {
  const log = parameters.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const state = portalBuildState();
  if (!state.stale) return;
  log(
    state.reason === 'missing'
      ? 'portal: packages/web/dist is missing; building it (npm run build:web)...'
      : `portal: packages/web/dist is older than ${state.newest}; rebuilding it (npm run build:web)...`,
  );
  const started = Date.now();
  const result = spawnSync('npm', ['run', '--silent', 'build:web'], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (result.status !== 0) {
    throw new Error(
      `building the portal failed (npm run build:web exited ${result.status ?? result.signal}); see the output above`,
    );
  }
  log(`portal: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

function listFiles(path: string): string[] {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return [];
  }
  if (!stat.isDirectory()) return [path];
  return readdirSync(path, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !/\.test\.tsx?$/u.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    ensurePortalBuilt();
  } catch (error) {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
