import { writeFileSync } from 'node:fs';

/**
 * Stage timings of the node's hot paths for the benchmarks (docs/benchmarks.md, `import --stages`): with
 * `CAREKEY_STAGE_LOG=<file>` in the node's environment, every call wrapped in {@link timeStage} is recorded (its
 * start and end, epoch milliseconds) and the whole log is written to that file as JSON
 * (`{ "<stage>": [start, end, start, end, …] }`) when the process exits, so that a bench running the node in its
 * own process can see where that process's time went. Without the variable a wrapped call costs one comparison.
 * Stage names carry no identifiers (T-10): they are fixed strings and SQL statement kinds.
 */
const file = process.env.CAREKEY_STAGE_LOG;

/** Whether stage timings are recorded (`CAREKEY_STAGE_LOG` is set). */
export const stageLogEnabled: boolean = file !== undefined && file !== '';

const intervals = new Map<string, number[]>();
const now = () => performance.timeOrigin + performance.now();

if (stageLogEnabled) {
  process.on('exit', () => {
    writeFileSync(file as string, JSON.stringify(Object.fromEntries(intervals)));
  });
}

/** Runs `run`, recording its interval under `stage` when the stage log is on. */
export async function timeStage<result>(stage: string, run: () => Promise<result>): Promise<result> {
  if (!stageLogEnabled) return run();
  const start = now();
  try {
    return await run();
  } finally {
    const list = intervals.get(stage) ?? [];
    intervals.set(stage, list);
    list.push(start, now());
  }
}

/** {@link timeStage} for synchronous work. */
export function timeStageSync<result>(stage: string, run: () => result): result {
  if (!stageLogEnabled) return run();
  const start = now();
  try {
    return run();
  } finally {
    const list = intervals.get(stage) ?? [];
    intervals.set(stage, list);
    list.push(start, now());
  }
}

/** `SQL insert into records`: the first words of a statement, for a stage name (values never appear there). */
export function statementStage(text: string): string {
  return `SQL ${text.trim().split(/\s+/).slice(0, 3).join(' ').replace(/\(.*$/, '').toLowerCase()}`;
}

/** `executor` with every `query` timed by its statement's kind (itself when the stage log is off). */
export function timedExecutor<executor extends { query: (...args: never[]) => Promise<unknown> }>(
  executor: executor,
  prefix = '',
): executor {
  if (!stageLogEnabled) return executor;
  const query = executor.query.bind(executor) as (text: string, ...rest: unknown[]) => Promise<unknown>;
  return {
    ...executor,
    query: (text: string, ...rest: unknown[]) =>
      timeStage(`${prefix}${statementStage(text)}`, () => query(text, ...rest)),
  } as executor;
}
