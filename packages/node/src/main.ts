/**
 * `npm start`: the Carekey node. In this step it runs the ledger: the embedded
 * chain (or an external one, `--rpc-url`) with the Carekey contracts deployed
 * or reused, prints where everything is, and stays up until Ctrl-C.
 */
import { BaseError } from '@carekey/sdk/errors';
import { type Chain, startChain } from './chain/startChain.ts';
import { loadNodeConfig } from './config/loadNodeConfig.ts';

async function main(): Promise<void> {
  const config = loadNodeConfig();
  const chain = await startChain(
    config.chain.kind === 'embedded'
      ? { dataDir: config.dataDir, shredDelay: config.shredDelay, port: config.chain.port }
      : {
          dataDir: config.dataDir,
          shredDelay: config.shredDelay,
          rpcUrl: config.chain.rpcUrl,
          relayerKey: config.chain.relayerKey,
        },
  );

  if (config.json) process.stdout.write(`${JSON.stringify(summary(chain))}\n`);
  else process.stdout.write(banner(chain));

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (!config.json) process.stderr.write(`\n${signal}: stopping the chain (saving its state)...\n`);
    await chain.stop();
    if (!config.json) process.stderr.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // If anvil dies under us, the node cannot work: say so and exit non-zero.
  void chain.anvil?.exited.then(({ code, signal }) => {
    if (stopping) return;
    process.stderr.write(
      `error: the embedded chain exited unexpectedly (code ${code}, signal ${signal})\n${chain.anvil?.logTail() ?? ''}\n`,
    );
    process.exit(1);
  });
}

function summary(chain: Chain) {
  const { deployment } = chain;
  return {
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    embedded: chain.anvil !== undefined,
    dataDir: chain.dataDir,
    deploymentFile: chain.deploymentPath,
    statePath: chain.anvil?.statePath ?? null,
    relayer: chain.relayer,
    status: chain.status,
    reset: chain.reset,
    reason: chain.reason ?? null,
    deployBlock: deployment.deployBlock,
    genesisHash: deployment.genesisHash,
    contracts: {
      didRegistry: deployment.contracts.didRegistry.address,
      recordRegistry: deployment.contracts.recordRegistry.address,
      consentRegistry: deployment.contracts.consentRegistry.address,
    },
  };
}

function banner(chain: Chain): string {
  const s = summary(chain);
  const status =
    s.status === 'reused'
      ? 'reused (deployment.json matches the chain)'
      : s.status === 'deployed'
        ? 'deployed (first start)'
        : `redeployed: ${s.reason}${s.reset ? ' [CHAIN RESET: indexed data must be replayed]' : ''}`;
  const lines = [
    'Carekey node: chain ready',
    `  RPC URL          ${s.rpcUrl}${s.embedded ? ' (embedded anvil)' : ' (external)'}`,
    `  chain id         ${s.chainId}`,
    `  data folder      ${s.dataDir}`,
    ...(s.statePath ? [`  chain state      ${s.statePath}`] : []),
    `  deployment       ${s.deploymentFile}`,
    `  contracts        ${status}`,
    `  DID registry     ${s.contracts.didRegistry}`,
    `  RecordRegistry   ${s.contracts.recordRegistry}`,
    `  ConsentRegistry  ${s.contracts.consentRegistry}`,
    `  deploy block     ${s.deployBlock}`,
    `  relayer          ${s.relayer}${s.embedded ? ' (anvil dev account 0: embedded chain only)' : ''}`,
    'Press Ctrl-C to stop.',
  ];
  return `${lines.join('\n')}\n`;
}

main().catch((error: unknown) => {
  const message = error instanceof BaseError ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
});
