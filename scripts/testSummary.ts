/**
 * Prints the closing line of the TypeScript suite from vitest's JSON report, in the plain form CI reads:
 * `vitest: N passed, N failed, N skipped`.
 */
import { readFileSync } from 'node:fs';

type VitestJson = {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
};

const path = process.argv[2] ?? 'test-results/vitest.json';
try {
  const report = JSON.parse(readFileSync(path, 'utf8')) as VitestJson;
  const skipped = report.numPendingTests + report.numTodoTests;
  console.log(`vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
} catch (error) {
  console.error(`no vitest report at ${path}: ${(error as Error).message}`);
  process.exitCode = 1;
}
