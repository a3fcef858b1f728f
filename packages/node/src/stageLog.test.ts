import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stageLogEnabled, statementStage, timedExecutor, timeStage } from './stageLog.ts';

describe('stageLog', () => {
  it('is off without CAREKEY_STAGE_LOG: calls run as they are, executors are not wrapped', async () => {
    expect(stageLogEnabled).toBe(false);
    expect(await timeStage('x', async () => 7)).toBe(7);
    const executor = { query: async () => 1 };
    expect(timedExecutor(executor)).toBe(executor);
  });

  it('T-10 names a statement by its first words only, never its values', () => {
    expect(statementStage('  insert into records (record_id, patient) values ($1, $2)')).toBe(
      'SQL insert into records',
    );
    expect(statementStage("select record_id from records where blob_id = 'bafk'")).toBe(
      'SQL select record_id from',
    );
  });

  it('writes every timed call (start, end) per stage to the file when the process exits', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'carekey-stages-')), 'stages.json');
    const script = `
      import { timeStage, timedExecutor } from ${JSON.stringify(new URL('./stageLog.ts', import.meta.url).href)};
      await timeStage('a', () => new Promise((r) => setTimeout(r, 20)));
      await timeStage('a', async () => {});
      await timedExecutor({ query: async () => 0 }).query('update outbox set status = $1');
      await timeStage('b', async () => { throw new Error('x'); }).catch(() => {});`;
    execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, CAREKEY_STAGE_LOG: file },
    });
    const log = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number[]>;
    expect(Object.keys(log).sort()).toEqual(['SQL update outbox set', 'a', 'b']);
    const a = log.a ?? [];
    expect(a).toHaveLength(4);
    expect((a[1] ?? 0) - (a[0] ?? 0)).toBeGreaterThanOrEqual(15);
    expect(a[2] ?? 0).toBeGreaterThanOrEqual(a[1] ?? 0);
  });
});
