/**
 * The vault's per-block chain cache on a real anvil (THREAT-MODEL T-4: "grant cache keyed by block number; negative
 * decisions never cached longer than 1 block"; T-24: cached grant state per block), and the head read under it
 * (createVaultChain's WebSocket, with HTTP behind it).
 */
import { createServer } from 'node:net';
import { ScopeKind } from '@carekey/sdk/chain';
import { VaultChainUnavailableError } from '@carekey/sdk/errors';
import { createPublicClient, http } from 'viem';
import { getBlock } from 'viem/actions';
import { getWebSocketRpcClient } from 'viem/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheVaultChain } from './cacheVaultChain.ts';
import { type CreateVaultChainReturnType, createVaultChain } from './createVaultChain.ts';
import { startVaultTestbed, type VaultTestbed } from './testing/startVaultTestbed.ts';
import type { VaultChain } from './VaultChain.ts';

let t: VaultTestbed;

beforeAll(async () => {
  t = await startVaultTestbed();
}, 120_000);
afterAll(async () => {
  await t?.stop();
});

/** The real chain reader, counting the reads that reach the chain; `failNext` makes the next readGrant fail. */
function countedChain() {
  const { contracts } = t.chain.deployment;
  const inner = createVaultChain({
    client: t.chain.client,
    chainId: t.chain.chainId,
    contracts: {
      didRegistry: contracts.didRegistry.address,
      recordRegistry: contracts.recordRegistry.address,
      consentRegistry: contracts.consentRegistry.address,
    },
  });
  const counts = { head: 0, readGrant: 0, identityOwner: 0 };
  const control = { failNext: false };
  const counted: VaultChain = {
    ...inner,
    head: () => {
      counts.head++;
      return inner.head();
    },
    readGrant: (grantId, blockNumber) => {
      counts.readGrant++;
      if (control.failNext) {
        control.failNext = false;
        return Promise.reject(new VaultChainUnavailableError({ cause: new Error('test: RPC down') }));
      }
      return inner.readGrant(grantId, blockNumber);
    },
    identityOwner: (identity, blockNumber) => {
      counts.identityOwner++;
      return inner.identityOwner(identity, blockNumber);
    },
  };
  return { chain: cacheVaultChain(counted), counts, control };
}

