/**
 * Messages between {@link createPgliteWorkerSql} (the node's thread) and `pgliteWorker.ts` (the thread that runs
 * PGlite). One request and one reply per call; replies carry the request's `id`. `tx` names an open transaction
 * (`0`: none).
 */
import type { SqlRow } from './Sql.ts';

/** `workerData` of the worker thread. */
export type PgliteWorkerData = {
  /** tsx's ESM API, to register when the worker's TypeScript does not load as is (see the bootstrap). */
  tsxApi: string | undefined;
  /** `pgliteWorker.ts`'s URL. */
  entry: string;
  dataDir: string | undefined;
  /** A tarball to start from (`createPgliteSql`'s `from`), transferred. */
  from: ArrayBuffer | undefined;
  /** PGlite's WebAssembly, compiled once per process and shared by every worker (compiled code is not copied). */
  pgliteWasmModule: WebAssembly.Module;
  initdbWasmModule: WebAssembly.Module;
  /** PGlite's file-system bundle (`pglite.data`), read once per process. */
  fsBundle: Blob;
};

export type PgliteWorkerRequest =
  | { id: number; op: 'query'; tx: number; text: string; params: readonly unknown[] }
  | { id: number; op: 'exec'; tx: number; text: string }
  | { id: number; op: 'begin' | 'commit' | 'rollback'; tx: number }
  | { id: number; op: 'dump' | 'close' };

/**
 * A failure, reduced to PostgreSQL's fields: never the statement's parameters (PGlite puts them on its errors, and
 * they may be stanzas or signatures).
 */
export type PgliteWorkerError = {
  name: string;
  message: string;
  code?: string | undefined;
  constraint?: string | undefined;
  detail?: string | undefined;
};

export type PgliteWorkerReply =
  | { id: number; ok: true; rows?: SqlRow[]; rowCount?: number; dump?: ArrayBuffer }
  | { id: number; ok: false; error: PgliteWorkerError };

/** The `id` of the worker's first message: PGlite is open (`ok`) or could not be opened. */
export const READY_ID = 0;
