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
  try {
    await bundleInto(outdir);
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
  return join(outdir, 'carekey.mjs');
}

async function bundleInto(outdir: string): Promise<void> {
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
}

export default async function setup(): Promise<() => void> {
  let entry: string;
  try {
    entry = await buildCliBundle();
  } catch (error) {
    // The bundle resolves every command's imports at once (tsx only the command it runs): a broken import in one
    // command must not stop the whole suite. Without the variable the CLI tests run `bin/carekey.js`, slower, and
    // those that reach the broken command fail with its real error.
    process.stderr.write(
      `carekey CLI bundle not built, the CLI tests run bin/carekey.js: ${(error as Error).message.split('\n', 1)[0]}\n`,
    );
    return () => {};
  }
  process.env[CLI_BUNDLE_ENV] = entry;
  return () => rmSync(join(entry, '..'), { recursive: true, force: true });
}