describe('cacheVaultChain', () => {
  it('T-4: the head is read after each call arrives: concurrent calls share reads, a call after a new block sees it', async () => {
    const { chain, counts } = countedChain();
    const heads = await Promise.all(Array.from({ length: 16 }, () => chain.head()));
    expect(new Set(heads.map((h) => h.number)).size).toBe(1);
    expect(counts.head).toBeLessThanOrEqual(2);
    const before = heads[0]?.number ?? 0n;
    await t.mine(1);
    expect((await chain.head()).number).toBe(before + 1n);
    await t.mine(1);
    expect((await chain.head()).number).toBe(before + 2n);
  });

  it('T-4: grant and owner reads at the head are made once per block and dropped with it; reads at another block go to the chain', async () => {
    const patient = t.newIdentity();
    const grantee = t.newIdentity();
    const records = await t.publish({ patient, tags: [`0x${'11'.repeat(32)}`] });
    const grantId = await t.grant({ patient, grantee, scopeKind: ScopeKind.All, records });
    const { chain, counts } = countedChain();
    const head = await chain.head();
    const grants = await Promise.all(Array.from({ length: 8 }, () => chain.readGrant(grantId, head.number)));
    expect(grants.every((g) => g?.grantee === grantee.address && !g.revoked)).toBe(true);
    expect(counts.readGrant).toBe(1);
    await chain.identityOwner(grantee.address, head.number);
    await chain.identityOwner(grantee.address, head.number);
    expect(counts.identityOwner).toBe(1);
    // An unknown grant (a negative answer) is kept for the block too, and only for it.
    const unknown = `0x${'ab'.repeat(32)}` as const;
    expect(await chain.readGrant(unknown, head.number)).toBeUndefined();
    expect(await chain.readGrant(unknown, head.number)).toBeUndefined();
    expect(counts.readGrant).toBe(2);

    await t.mine(1);
    const next = await chain.head();
    expect(next.number).toBe(head.number + 1n);
    await chain.readGrant(grantId, next.number);
    await chain.readGrant(unknown, next.number);
    await chain.identityOwner(grantee.address, next.number);
    expect(counts).toMatchObject({ readGrant: 4, identityOwner: 2 });
    // The older block is no longer the head: read at the chain every time.
    await chain.readGrant(grantId, head.number);
    await chain.readGrant(grantId, head.number);
    expect(counts.readGrant).toBe(6);
  });

  it('a failed read is not kept: the next call at the same head reads again', async () => {
    const { chain, counts, control } = countedChain();
    const head = await chain.head();
    control.failNext = true;
    const id = `0x${'cd'.repeat(32)}` as const;
    await expect(chain.readGrant(id, head.number)).rejects.toBeInstanceOf(VaultChainUnavailableError);
    expect(await chain.readGrant(id, head.number)).toBeUndefined();
    expect(counts.readGrant).toBe(2);
  });
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('createVaultChain: the head over a WebSocket', () => {
  /** A reader whose HTTP client counts its requests. */
  function socketReader(headSocketUrl: string, rpcUrl = t.chain.rpcUrl) {
    const counted = { http: 0 };
    const client = createPublicClient({
      transport: http(rpcUrl, {
        retryCount: 0,
        onFetchRequest: () => {
          counted.http++;
        },
      }),
    });
    const { contracts } = t.chain.deployment;
    const reader: CreateVaultChainReturnType = createVaultChain({
      client,
      chainId: t.chain.chainId,
      contracts: {
        didRegistry: contracts.didRegistry.address,
        recordRegistry: contracts.recordRegistry.address,
        consentRegistry: contracts.consentRegistry.address,
      },
      headSocketUrl,
    });
    return { reader, counted };
  }
  const wsUrl = () => t.chain.rpcUrl.replace(/^http/u, 'ws');
  const httpHead = async () => {
    const block = await getBlock(t.chain.client, { blockTag: 'latest' });
    return { number: block.number, timestamp: block.timestamp, hash: block.hash };
  };

  it('T-4: each read is made when asked and gives the block HTTP gives, the one just mined included, with no HTTP request', async () => {
    const { reader, counted } = socketReader(wsUrl());
    try {
      for (let i = 0; i < 3; i++) {
        await t.mine(1);
        const head = await reader.head();
        expect(head).toEqual(await httpHead());
      }
      // Through the cache: concurrent arrivals share reads, a call after a new block sees it.
      const chain = cacheVaultChain(reader);
      const heads = await Promise.all(Array.from({ length: 16 }, () => chain.head()));
      expect(new Set(heads.map((h) => h.hash)).size).toBe(1);
      await t.mine(1);
      expect((await chain.head()).number).toBe((heads[0]?.number ?? 0n) + 1n);
      expect(counted.http).toBe(0);
    } finally {
      await reader.close();
    }
  });

  it('a refused or closed socket: that read goes over HTTP, same head; nothing readable either way fails closed (503)', async () => {
    const refused = socketReader(`ws://127.0.0.1:${await closedPort()}`);
    expect(await refused.reader.head()).toEqual(await httpHead());
    expect(refused.counted.http).toBe(1);
    // Within the retry pause the socket is not tried again: straight to HTTP.
    await t.mine(1);
    expect(await refused.reader.head()).toEqual(await httpHead());
    expect(refused.counted.http).toBe(2);

    const { reader, counted } = socketReader(wsUrl());
    try {
      await reader.head();
      expect(counted.http).toBe(0);
      // The socket closes under the reader (viem shares one client per URL and options: this is the reader's).
      (await getWebSocketRpcClient(wsUrl(), { keepAlive: false, reconnect: false })).close();
      await t.mine(1);
      expect(await reader.head()).toEqual(await httpHead());
      expect(counted.http).toBe(1);
    } finally {
      await reader.close();
    }
    // After close, reads go over HTTP.
    expect(await reader.head()).toEqual(await httpHead());
    expect(counted.http).toBe(2);

    const dead = `127.0.0.1:${await closedPort()}`;
    const down = socketReader(`ws://${dead}`, `http://${dead}`);
    await expect(down.reader.head()).rejects.toBeInstanceOf(VaultChainUnavailableError);
  });
});
