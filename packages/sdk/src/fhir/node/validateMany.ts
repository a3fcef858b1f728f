import { loadR4Definitions } from '../loadR4Definitions.ts';
import { type SplitIntoRecordsReturnType, splitIntoRecords } from '../splitIntoRecords.ts';
import { FhirWorkerPool } from './FhirWorkerPool.ts';
import { nodeR4DefinitionSources } from './nodeR4DefinitionSources.ts';
import type { WorkerOptions } from './protocol.ts';

/** Below this many bytes in all, inputs are validated in this thread (starting workers costs ~1 s). */
export const DEFAULT_IN_THREAD_BELOW_BYTES = 4 * 1024 * 1024;

export type ValidateManyParameters = WorkerOptions & {
  /** FHIR JSON inputs (resources or Bundles), as UTF-8 bytes or text. */
  inputs: readonly (Uint8Array | string)[];
  /** A pool to use (kept open); default: a pool created for this call and closed after it. */
  pool?: FhirWorkerPool;
  /** Worker threads of the pool created for this call (default: available parallelism). */
  threads?: number;
  /** Validate in this thread when the inputs total fewer bytes than this (default 4 MiB); 0 = always a pool. */
  inThreadBelowBytes?: number;
  /**
   * Called with each input's result as soon as it is known (in completion order), before `validateMany` returns:
   * a caller can work on the records of one input (encrypt them, say) while the others are still validated.
   * An error it throws rejects `validateMany`.
   */
  onResult?: (index: number, result: ValidateManyResult) => void | Promise<void>;
};

/** The outcome of one input: its records, or why it was refused (nothing of it is imported then). */
export type ValidateManyResult = ({ ok: true } & SplitIntoRecordsReturnType) | { ok: false; error: unknown };

export type ValidateManyReturnType = {
  /** One result per input, in input order. */
  results: ValidateManyResult[];
  /** Threads that did the work (1 = in this thread). */
  threads: number;
};

/**
 * Validates and splits many FHIR inputs (see `splitIntoRecords`) on all cores with a `worker_threads` pool,
 * largest inputs first; small batches stay in this thread. Each input succeeds or fails on its own.
 *
 * @example
 * const { results } = await validateMany({ inputs: files.map((f) => readFileSync(f)) });
 */
export async function validateMany(parameters: ValidateManyParameters): Promise<ValidateManyReturnType> {
  const { inputs, pool: given, threads, inThreadBelowBytes, onResult, ...options } = parameters;
  const totalBytes = inputs.reduce((sum, input) => sum + input.length, 0);
  const results: ValidateManyResult[] = new Array(inputs.length);
  if (!given && (threads === 1 || totalBytes < (inThreadBelowBytes ?? DEFAULT_IN_THREAD_BELOW_BYTES))) {
    await loadR4Definitions({ sources: nodeR4DefinitionSources });
    for (const [index, input] of inputs.entries()) {
      try {
        results[index] = { ok: true, ...(await splitIntoRecords({ ...options, input })) };
      } catch (error) {
        results[index] = { ok: false, error };
      }
      await onResult?.(index, results[index] as ValidateManyResult);
    }
    return { results, threads: 1 };
  }
  const pool = given ?? new FhirWorkerPool(threads === undefined ? {} : { threads });
  try {
    // Largest first: the last jobs to finish are short ones, so the threads end together.
    const order = inputs
      .map((_, index) => index)
      .sort((a, b) => (inputs[b]?.length ?? 0) - (inputs[a]?.length ?? 0));
    await Promise.all(
      order.map(async (index) => {
        try {
          results[index] = { ok: true, ...(await pool.split(inputs[index] as Uint8Array | string, options)) };
        } catch (error) {
          results[index] = { ok: false, error };
        }
        await onResult?.(index, results[index] as ValidateManyResult);
      }),
    );
    return { results, threads: pool.threads };
  } finally {
    if (!given) await pool.close();
  }
}
