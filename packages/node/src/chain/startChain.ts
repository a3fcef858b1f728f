import { type ChainClient, createChainClient } from '@carekey/sdk/chain';
import { ChainConfigError, ChainError } from '@carekey/sdk/errors';
import { type Account, type Address, createPublicClient, http } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { deploymentPath } from './Deployment.ts';
import type { Governance } from './deployContracts.ts';
import { type EnsureDeploymentReturnType, ensureDeployment } from './ensureDeployment.ts';
import { type Anvil, startAnvil } from './startAnvil.ts';

/**
 * anvil's well-known development mnemonic. Its account 0 deploys and relays on
 * the embedded chain only: the key is public, which is fine for a loopback dev
 * chain and never for a shared one (external chains need `CAREKEY_RELAYER_KEY`).
 */
export const ANVIL_DEV_MNEMONIC = 'test test test test test test test test test test test junk';

export type StartChainParameters = {
  /** The node's data folder. */
  dataDir: string;
  /** RecordRegistry's shred delay in seconds (fixed at deployment). */
  shredDelay: number;
  /** TrustedIssuers governors and threshold (fixed at deployment; default: the relayer alone). */
  governance?: Governance | undefined;
} & (
  | {
      /** Start anvil (default). */
      rpcUrl?: undefined;
      /** Loopback port (default 8545; 0 = any free port). */
      port?: number | undefined;
      /** Seconds per block (default 1; 0 = one block per transaction). */
      blockTime?: number | undefined;
      /** Seconds between state dumps (default 5). */
      stateInterval?: number | undefined;
      /** anvil binary (default: installed `@foundry-rs/anvil`, or `CAREKEY_ANVIL_BIN`). */
      anvilBinary?: string | undefined;
      /** Relayer key on the embedded chain (default: anvil dev account 0). */
      relayerKey?: `0x${string}` | undefined;
    }
  | {
      /** An external EVM JSON-RPC endpoint; no anvil is started. */
      rpcUrl: string;
      /** The relayer's private key: deploys and pays gas. Required on an external chain. */
      relayerKey: `0x${string}`;
    }
);

/** A started chain with the Carekey contracts deployed or reused. */
export type Chain = EnsureDeploymentReturnType & {
  rpcUrl: string;
  chainId: number;
  dataDir: string;
  /** Path of `deployment.json`. */
  deploymentPath: string;
  /** The embedded anvil, or `undefined` on an external chain. */
  anvil: Anvil | undefined;
  /** The relayer's read/write client. */
  client: ChainClient;
  relayer: Address;
  /** Stops anvil gracefully (state saved); no-op on an external chain. */
  stop(): Promise<void>;
};

export type StartChainReturnType = Chain;

/**
 * Starts the node's ledger: the embedded anvil (or an external RPC endpoint),
 * then the Carekey contracts, deployed once and reused on later starts (see
 * `ensureDeployment` for reset detection).
 *
 * @throws {ChainConfigError} external chain without a relayer key.
 * @throws {ChainStartError | ChainPortInUseError | AnvilNotFoundError | DataDirError} see `startAnvil`.
 * @throws {ChainError} the RPC endpoint does not answer, or deploying failed.
 * @example
 * const chain = await startChain({ dataDir: '.carekey/node', shredDelay: 86_400 });
 * console.log(chain.rpcUrl, chain.deployment.contracts.consentRegistry.address);
 * await chain.stop();
 */
export async function startChain(parameters: StartChainParameters): Promise<StartChainReturnType> {
  const { dataDir, shredDelay } = parameters;
  let anvil: Anvil | undefined;
  let rpcUrl: string;
  let account: Account;
  if (parameters.rpcUrl === undefined) {
    anvil = await startAnvil({
      dataDir,
      port: parameters.port,
      blockTime: parameters.blockTime,
      stateInterval: parameters.stateInterval,
      binary: parameters.anvilBinary ?? process.env.CAREKEY_ANVIL_BIN,
    });
    rpcUrl = anvil.rpcUrl;
    account = parameters.relayerKey
      ? privateKeyToAccount(parameters.relayerKey)
      : mnemonicToAccount(ANVIL_DEV_MNEMONIC, { addressIndex: 0 });
  } else {
    const relayerKey: `0x${string}` | undefined = parameters.relayerKey;
    if (!relayerKey) {
      // The type requires it; JavaScript callers and empty env values do not.
      throw new ChainConfigError(`an external chain (${parameters.rpcUrl}) needs a relayer key`, {
        hint: 'set CAREKEY_RELAYER_KEY',
      });
    }
    rpcUrl = parameters.rpcUrl;
    account = privateKeyToAccount(relayerKey);
  }
  try {
    let chainId: number;
    try {
      chainId = await createPublicClient({ transport: http(rpcUrl, { retryCount: 1 }) }).getChainId();
    } catch (cause) {
      throw new ChainError(`the chain at ${rpcUrl} does not answer eth_chainId`, {
        hint: 'check --rpc-url / CAREKEY_RPC_URL and that the node is up',
        cause,
      });
    }
    const client = createChainClient({ rpcUrl, chainId, account });
    const result = await ensureDeployment({ client, dataDir, shredDelay, governance: parameters.governance });
    const running = anvil;
    return {
      ...result,
      rpcUrl,
      chainId,
      dataDir,
      deploymentPath: deploymentPath(dataDir),
      anvil,
      client,
      relayer: account.address,
      stop: async () => {
        await running?.stop();
      },
    };
  } catch (error) {
    await anvil?.stop();
    throw error;
  }
}
