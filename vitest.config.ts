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
    // Migrated PGlite templates built once per run instead of once per test file (packages/node/src/db/testing).
    globalSetup: [
      'packages/node/src/db/testing/pgliteTemplateSetup.ts',
      // The carekey CLI bundled once per run: the CLI tests spawn plain node on it instead of tsx (packages/cli/test/support).
      'packages/cli/test/support/carekeyBundleSetup.ts',
    ],
  },
});
