import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AnvilNotFoundError, ChainPortInUseError, ChainStartError, DataDirError } from '@carekey/sdk/errors';
import { createPublicClient, http } from 'viem';
import { describe, expect, it } from 'vitest';
import { startAnvil } from './startAnvil.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'carekey-anvil-'));

describe('startAnvil', () => {
  it('starts on a free port, keeps state in the data folder across a graceful stop/start', async () => {
    const dataDir = tempDir();
    const first = await startAnvil({ dataDir, port: 0 });
    const client = createPublicClient({ transport: http(first.rpcUrl), cacheTime: 0 });
    expect(await client.getChainId()).toBe(31337);
    // --block-time 1: blocks come by themselves.
    const start = await client.getBlockNumber();
    await new Promise((r) => setTimeout(r, 2_200));
    const before = await client.getBlockNumber();
    expect(before).toBeGreaterThan(start);
    const genesis = (await client.getBlock({ blockNumber: 0n })).hash;
    await first.stop();
    expect(existsSync(join(dataDir, 'chain', 'anvil-state.json'))).toBe(true);
    expect(readFileSync(join(dataDir, 'chain', 'anvil.log'), 'utf8')).toContain('Listening on');

    const second = await startAnvil({ dataDir, port: 0 });
    try {
      const again = createPublicClient({ transport: http(second.rpcUrl), cacheTime: 0 });
      expect((await again.getBlock({ blockNumber: 0n })).hash).toBe(genesis);
      expect(await again.getBlockNumber()).toBeGreaterThanOrEqual(before);
    } finally {
      await second.stop();
    }
  });

  it('reports a port that is already taken', async () => {
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const error = await startAnvil({ dataDir: tempDir(), port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChainPortInUseError);
      expect((error as Error).message).toContain(`port ${port}`);
    } finally {
      server.close();
    }
  });

  it('reports a missing anvil binary with its path', async () => {
    const missing = join(tempDir(), 'no-anvil-here');
    const error = await startAnvil({ dataDir: tempDir(), port: 0, binary: missing }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnvilNotFoundError);
    expect((error as Error).message).toContain(missing);
  });

  it('reports a data folder that cannot be created', async () => {
    // A path below a regular file cannot be a folder, whatever the user's rights (tests may run as root).
    const blocker = join(tempDir(), 'a-file');
    writeFileSync(blocker, 'x');
    const dataDir = join(blocker, 'node');
    const error = await startAnvil({ dataDir, port: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirError);
    expect((error as Error).message).toContain(dataDir);
    expect((error as Error).message).toContain('ENOTDIR');
  });

  it('refuses a second chain on a data folder in use, and takes over a stale lock', async () => {
    const dataDir = tempDir();
    const first = await startAnvil({ dataDir, port: 0 });
    try {
      const error = await startAnvil({ dataDir, port: 0 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataDirError);
      expect((error as Error).message).toContain(`already run by process ${process.pid}`);
    } finally {
      await first.stop();
    }
    expect(existsSync(join(dataDir, 'chain', 'anvil.lock'))).toBe(false);
    // A lock left by a process that no longer exists (pid 2^22 + 1 is above Linux's pid_max default).
    writeFileSync(join(dataDir, 'chain', 'anvil.lock'), '4194305\n');
    const second = await startAnvil({ dataDir, port: 0 });
    await second.stop();
  });

  it('reports an anvil that dies at start with the tail of its log', async () => {
    const dataDir = tempDir();
    const first = await startAnvil({ dataDir, port: 0 });
    await first.stop();
    writeFileSync(first.statePath, '{ this is not a state file');
    const error = await startAnvil({ dataDir, port: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainStartError);
    expect((error as Error).message).toMatch(/exited with code/);
    expect((error as Error).message).toContain('anvil-state.json');
  });
});
