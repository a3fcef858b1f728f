/**
 * `npm start`: the Carekey node. Starts the embedded chain (or uses an external
 * one, `--rpc-url`) with the Carekey contracts deployed or reused, the SQL store
 * (PGlite in `<data>/pg`, or `CAREKEY_DATABASE_URL`), the blob store and the HTTP
 * API on 127.0.0.1 (`CAREKEY_PORT`, default 8787), prints where everything is,
 * and stays up until Ctrl-C / SIGTERM.
 */
import { BaseError, ChainConfigError } from '@carekey/sdk/errors';
import { loadNodeConfig } from './config/loadNodeConfig.ts';
import { parseGovernance } from './identity/parseGovernance.ts';
import { type CarekeyNode, DEFAULT_API_PORT, startNode } from './startNode.ts';

async function main(): Promise<void> {
  const config = loadNodeConfig();
  const port = apiPort(process.env.CAREKEY_PORT);
  const corsOrigins = (process.env.CAREKEY_CORS_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  const node = await startNode({
    dataDir: config.dataDir,
    shredDelay: config.shredDelay,
    chain:
      config.chain.kind === 'embedded'
        ? { port: config.chain.port, governance: parseGovernance() }
        : { rpcUrl: config.chain.rpcUrl, relayerKey: config.chain.relayerKey, governance: parseGovernance() },
    databaseUrl: process.env.CAREKEY_DATABASE_URL,
    releaseRequiresCredential: config.releaseRequiresCredential,
    api: {
      port,
      corsOrigins,
      log: (entry) => {
        // One line per request on stderr (method, route pattern, status, ms: no ids, T-10); CAREKEY_LOG_REQUESTS=0 silences it.
        if (process.env.CAREKEY_LOG_REQUESTS !== '0') process.stderr.write(`${JSON.stringify(entry)}\n`);
      },
    },
  });
  const { chain } = node;
  if (config.rotateEmergencyKey) {
    const rotated = await node.rotateEmergencyKey();
    process.stderr.write(
      `emergency key rotated: ${rotated.rewrapped} emergency stanza(s) re-wrapped to ${rotated.recipient}` +
        `${rotated.unreadable > 0 ? `, ${rotated.unreadable} for neither key left for the patients' next refresh` : ''}; the old key is gone from ${config.dataDir}/emergency\n`,
    );
  }

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (!config.json)
      process.stderr.write(
        `\n${signal}: stopping the API, the database and the chain (saving its state)...\n`,
      );
    await node.stop();
    if (!config.json) process.stderr.write('stopped.\n');
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // Only now say where everything is: whoever reads this line may press Ctrl-C at once, and the handlers above
  // must already be in place (stdout on a pipe is written synchronously).
  if (config.json) process.stdout.write(`${JSON.stringify(summary(node))}\n`);
  else process.stdout.write(banner(node));
  // If anvil dies under us, the node cannot work: say so and exit non-zero.
  void chain.anvil?.exited.then(({ code, signal }) => {
    if (stopping) return;
    process.stderr.write(
      `error: the embedded chain exited unexpectedly (code ${code}, signal ${signal})\n${chain.anvil?.logTail() ?? ''}\n`,
    );
    process.exit(1);
  });
}

function apiPort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return DEFAULT_API_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65_535) {
    throw new ChainConfigError(`invalid API port '${raw}'`, {
      hint: 'CAREKEY_PORT is a whole number from 0 to 65535',
    });
  }
  return port;
}

function summary(node: CarekeyNode) {
  const { chain } = node;
  const { deployment } = chain;
  return {
    api: {
      url: node.api.url,
      audience: node.audience,
      version: node.version,
      openapi: `${node.api.url}/openapi.json`,
    },
    database: node.database,
    blobs: node.blobs.dir,
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    embedded: chain.anvil !== undefined,
    dataDir: chain.dataDir,
    deploymentFile: chain.deploymentPath,
    statePath: chain.anvil?.statePath ?? null,
    relayer: chain.relayer,
    releaseRequiresCredential: node.vault.checkGrantee !== undefined,
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

function banner(node: CarekeyNode): string {
  const s = summary(node);
  const status =
    s.status === 'reused'
      ? 'reused (deployment.json matches the chain)'
      : s.status === 'deployed'
        ? 'deployed (first start)'
        : `redeployed: ${s.reason}${s.reset ? ' [CHAIN RESET: indexed data must be replayed]' : ''}`;
  const lines = [
    'Carekey node: ready',
    `  API              ${s.api.url} (OpenAPI: ${s.api.openapi})`,
    `  audience         ${s.api.audience}`,
    `  database         ${s.database}`,
    `  blobs            ${s.blobs}`,
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
    `  key release      ${s.releaseRequiresCredential ? 'only to grantees with a valid provider credential' : 'under a grant (no credential required)'}`,
    'Press Ctrl-C to stop.',
  ];
  return `${lines.join('\n')}\n`;
}

main().catch((error: unknown) => {
  const message = error instanceof BaseError ? `${error.name}: ${error.message}` : String(error);
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
});
