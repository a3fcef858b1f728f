import type { Sql, SqlExecutor } from './Sql.ts';

/** Runs `work` in a transaction shared with other concurrent calls; resolves only after that transaction commits. */
export type GroupCommit = <result>(work: (tx: SqlExecutor) => Promise<result>) => Promise<result>;

export type CreateGroupCommitParameters = {
  sql: Sql;
  /** Most calls one transaction holds (default 64). */
  maxBatch?: number | undefined;
};

/**
 * Group commit: calls that arrive while a transaction of this group is running wait, then run together in the next
 * one, each `work` after the other in arrival order, and all resolve once it has committed — one commit (one WAL
 * flush) for many small writes, e.g. key releases under load, whose access-log row must be durable before the key
 * leaves (fail closed). A call arriving when nothing runs starts at once, alone: no added latency when idle.
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
  const { sql } = parameters;
  const maxBatch = parameters.maxBatch ?? 64;
  type Job = {
    work: (tx: SqlExecutor) => Promise<unknown>;
    resolve: (value: unknown) => void;
    reject: (error: unknown) => void;
  };
  let queue: Job[] = [];
  let running = false;

  const runAlone = async (job: Job) => {
    try {
      job.resolve(await sql.transaction(job.work));
    } catch (error) {
      job.reject(error);
    }
  };
  const runBatch = async (jobs: Job[]) => {
    if (jobs.length === 1) return runAlone(jobs[0] as Job);
    let results: unknown[];
    try {
      results = await sql.transaction(async (tx) => {
        const out: unknown[] = [];
        for (const job of jobs) out.push(await job.work(tx));
        return out;
      });
    } catch {
      // Rolled back as a whole: run each alone, so only the call that fails fails.
      for (const job of jobs) await runAlone(job);
      return;
    }
    jobs.forEach((job, i) => {
      job.resolve(results[i]);
    });
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
  return <result>(work: (tx: SqlExecutor) => Promise<result>) =>
    new Promise<result>((resolve, reject) => {
      queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!running) void drain();
    });
}
