import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from './support/startTestNode.ts';

const repo = join(import.meta.dirname, '..', '..', '..');

/** The shell block under "## Try it" in the README, exactly as a reader copies it. */
function walkthroughFromReadme(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Try it'));
  const block = /```sh\n([\s\S]*?)```/u.exec(section)?.[1];
  if (block === undefined) throw new Error('README.md has no ```sh block under "## Try it"');
  return block;
}

let node: TestNode;
const home = mkdtempSync(join(tmpdir(), 'carekey-readme-'));
beforeAll(async () => {
  node = await startTestNode();
}, 300_000);
afterAll(async () => {
  await node?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('the README walkthrough', () => {
  it('runs as written: import, publish for, share, read, revoke, refused, forget, audit, export (R-11, R-15, R-17)', async () => {
    const script = walkthroughFromReadme();
    // Run it the way a reader pastes it: bash, in the repository, with the node the README starts (here: a test
    // node on a free port) and a fresh home folder. Each command is echoed (-x) so the output shows which one failed.
    const run = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
      const child = spawn('bash', ['-x', '-c', script], {
        cwd: repo,
        env: { PATH: process.env.PATH ?? '', HOME: home, CAREKEY_NODE: node.url },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        out += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, out }));
    });
    const out = run.out;
    expect(run.code, out).toBe(0);
    // The doctor read the lab result the hospital published...
    expect(out).toMatch(/"id": *"hba1c-2026-11-20"/u);
    // ...and after the revocation was refused, in plain words.
    expect(out).toMatch(/carekey: the patient revoked grant 0x[0-9a-f]{64}: it no longer gives access/u);
    // The audit shows the publishes, the release to the doctor, the grant, the revocation, the refusal, the forget.
    const audit = out.slice(out.lastIndexOf('+ npx carekey audit'));
    for (const action of ['publish', 'release', 'grant', 'revoke', 'refusal', 'shred']) {
      expect(audit, action).toMatch(new RegExp(`\\d{2}:\\d{2}:\\d{2}\\s+${action}`, 'u'));
    }
    // The forgotten record has no key left on the node, and the export does not hold it.
    expect(out).toMatch(/Forgot 1 record\(s\): 1 shredded/u);
    const exportDir = join(home, 'carekey-demo', 'export');
    const files = readdirSync(join(exportDir, 'records'));
    expect(files.length).toBeGreaterThan(60);
    expect(files.some((f) => f.includes('hba1c'))).toBe(false);
    // The export opens with the age CLI alone.
    const age = spawnSync(
      'age',
      ['-d', '-i', join(exportDir, 'identity.txt'), join(exportDir, 'records', files[0] ?? '')],
      {
        encoding: 'utf8',
      },
    );
    expect(age.status, age.stderr).toBe(0);
    expect(JSON.parse(age.stdout)).toHaveProperty('resourceType');
  }, 900_000);
});
