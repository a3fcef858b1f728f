/**
 * vitest `globalSetup`: bundles the `carekey` CLI once for the whole run (esbuild, the same transform tsx applies)
 * and names the bundle's entry in `CAREKEY_TEST_CLI_BUNDLE`, which the test workers (forked after this runs) inherit.
 * {@link carekey} then spawns plain `node` on it: a run no longer pays for tsx's loader resolving and transforming
 * every source file (about a second of CPU per spawn, and the CLI tests spawn hundreds). The README walkthrough still
 * runs `npx carekey`, the real `bin/carekey.js`. The bundle is removed after the run.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** Environment variable naming the bundled CLI entry (a `.mjs` file) the tests spawn. */
export const CLI_BUNDLE_ENV = 'CAREKEY_TEST_CLI_BUNDLE';

const cliDir = join(import.meta.dirname, '..', '..');

/**
 * Bundles `packages/cli/src/main.ts` and the workspace packages it imports (`@carekey/*`, TypeScript sources) into
 * a fresh folder under `packages/cli/node_modules/.cache/`, so that every other package stays external and resolves
 * from the CLI's own `node_modules` exactly as under tsx. Commands stay separate chunks (loaded on demand).
 */
export async function buildCliBundle(): Promise<string> {
  const cache = join(cliDir, 'node_modules', '.cache');
  mkdirSync(cache, { recursive: true });
  const outdir = mkdtempSync(join(cache, 'carekey-test-bundle-'));
  await build({
    stdin: {
      contents: "import { main } from './src/main.ts';\nprocess.exitCode = await main(process.argv);\n",
      resolveDir: cliDir,
      sourcefile: 'carekey.ts',
      loader: 'ts',
    },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    entryNames: 'carekey',
    outExtension: { '.js': '.mjs' },
    keepNames: true, // error classes keep their `name` (bundling may rename colliding identifiers)
    logLevel: 'warning',
    plugins: [
      {
        name: 'only-workspace-sources',
        setup(bundler) {
          bundler.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@carekey/') ? undefined : { external: true },
          );
        },
      },
    ],
  });
  return join(outdir, 'carekey.mjs');
}

export default async function setup(): Promise<() => void> {
  const entry = await buildCliBundle();
  process.env[CLI_BUNDLE_ENV] = entry;
  return () => rmSync(join(entry, '..'), { recursive: true, force: true });
}
