import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ChainPortInUseError, ChainStartError, DataDirError } from '@carekey/sdk/errors';
import { findAnvil } from './findAnvil.ts';

/** Chain id of the embedded chain (anvil's default, known to wallets as "Anvil"/"Localhost"). */
export const EMBEDDED_CHAIN_ID = 31337;

export type StartAnvilParameters = {
  /** The node's data folder; anvil's state and log go to `<dataDir>/chain/`. */
  dataDir: string;
  /** TCP port on 127.0.0.1 (default 8545; 0 picks a free port). */
  port?: number | undefined;
  /** Chain id (default {@link EMBEDDED_CHAIN_ID}). */
  chainId?: number | undefined;
  /** Seconds between blocks (default 1); 0 mines one block per transaction at once (tests). */
  blockTime?: number | undefined;
  /** Seconds between state dumps to disk (default 5); a graceful stop always dumps. */
  stateInterval?: number | undefined;
  /** Path to the anvil binary (default: the one installed by `@foundry-rs/anvil`, or `CAREKEY_ANVIL_BIN`). */
  binary?: string | undefined;
  /** How long to wait for the RPC to answer (default 20 s). */
  startTimeoutMs?: number | undefined;
};

/** A running embedded chain. */
export type Anvil = {
  /** `http://127.0.0.1:<port>` */
  rpcUrl: string;
  port: number;
  chainId: number;
  pid: number;
  /** `<dataDir>/chain/anvil-state.json`, loaded at start and dumped every `stateInterval` s and on stop. */
  statePath: string;
  /** `<dataDir>/chain/anvil.log` (this run's output, capped). */
  logPath: string;
  /** The last lines anvil printed. */
  logTail(): string;
  /** Resolves when the process exits, whoever stopped it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (anvil dumps its state), SIGKILL after `timeoutMs` (default 10 s). Idempotent. */
  stop(options?: { timeoutMs?: number }): Promise<void>;
};

export type StartAnvilReturnType = Anvil;

/** Bytes of anvil output written to `anvil.log` per run; anvil prints every block, so the file is capped. */
const LOG_FILE_CAP = 1 << 20;
const TAIL_LINES = 40;

/**
 * Starts `anvil` on 127.0.0.1 with `--block-time`, a fixed chain id and its state
 * kept in `<dataDir>/chain/anvil-state.json` (`--state` + `--state-interval`), and
 * waits until its JSON-RPC answers.
 *
 * @throws {DataDirError} the data folder cannot be created or written.
 * @throws {AnvilNotFoundError} no anvil binary.
 * @throws {ChainPortInUseError} the port is taken.
 * @throws {ChainStartError} anvil exited or did not answer in time (the message carries its log tail).
 * @example
 * const anvil = await startAnvil({ dataDir: '.carekey/node', port: 8545 });
 * // ... anvil.rpcUrl ...
 * await anvil.stop();
 */
export async function startAnvil(parameters: StartAnvilParameters): Promise<StartAnvilReturnType> {
  if (parameters.port !== 0) return startOn(parameters, parameters.port ?? 8545);
  // A free port can be taken by another process between our probe and anvil's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(parameters, await freePort('127.0.0.1'));
    } catch (error) {
      if (!(error instanceof ChainPortInUseError) || attempt >= 5) throw error;
    }
  }
}

