import type { Sql, SqlExecutor } from './Sql.ts';

/** Runs `work` in a transaction shared with other concurrent calls; resolves only after that transaction commits. */
export type GroupCommit = <result>(work: (tx: SqlExecutor) => Promise<result>) => Promise<result>;

export type CreateGroupCommitParameters = {
  sql: Sql;
  /** Most calls one transaction holds (default 64). */
  maxBatch?: number | undefined;
};

/** What a batch step gives one of its inputs: its value, or the error it alone fails with. */
export type BatchOutcome<output> = { value: output } | { error: unknown };

/** Submits one input to the batch step; resolves with its output only after the batch's transaction commits. */
export type BatchCommit<input, output> = (input: input) => Promise<output>;

export type CreateBatchCommitParameters<input, output> = CreateGroupCommitParameters & {
  /**
   * The batch step: does the SQL work of all `inputs` at once in `tx` (a fixed number of statements, whatever the
   * batch size) and returns one outcome per input, in order. An `{ error }` outcome fails that input alone (its own
   * refusal to write, e.g. a chain read that failed); the others commit. Must be safe to run again (only database
   * effects): when it throws, nothing of the batch is committed, and each input is run again alone in its own
   * transaction, so only the input that fails fails.
   */
  run: (tx: SqlExecutor, inputs: readonly input[]) => Promise<BatchOutcome<output>[]>;
};

/**
 * Batch commit: inputs that arrive while a transaction of this batcher is running wait, then go together (at most
 * `maxBatch`, in arrival order) to one call of `run` in the next transaction, and all resolve or reject once it has
 * committed — one commit (one WAL flush) and one set of statements for many small writes, e.g. key releases under
 * load, whose access-log row must be durable before the key leaves (fail closed). An input arriving when nothing
 * runs starts at once, alone: no added latency when idle.
 *
 * @example
 * const claim = createBatchCommit({ sql, run: async (tx, nonces) => { ...one insert for all...; return outcomes } });
 * const claimed = await claim(nonce);
 */
export function createBatchCommit<input, output>(
  parameters: CreateBatchCommitParameters<input, output>,
): BatchCommit<input, output> {
  const { sql, run } = parameters;
  const maxBatch = parameters.maxBatch ?? 64;
  type Job = { input: input; resolve: (value: output) => void; reject: (error: unknown) => void };
  let queue: Job[] = [];
  let running = false;

  const settle = (jobs: readonly Job[], outcomes: readonly BatchOutcome<output>[]) => {
    jobs.forEach((job, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) job.reject(new Error('batch step returned no outcome for an input'));
      else if ('error' in outcome) job.reject(outcome.error);
      else job.resolve(outcome.value);
    });
  };
  const transact = (jobs: readonly Job[]) =>
    sql.transaction(async (tx) => {
      const outcomes = await run(
        tx,
        jobs.map((job) => job.input),
      );
      if (outcomes.length !== jobs.length)
        throw new Error('batch step returned one outcome per input, or fewer');
      return outcomes;
    });
  const runAlone = async (job: Job) => {
    try {
      settle([job], await transact([job]));
    } catch (error) {
      job.reject(error);
    }
  };
  const runBatch = async (jobs: Job[]) => {
    if (jobs.length === 1) return runAlone(jobs[0] as Job);
    let outcomes: BatchOutcome<output>[];
    try {
      outcomes = await transact(jobs);
    } catch {
      // Rolled back as a whole: run each alone, so only the input that fails fails.
      for (const job of jobs) await runAlone(job);
      return;
    }
    settle(jobs, outcomes);
  };
  const drain = async () => {
    running = true;
    try {
      while (queue.length > 0) {
        const jobs = queue.slice(0, maxBatch);
        queue = queue.slice(maxBatch);
        await runBatch(jobs);
      }
    } finally {
      running = false;
    }
  };
  return (input: input) =>
    new Promise<output>((resolve, reject) => {
      queue.push({ input, resolve, reject });
      if (!running) void drain();
    });
}

/**
 * Group commit: calls that arrive while a transaction of this group is running wait, then run together in the next
 * one, each `work` after the other in arrival order, and all resolve once it has committed (`createBatchCommit`
 * with a step that runs each `work` in turn).
 *
 * Each `work` must be safe to run again (only database effects, like any transaction body a PostgreSQL retry may
 * re-run): when one `work` of a batch throws, nothing of the batch is committed, and each is run again in its own
 * transaction, so only the failing call fails — the others' rows are written, and no call resolves with a row that
 * was not committed.
 *
 * @example
 * const inGroup = createGroupCommit({ sql });
 * const id = await inGroup((tx) => appendAccessLog({ tx, ... }));
 */
export function createGroupCommit(parameters: CreateGroupCommitParameters): GroupCommit {
  const batch = createBatchCommit<(tx: SqlExecutor) => Promise<unknown>, unknown>({
    ...parameters,
    run: async (tx, works) => {
      const out: BatchOutcome<unknown>[] = [];
      for (const work of works) out.push({ value: await work(tx) });
      return out;
    },
  });
  return <result>(work: (tx: SqlExecutor) => Promise<result>) => batch(work) as Promise<result>;
}
