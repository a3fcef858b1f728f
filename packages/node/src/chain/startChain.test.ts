import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChainConfigError, ChainError } from '@carekey/sdk/errors';
import { createPublicClient, http } from 'viem';
import { generatePrivateKey } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { deploymentPath, readDeployment } from './Deployment.ts';
import { startAnvil } from './startAnvil.ts';
import { startChain } from './startChain.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'carekey-chain-'));

describe('startChain', () => {
  it('deploys once, then reuses the deployment after a restart; blocks continue', async () => {
    const dataDir = tempDir();
    const first = await startChain({ dataDir, port: 0, shredDelay: 0 });
    expect(first.status).toBe('deployed');
    expect(first.reset).toBe(false);
    expect(first.chainId).toBe(31337);
    const recorded = readDeployment(dataDir);
    expect(recorded?.contracts).toEqual(first.deployment.contracts);
    expect(recorded?.genesisHash).toMatch(/^0x[0-9a-f]{64}$/);
    const head = await first.client.getBlockNumber();
    await first.stop();
    expect(existsSync(join(dataDir, 'chain', 'anvil-state.json'))).toBe(true);

    const second = await startChain({ dataDir, port: 0, shredDelay: 0 });
    try {
      expect(second.status).toBe('reused');
      expect(second.reset).toBe(false);
      expect(second.deployment).toEqual(first.deployment);
      expect(await second.client.getBlockNumber()).toBeGreaterThanOrEqual(head);
      // No deployment transaction was sent: the relayer's nonce is still one per deployed contract.
      expect(await second.client.getTransactionCount({ address: second.relayer })).toBe(
        Object.keys(second.deployment.contracts).length,
      );
      const code = await second.client.getCode({
        address: second.deployment.contracts.consentRegistry.address,
      });
      expect(code?.length).toBeGreaterThan(2);
    } finally {
      await second.stop();
    }
  });

  it('detects a chain whose state was deleted and redeploys with reset: true', async () => {
    const dataDir = tempDir();
    const first = await startChain({ dataDir, port: 0, shredDelay: 0 });
    await first.stop();
    rmSync(join(dataDir, 'chain', 'anvil-state.json'));

    const second = await startChain({ dataDir, port: 0, shredDelay: 0 });
    try {
      expect(second.status).toBe('redeployed');
      expect(second.reset).toBe(true);
      expect(second.reason).toContain('genesis block hash');
      expect(second.previous?.genesisHash).toBe(first.deployment.genesisHash);
      expect(second.deployment.genesisHash).not.toBe(first.deployment.genesisHash);
      expect(readDeployment(dataDir)?.genesisHash).toBe(second.deployment.genesisHash);
      const code = await second.client.getCode({
        address: second.deployment.contracts.recordRegistry.address,
      });
      expect(code?.length).toBeGreaterThan(2);
    } finally {
      await second.stop();
    }
  });

  it('detects a chain replaced by another one (same genesis record, contracts gone) via missing code', async () => {
    const dataDir = tempDir();
    const first = await startChain({ dataDir, port: 0, shredDelay: 0 });
    await first.stop();
    // Replace the state with that of a chain where nothing was deployed, and point the record at it,
    // so only the code check can notice.
    const other = tempDir();
    const bare = await startAnvil({ dataDir: other, port: 0 });
    const bareClient = createPublicClient({ transport: http(bare.rpcUrl) });
    const genesis = await bareClient.getBlock({ blockNumber: 0n });
    await bare.stop();
    writeFileSync(join(dataDir, 'chain', 'anvil-state.json'), readFileSync(bare.statePath));
    const record = JSON.parse(readFileSync(deploymentPath(dataDir), 'utf8'));
    record.genesisHash = genesis.hash;
    record.deployBlock = 0;
    record.deployBlockHash = genesis.hash;
    writeFileSync(deploymentPath(dataDir), JSON.stringify(record));

    const second = await startChain({ dataDir, port: 0, shredDelay: 0 });
    try {
      expect(second.status).toBe('redeployed');
      expect(second.reset).toBe(true);
      expect(second.reason).toMatch(/no code at didRegistry/);
    } finally {
      await second.stop();
    }
  });

  it('redeploys without a reset when the contracts or their settings changed', async () => {
    const dataDir = tempDir();
    const first = await startChain({ dataDir, port: 0, blockTime: 0, shredDelay: 0 });
    await first.stop();
    const second = await startChain({ dataDir, port: 0, blockTime: 0, shredDelay: 3600 });
    try {
      expect(second.status).toBe('redeployed');
      expect(second.reset).toBe(false);
      expect(second.reason).toContain('shred delay changed from 0 s to 3600 s');
      expect(second.deployment.contracts.recordRegistry.address).not.toBe(
        first.deployment.contracts.recordRegistry.address,
      );
      expect(second.deployment.genesisHash).toBe(first.deployment.genesisHash);
    } finally {
      await second.stop();
    }
  });

  it('uses an external chain through rpcUrl + relayer key without starting anvil, and reuses it', async () => {
    const external = await startAnvil({ dataDir: tempDir(), port: 0, blockTime: 0 });
    try {
      const dataDir = tempDir();
      // anvil dev account 1 as this chain's funded relayer.
      const relayerKey = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d' as const;
      const first = await startChain({ dataDir, rpcUrl: external.rpcUrl, relayerKey, shredDelay: 0 });
      expect(first.anvil).toBeUndefined();
      expect(first.status).toBe('deployed');
      expect(first.deployment.deployer).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
      expect(existsSync(join(dataDir, 'chain', 'anvil-state.json'))).toBe(false);
      const second = await startChain({ dataDir, rpcUrl: external.rpcUrl, relayerKey, shredDelay: 0 });
      expect(second.status).toBe('reused');
      expect(second.deployment.contracts).toEqual(first.deployment.contracts);

      const unfunded = await startChain({
        dataDir: tempDir(),
        rpcUrl: external.rpcUrl,
        relayerKey: generatePrivateKey(),
        shredDelay: 0,
      }).catch((e: unknown) => e);
      expect(unfunded).toBeInstanceOf(ChainError);
      expect((unfunded as Error).message).toMatch(/deploying the Carekey contracts failed.*(funds|balance)/i);
    } finally {
      await external.stop();
    }
  });

  it('refuses an external chain without a relayer key, or one that does not answer', async () => {
    const missing = await startChain({
      dataDir: tempDir(),
      rpcUrl: 'http://127.0.0.1:1',
      relayerKey: '' as `0x${string}`,
      shredDelay: 0,
    }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(ChainConfigError);
    expect((missing as Error).message).toContain('needs a relayer key');

    const down = await startChain({
      dataDir: tempDir(),
      rpcUrl: 'http://127.0.0.1:1',
      relayerKey: generatePrivateKey(),
      shredDelay: 0,
    }).catch((e: unknown) => e);
    expect((down as Error).message).toContain('does not answer eth_chainId');
  });
});