async function startOn(parameters: StartAnvilParameters, port: number): Promise<StartAnvilReturnType> {
  const host = '127.0.0.1';
  const chainId = parameters.chainId ?? EMBEDDED_CHAIN_ID;
  const chainDir = ensureWritableDir(parameters.dataDir, join(parameters.dataDir, 'chain'));
  const statePath = join(chainDir, 'anvil-state.json');
  const logPath = join(chainDir, 'anvil.log');
  const binary = findAnvil({ binary: parameters.binary });
  const blockTime = parameters.blockTime ?? 1;

  // Probe first: if another process (maybe another anvil) holds the port, our
  // readiness check would otherwise be answered by *that* process.
  if (!(await isPortFree(host, port))) throw new ChainPortInUseError(host, port);
  // Two chains on one state file would overwrite each other's dumps.
  const releaseLock = lockDataDir(parameters.dataDir, join(chainDir, 'anvil.lock'));

  const args = [
    '--host',
    host,
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    ...(blockTime > 0 ? ['--block-time', String(blockTime)] : []),
    '--state',
    statePath,
    '--state-interval',
    String(parameters.stateInterval ?? 5),
  ];
  const log = openSync(logPath, 'w');
  let logged = 0;
  let logOpen = true;
  const tail: string[] = [];
  let partial = '';
  const onOutput = (chunk: Buffer) => {
    if (logOpen && logged < LOG_FILE_CAP) {
      writeSync(log, chunk);
      logged += chunk.length;
      if (logged >= LOG_FILE_CAP)
        writeSync(log, '\n[carekey] log capped; later output is kept in memory only\n');
    }
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') tail.push(line);
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  };
  const logTail = () => [...tail, partial].filter((l) => l.trim() !== '').join('\n');

  let child: ChildProcess;
  try {
    child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (cause) {
    closeSync(log);
    releaseLock();
    throw new ChainStartError(`cannot spawn '${binary}'`, '', { cause });
  }
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => {
    spawnError = error;
  });
  void exited.then(({ code, signal }) => {
    releaseLock();
    if (logOpen) {
      // Keep the end of a long run in the file too, where the operator looks first.
      if (logged >= LOG_FILE_CAP) writeSync(log, `${logTail()}\n`);
      writeSync(log, `[carekey] anvil exited (code ${code}, signal ${signal})\n`);
      logOpen = false;
      closeSync(log);
    }
  });
  // If the node process dies without a graceful stop, do not leave anvil holding the port.
  const killOnExit = () => {
    child.kill('SIGKILL');
    releaseLock();
  };
  process.once('exit', killOnExit);

  const rpcUrl = `http://${host}:${port}`;
  let stopping: Promise<void> | undefined;
  const stop = (options: { timeoutMs?: number } = {}): Promise<void> => {
    stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 10_000);
        await exited;
        clearTimeout(timer);
      }
    })();
    return stopping;
  };

  const deadline = Date.now() + (parameters.startTimeoutMs ?? 20_000);
  let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((info) => {
    exitInfo = info;
  });
  for (;;) {
    if (exitInfo || spawnError) {
      await stop();
      const tailText = logTail();
      if (/address already in use/i.test(tailText)) throw new ChainPortInUseError(host, port);
      const reason = spawnError
        ? `cannot run '${binary}': ${spawnError.message}`
        : `anvil exited with code ${exitInfo?.code ?? 'null'}${exitInfo?.signal ? ` (${exitInfo.signal})` : ''} before its RPC answered`;
      throw new ChainStartError(reason, tailText, { details: { logPath, statePath } });
    }
    if (Date.now() > deadline) {
      await stop();
      throw new ChainStartError(`anvil did not answer on ${rpcUrl} in time`, logTail(), {
        details: { logPath, statePath },
      });
    }
    if (await answers(rpcUrl)) break;
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    rpcUrl,
    port,
    chainId,
    pid: child.pid ?? -1,
    statePath,
    logPath,
    logTail,
    exited,
    stop,
  };
}

function ensureWritableDir(dataDir: string, dir: string): string {
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.write-probe-${process.pid}`);
    closeSync(openSync(probe, 'w'));
    rmSync(probe, { force: true });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new DataDirError(dataDir, `cannot create or write '${dir}' (${code})`, { cause });
  }
  return dir;
}

/** Takes `<dataDir>/chain/anvil.lock` (our pid) or throws if a live process holds it; returns the release. */
function lockDataDir(dataDir: string, lockPath: string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(lockPath, { force: true });
      };
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(
          dataDir,
          `cannot create '${lockPath}' (${(cause as NodeJS.ErrnoException).code})`,
          {
            cause,
          },
        );
      }
      const holder = Number.parseInt(readFileSync(lockPath, 'utf8'), 10);
      if (Number.isSafeInteger(holder) && holder > 0 && isAlive(holder)) {
        throw new DataDirError(
          dataDir,
          `its chain is already run by process ${holder} (lock '${lockPath}')`,
          {
            hint: 'stop that node first, or give this one another data folder; delete the lock file only if that process is not a Carekey node',
          },
        );
      }
      rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new DataDirError(dataDir, `cannot take the lock '${lockPath}'`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function answers(rpcUrl: string): Promise<boolean> {
  try {
    const response = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}
