import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Browser tests (`npm run test:web`): a real node serving the built portal, driven through Debian's Chromium.
// One file at a time: each starts a node and a browser, and the CI machine has two cores.
export default defineConfig({
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  test: {
    include: ['packages/web/e2e/**/*.spec.ts'],
    globalSetup: ['packages/web/e2e/support/globalSetup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
