/**
 * Test fixture: a real anvil (automine, free port, temp data folder) with the Carekey
 * contracts deployed by the node's launcher. No mocks: every test talks to the live contracts.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Chain, startChain } from '@carekey/node/chain';
import { type Address, createTestClient, type Hex, http, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { type ChainClient, createChainClient } from '../../src/chain/index.ts';

export type TestChain = {
  chain: Chain;
  /** The relayer's client (anvil dev account 0). */
  relayer: ChainClient;
  didRegistry: Address;
  recordRegistry: Address;
  consentRegistry: Address;
  /** A fresh unfunded local key: an identity that never pays gas. */
  newKey(): LocalAccount;
  /** A client whose account is funded (anvil dev account `index`), to send direct (non-relayed) calls. */
  fundedClient(index: 1 | 2 | 3): ChainClient;
  /** Moves chain time forward and mines a block (T-3). */
  advanceTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
};

/** anvil's dev accounts 1..3 (public test keys from the default mnemonic). */
const DEV_KEYS: Record<1 | 2 | 3, Hex> = {
  1: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  2: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  3: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
};

export async function startTestChain(options: { shredDelay?: number } = {}): Promise<TestChain> {
  const dataDir = mkdtempSync(join(tmpdir(), 'carekey-sdk-chain-'));
  const chain = await startChain({ dataDir, port: 0, blockTime: 0, shredDelay: options.shredDelay ?? 0 });
  const { contracts } = chain.deployment;
  const testClient = createTestClient({ mode: 'anvil', transport: http(chain.rpcUrl) });
  return {
    chain,
    relayer: chain.client,
    didRegistry: contracts.didRegistry.address,
    recordRegistry: contracts.recordRegistry.address,
    consentRegistry: contracts.consentRegistry.address,
    newKey: () => privateKeyToAccount(generatePrivateKey()),
    fundedClient: (index) =>
      createChainClient({
        rpcUrl: chain.rpcUrl,
        chainId: chain.chainId,
        account: privateKeyToAccount(DEV_KEYS[index]),
      }),
    advanceTime: async (seconds) => {
      await testClient.increaseTime({ seconds });
      await testClient.mine({ blocks: 1 });
    },
    stop: () => chain.stop(),
  };
}
