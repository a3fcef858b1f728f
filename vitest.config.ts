import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'packages/web/src/**/*.test.tsx',
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // vitest's default is one file per core minus one: a single file at a time on a 2-core CI machine. Most files
    // spend their time waiting on the chain (1 s blocks, indexer polls) and on spawned `carekey` runs, not on the
    // test process's own CPU: one more file than cores keeps both cores busy.
    maxWorkers: availableParallelism() + 1,
    // Migrated PGlite templates built once per run instead of once per test file (packages/node/src/db/testing).
    globalSetup: [
      'packages/node/src/db/testing/pgliteTemplateSetup.ts',
      // The carekey CLI bundled once per run: the CLI tests spawn plain node on it instead of tsx (packages/cli/test/support).
      'packages/cli/test/support/carekeyBundleSetup.ts',
    ],
  },
});
