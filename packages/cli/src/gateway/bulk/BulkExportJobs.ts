import { canonicalJson } from '@carekey/sdk/fhir';
import { FhirError } from '../fhir/FhirError.ts';
import type { StoredRecord } from '../store/openGatewayStore.ts';
import { binaryNdjsonLine } from './binaryNdjson.ts';

/** Manifest extension: `Type/id` → SHA-256 of the canonical JSON, so an importer proves it kept every record whole. */
export const SHA256_EXTENSION = 'https://carekey.dev/fhir/bulk-sha256';
/** How long a finished export stays downloadable. */
export const EXPORT_TTL_MS = 60 * 60 * 1000;
/**
 * A file record (DICOM, PDF) to export as a `Binary` line: its plaintext is read only when `Binary.ndjson` is
 * downloaded, streamed from the wallet's own age file (never kept in memory or written in clear).
 */
export type ExportFile = {
  /** The Binary id: the file record id without 0x. */
  id: string;
  contentType: string;
  /** SHA-256 (hex) of the file's bytes: the file record's hash. */
  sha256: string;
  /** The file's plaintext, in pieces. */
  read(): AsyncIterable<Uint8Array>;
};

/** Most export jobs kept at once. */
const MAX_JOBS = 16;

/** A Bulk Data manifest (https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status). */
export type BulkManifest = {
  transactionTime: string;
  request: string;
  requiresAccessToken: true;
  output: { type: string; url: string; count: number }[];
  error: { type: string; url: string }[];
  extension: Record<string, unknown>;
};

type Job = {
  id: string;
  client: string;
  request: string;
  createdAt: number;
  state: 'running' | 'done' | 'failed';
  /** NDJSON per resource type: one canonical JSON resource per line (its SHA-256 is the record's hash). */
  files: Map<string, string>;
  /** File records, exported as `Binary.ndjson` (streamed when downloaded). */
  binaries: ExportFile[];
  manifest?: BulkManifest;
  failure?: string;
};

/**
 * Bulk Data `$export` jobs (FHIR Bulk Data Access IG v2): a kick-off starts a job, the status URL answers 202 while
 * it runs and the manifest when done, each resource type is one NDJSON file. Files live in the gateway's memory
 * only (decrypted data never written to disk by the gateway) and expire an hour after the export.
 */
export class BulkExportJobs {
  #jobs = new Map<string, Job>();

  /** Starts an export of `records` for a client; returns the job id. */
  start(parameters: {
    client: string;
    request: string;
    baseUrl: string;
    /** The instant of the snapshot `records` was taken at (the manifest's transactionTime). */
    transactionTime?: Date;
    records: () => readonly StoredRecord[];
    /** The file records (DICOM, PDF) to export as Binary, read when `Binary.ndjson` is downloaded. */
    files?: () => Promise<readonly ExportFile[]>;
  }): string {
    this.#expire();
    if (this.#jobs.size >= MAX_JOBS) {
      throw new FhirError(
        429,
        'too-costly',
        `${MAX_JOBS} exports are kept at once: delete one (DELETE its status URL) or wait`,
      );
    }
    const id = crypto.randomUUID();
    const job: Job = {
      id,
      client: parameters.client,
      request: parameters.request,
      createdAt: Date.now(),
      state: 'running',
      files: new Map(),
      binaries: [],
    };
    this.#jobs.set(id, job);
    // Asynchronous as the IG asks; the work is an in-memory pass over the store (files are read on download).
    // transactionTime is the snapshot's own instant: everything in it arrived at or before it (docs/gateway.md).
    const transactionTime = (parameters.transactionTime ?? new Date()).toISOString();
    const records = parameters.records();
    setImmediate(() => {
      void (async () => {
        const lines = new Map<string, string[]>();
        const hashes: Record<string, string> = {};
        for (const r of records) {
          lines.set(r.resourceType, [
            ...(lines.get(r.resourceType) ?? []),
            canonicalJson(r.resource as never),
          ]);
          hashes[`${r.resourceType}/${r.fhirId}`] = r.sha256;
        }
        job.binaries = [...((await parameters.files?.()) ?? [])];
        for (const b of job.binaries) hashes[`Binary/${b.id}`] = b.sha256;
        const output: BulkManifest['output'] = [];
        const types = new Set([...lines.keys(), ...(job.binaries.length > 0 ? ['Binary'] : [])]);
        for (const type of [...types].sort((a, b) => a.localeCompare(b))) {
          const list = lines.get(type) ?? [];
          if (list.length > 0) job.files.set(type, `${list.join('\n')}\n`);
          output.push({
            type,
            url: `${parameters.baseUrl}/$export-file/${id}/${type}.ndjson`,
            count: list.length + (type === 'Binary' ? job.binaries.length : 0),
          });
        }
        job.manifest = {
          transactionTime,
          request: parameters.request,
          requiresAccessToken: true,
          output,
          error: [],
          extension: { [SHA256_EXTENSION]: hashes },
        };
        job.state = 'done';
      })().catch((error: unknown) => {
        job.state = 'failed';
        job.failure = error instanceof Error ? error.message : String(error);
      });
    });
    return id;
  }

  #get(id: string, client: string): Job {
    this.#expire();
    const job = this.#jobs.get(id);
    // Another client's job is as unknown as a missing one.
    if (job === undefined || job.client !== client) {
      throw new FhirError(
        404,
        'not-found',
        `no export job ${JSON.stringify(id.slice(0, 80))} (finished exports expire after an hour)`,
      );
    }
    return job;
  }

  /** The job's state, for the status endpoint. */
  status(id: string, client: string): { state: 'running' } | { state: 'done'; manifest: BulkManifest } {
    const job = this.#get(id, client);
    if (job.state === 'failed')
      throw new FhirError(500, 'exception', `export failed: ${job.failure ?? 'unknown error'}`);
    if (job.state === 'running' || job.manifest === undefined) return { state: 'running' };
    return { state: 'done', manifest: job.manifest };
  }

  /** One NDJSON file of a finished job (`Binary`: streamed, one line per file record). */
  file(id: string, client: string, type: string): string | AsyncIterable<string> {
    const job = this.#get(id, client);
    if (type === 'Binary' && job.binaries.length > 0) return binaryLines(job.files.get(type), job.binaries);
    const text = job.files.get(type);
    if (text === undefined) throw new FhirError(404, 'not-found', `export ${id} has no ${type} file`);
    return text;
  }

  /** Cancels or deletes a job. */
  delete(id: string, client: string): void {
    this.#get(id, client);
    this.#jobs.delete(id);
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, job] of this.#jobs) if (now - job.createdAt > EXPORT_TTL_MS) this.#jobs.delete(id);
  }
}

/** `Binary.ndjson`: Binary records held as JSON first, then each file record, streamed. */
async function* binaryLines(json: string | undefined, files: readonly ExportFile[]): AsyncGenerator<string> {
  if (json !== undefined) yield json;
  for (const f of files) yield* binaryNdjsonLine({ id: f.id, contentType: f.contentType, pieces: f.read() });
}
