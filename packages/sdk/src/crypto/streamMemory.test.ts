import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testing', 'streamMemoryChild.ts');

describe('constant memory', () => {
  it('F-11 encrypts and decrypts 256 MiB generated on the fly through web streams with bounded RSS growth', () => {
    const size = 256 * 2 ** 20;
    const output = execFileSync(process.execPath, ['--import', 'tsx', child, String(size)], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    const result = JSON.parse(output.trim().split('\n').pop() as string) as {
      received: number;
      hashMatches: boolean;
      growthMiB: number;
      peakMiB: number;
      MBps: number;
    };
    console.log(
      `streamed ${size / 2 ** 20} MiB: RSS growth ${result.growthMiB.toFixed(1)} MiB (peak ${result.peakMiB.toFixed(0)} MiB), ${result.MBps.toFixed(0)} MB/s encrypt+decrypt`,
    );
    expect(result.received).toBe(size);
    expect(result.hashMatches).toBe(true);
    // Holding the data would take 256 MiB or more; F-11 allows < 100 MB of growth.
    expect(result.growthMiB).toBeLessThan(100);
  }, 300_000);
});
