import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Resource } from '@medplum/fhirtypes';
import { FhirError, FhirParseError, FhirValidationError } from '../../errors/fhir.ts';
import type { FhirRecord, SplitIntoRecordsReturnType } from '../splitIntoRecords.ts';
import type { WorkerOptions, WorkerReply, WorkerRequest } from './protocol.ts';

export type FhirWorkerPoolParameters = {
  /** Number of worker threads (default: the machine's available parallelism, at least 1). */
  threads?: number;
};

// An eval'd CommonJS bootstrap: registers tsx's loader when the worker's code is TypeScript and the thread
// did not inherit it (a test runner's own loader does not reach worker threads), then loads the worker.
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsxApi) (await import(workerData.tsxApi)).register();
  await import(workerData.entry);
})().catch((error) => { setTimeout(() => { throw error; }); });
`;

function tsxApiUrl(entry: URL): string | undefined {
  if (!entry.pathname.endsWith('.ts')) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api'); // the ESM build ("import" condition)
  } catch {
    try {
      const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
      return pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
    } catch {
      return undefined; // no tsx: the worker's code must then be JavaScript
    }
  }
}

/**
 * A worker's record with its `resource` parsed from `canonicalJson` when first read (then kept): an import encrypts
 * `canonicalJson` and never reads the object, so 28 MB of Synthea need not be parsed again on the calling thread.
 */
function withLazyResource(record: Omit<FhirRecord, 'resource'>): FhirRecord {
  let resource: Resource | undefined;
  return Object.defineProperty(record, 'resource', {
    enumerable: true,
    configurable: true,
    get: () => {
      resource ??= JSON.parse(record.canonicalJson) as Resource;
      return resource;
    },
    set: (value: Resource) => {
      resource = value;
    },
  }) as FhirRecord;
}

type Job = {
  request: WorkerRequest;
  resolve: (value: SplitIntoRecordsReturnType) => void;
  reject: (error: unknown) => void;
};

/**
 * A pool of worker threads validating and splitting FHIR inputs in parallel (Medplum's validator is
 * synchronous and CPU-bound: one thread per core). Each worker loads the R4 definitions once (~1 s).
 * Close it when done.
 *
 * @example
 * const pool = new FhirWorkerPool({ threads: 2 });
 * try { const { records } = await pool.split(bytes); } finally { await pool.close(); }
 */
export class FhirWorkerPool {
  readonly threads: number;
  readonly #workers: Worker[] = [];
  readonly #idle: Worker[] = [];
  readonly #queue: Job[] = [];
  readonly #running = new Map<Worker, Job>();
  #nextId = 0;
  #closed = false;

  constructor(parameters: FhirWorkerPoolParameters = {}) {
    this.threads = Math.max(1, Math.floor(parameters.threads ?? availableParallelism()));
    const entry = new URL('./fhirWorker.ts', import.meta.url);
    const tsxApi = tsxApiUrl(entry);
    for (let i = 0; i < this.threads; i++) {
      const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { entry: entry.href, tsxApi } });
      worker.on('message', (reply: WorkerReply) => this.#onReply(worker, reply));
      worker.on('error', (error) => this.#onFailure(worker, error));
      worker.on('exit', (code) => {
        if (!this.#closed) this.#onFailure(worker, new Error(`FHIR worker exited with code ${code}`));
      });
      this.#workers.push(worker);
      this.#idle.push(worker);
    }
  }

  /**
   * Validates and splits one input in a worker (see `splitIntoRecords`).
   * @throws {FhirParseError | FhirValidationError} as `splitIntoRecords` would.
   */
  split(input: Uint8Array | string, options: WorkerOptions = {}): Promise<SplitIntoRecordsReturnType> {
    if (this.#closed)
      return Promise.reject(
        new FhirError('the FHIR worker pool is closed', { resourceType: 'OperationOutcome', issue: [] }),
      );
    return new Promise((resolve, reject) => {
      this.#queue.push({ request: { id: this.#nextId++, input, options }, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops the workers; pending inputs are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('the FHIR worker pool was closed'));
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const worker = this.#idle.pop() as Worker;
      const job = this.#queue.shift() as Job;
      this.#running.set(worker, job);
      worker.postMessage(job.request);
    }
  }

  #onReply(worker: Worker, reply: WorkerReply): void {
    const job = this.#running.get(worker);
    this.#running.delete(worker);
    this.#idle.push(worker);
    if (job) {
      if (reply.ok) {
        const records = reply.records.map(withLazyResource);
        job.resolve({ records, outcome: reply.outcome });
      } else if (reply.kind === 'parse') job.reject(new FhirParseError(reply.problem, reply.parameters));
      else if (reply.kind === 'validation') job.reject(new FhirValidationError(reply.outcome));
      else job.reject(new Error(`FHIR worker failed: ${reply.message}`));
    }
    this.#dispatch();
  }

  #onFailure(worker: Worker, error: unknown): void {
    const job = this.#running.get(worker);
    this.#running.delete(worker);
    const index = this.#workers.indexOf(worker);
    if (index >= 0) this.#workers.splice(index, 1);
    const idle = this.#idle.indexOf(worker);
    if (idle >= 0) this.#idle.splice(idle, 1);
    job?.reject(error);
    if (this.#workers.length === 0) {
      for (const queued of this.#queue.splice(0)) queued.reject(error);
    }
  }
}
