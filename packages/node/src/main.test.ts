import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = join(here, '..', '..', '..', 'node_modules', '.bin', 'tsx');

type Started = { child: ChildProcess; summary: Record<string, unknown> };

/**
 * Runs `src/main.ts --json` with tsx's loader (what `npm start -- --json` runs) and reads its one JSON line.
 * `node --import tsx` rather than the `tsx` CLI: the CLI relays Ctrl-C to its child and SIGKILLs it (exit 130) if
 * the child does not acknowledge within 30 ms, which a node busy with its indexer and shred loop on a loaded
 * machine may miss; a terminal's Ctrl-C reaches the node's own handler either way.
 */
function startNode(dataDir: string, env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'main.ts'), '--json', '--chain-port', '0'],
    {
      env: { ...process.env, CAREKEY_DATA: dataDir, CAREKEY_SHRED_DELAY: '0', CAREKEY_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolve({ child, summary: JSON.parse(line) as Record<string, unknown> }));
    child.once('exit', (code) => reject(new Error(`node exited with ${code}: ${stderr}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

describe('npm start (main.ts)', () => {
  it('starts the chain with the contracts, stops on Ctrl-C with state saved, and reuses the deployment', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'carekey-main-'));
    // The key-release credential gate (docs/identity.md) is switched on by its variable, off by default.
    const first = await startNode(dataDir, { CAREKEY_RELEASE_REQUIRES_CREDENTIAL: '1' });
    expect(first.summary).toMatchObject({
      releaseRequiresCredential: true,
      chainId: 31337,
      embedded: true,
      dataDir,
      status: 'deployed',
      reset: false,
    });
    expect(String(first.summary.rpcUrl)).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const contracts = first.summary.contracts as Record<string, string>;
    expect(Object.keys(contracts).sort()).toEqual(['consentRegistry', 'didRegistry', 'recordRegistry']);
    // The API answers on loopback and names the same contracts; database and blobs live in the data folder.
    const api = first.summary.api as { url: string; audience: string };
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.summary).toMatchObject({ database: join(dataDir, 'pg'), blobs: join(dataDir, 'blobs') });
    const described = (await (await fetch(`${api.url}/v1/node`)).json()) as Record<string, unknown>;
    expect(described).toMatchObject({ chainId: 31337, audience: api.audience, contracts });
    expect(await stop(first.child)).toBe(0);
    expect(existsSync(join(dataDir, 'chain', 'anvil-state.json'))).toBe(true);

    const second = await startNode(dataDir);
    try {
      expect(second.summary).toMatchObject({
        status: 'reused',
        reset: false,
        contracts,
        releaseRequiresCredential: false,
      });
      // The audience is kept in the data folder: requests signed for this node stay valid across a restart.
      expect((second.summary.api as { audience: string }).audience).toBe(api.audience);
    } finally {
      expect(await stop(second.child)).toBe(0);
    }
  }, 300_000); // the first start runs PGlite's initdb: seconds to tens of seconds on a loaded machine

  it('exits non-zero with a one-line error on a bad flag', async () => {
    const child = spawn(tsx, [join(here, 'main.ts'), '--chain-port', 'nope'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain("invalid chain port 'nope'");
  });
});
