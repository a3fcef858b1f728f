/**
 * `npm run bench [-- --only crypto,gas] [-- <flags passed to every bench>]`
 *
 * Runs every benchmark in `scripts/bench/` one after the other, each in its own process (so one bench's memory
 * does not skew another's peak RSS). Benchmarks print their figures as ratios against a baseline measured in the
 * same run: these machines are noisy, absolute numbers are not comparable between runs.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benchDir = join(here, 'bench');
const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args[onlyAt + 1] ?? '').split(',').filter(Boolean) : [];
const passThrough = onlyAt >= 0 ? [...args.slice(0, onlyAt), ...args.slice(onlyAt + 2)] : args;

const benches = readdirSync(benchDir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => f.slice(0, -3))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();

if (benches.length === 0) {
  console.error(
    `no benchmark matches --only ${only.join(',')}; available: ${readdirSync(benchDir).join(', ')}`,
  );
  process.exit(2);
}

let failed = 0;
for (const name of benches) {
  console.log(`\n=== bench: ${name} ===`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(benchDir, `${name}.ts`), ...passThrough],
    {
      stdio: 'inherit',
    },
  );
  if (result.status !== 0) {
    failed++;
    console.error(`bench ${name} failed (exit ${result.status ?? result.signal})`);
  }
}
process.exit(failed === 0 ? 0 : 1);
