import type { Command } from 'commander';
import { issueGatewayToken } from '../gateway/auth/gatewayToken.ts';
import { FhirError } from '../gateway/fhir/FhirError.ts';
import {
  createGatewayServer,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_SYNC_INTERVAL_MS,
  isLoopbackHost,
} from '../gateway/server/createGatewayServer.ts';
import type { GatewayRouteHandler } from '../gateway/server/types.ts';
import { openGatewayStore } from '../gateway/store/openGatewayStore.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { openSession } from './openSession.ts';
import { parseDuration } from './parseDuration.ts';

/** A gateway refusal as a one-line CLI error. */
async function cli<result>(run: () => Promise<result>): Promise<result> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof FhirError) throw new CliError(error.message);
    throw error;
  }
}

/** The CDS Hooks service, when its module is present (`gateway/cdsHooks/index.ts` exporting `cdsHooksHandler`). */
async function cdsHooks(): Promise<GatewayRouteHandler[]> {
  const specifier = '../gateway/cdsHooks/index.ts';
  try {
    const module = (await import(specifier)) as { cdsHooksHandler?: GatewayRouteHandler };
    return module.cdsHooksHandler === undefined ? [] : [module.cdsHooksHandler];
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return [];
    throw error;
  }
}

function port(text: string): number {
  if (!/^\d{1,5}$/u.test(text) || Number(text) > 65_535) {
    throw new CliError(`malformed port '${text.slice(0, 20)}'`, { hint: 'use 0-65535 (0: any free port)' });
  }
  return Number(text);
}

/**
 * `carekey gateway [serve]`: syncs the local store and serves FHIR R4 (and CDS Hooks) on loopback;
 * `carekey gateway sync`: syncs once; `carekey gateway token`: issues a bearer token for a local app.
 */
export function registerGateway(program: Command): void {
  const gateway = program
    .command('gateway')
    .description(
      'your gateway: decrypted records served as FHIR R4 and CDS Hooks to your own apps, on loopback',
    );

  gateway
    .command('serve', { isDefault: true })
    .description('sync with the node, then serve FHIR R4 on loopback until stopped (Ctrl-C)')
    .option('--port <port>', `port (default ${DEFAULT_GATEWAY_PORT}; 0: a free one)`)
    .option('--host <host>', 'loopback address to listen on', '127.0.0.1')
    .option('--sync-every <duration>', 'sync with the node this often (e.g. 30m); default every minute')
    .option('--json', 'print the ready line as JSON')
    .action(async (options: { port?: string; host: string; syncEvery?: string; json?: boolean }) => {
      if (!isLoopbackHost(options.host)) {
        throw new CliError(`the gateway serves loopback only, not '${options.host.slice(0, 60)}'`, {
          hint: 'use 127.0.0.1 or ::1; apps on other machines are not served',
        });
      }
      const listenPort = options.port === undefined ? DEFAULT_GATEWAY_PORT : port(options.port);
      const interval =
        options.syncEvery === undefined ? DEFAULT_SYNC_INTERVAL_MS : parseDuration(options.syncEvery) * 1000;
      const session = await openSession();
      const store = await openGatewayStore(session);
      const synced = await store.sync(session, { onProgress: progress });
      const handlers = await cdsHooks();
      const server = await cli(() =>
        createGatewayServer({
          session,
          store,
          host: options.host,
          port: listenPort,
          syncIntervalMs: interval,
          handlers,
        }),
      ).catch((error: unknown) => {
        if ((error as { code?: string }).code === 'EADDRINUSE') {
          throw new CliError(`port ${listenPort} is in use`, { hint: 'pick another with --port' });
        }
        throw error;
      });
      output(
        options,
        { url: server.url, records: synced.total },
        () => `carekey gateway: serving FHIR R4 at ${server.url} (${synced.total} records)`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });

  gateway
    .command('sync')
    .description('bring the local store up to date with the node once')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      const store = await openGatewayStore(session);
      const result = await store.sync(session, { onProgress: progress });
      output(
        options,
        result,
        () => `Gateway store: ${result.total} records (${result.added} added, ${result.removed} removed).`,
      );
    });

  gateway
    .command('token')
    .description('issue a bearer token for a local app, limited by SMART scopes')
    .requiredOption('--scope <scopes>', 'SMART v2 scopes, e.g. "patient/Observation.rs" or "user/*.rs"')
    .option('--patient <id>', 'FHIR Patient id the patient/ scopes are for')
    .option('--client <name>', 'the app the token is for (shown in the access log)', 'local-app')
    .option('--expires <duration>', 'lifetime: 30m, 12h, 7d (at most 30 days)', '1h')
    .option('--json', 'print JSON')
    .action(
      async (options: {
        scope: string;
        patient?: string;
        client: string;
        expires: string;
        json?: boolean;
      }) => {
        const expiresIn = parseDuration(options.expires);
        const session = await openSession();
        const { token, expiresAt } = await cli(() =>
          issueGatewayToken({
            privateKey: session.keys.privateKey,
            owner: session.keys.address,
            client: options.client,
            scope: options.scope,
            patient: options.patient,
            expiresIn,
          }),
        );
        output(
          options,
          {
            token,
            tokenType: 'Bearer',
            scope: options.scope,
            expiresAt: new Date(expiresAt * 1000).toISOString(),
          },
          () => token,
        );
      },
    );
}
