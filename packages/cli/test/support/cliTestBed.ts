import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import type { StartTempNodeParameters } from '../../../node/src/testing/startTempNode.ts';
import { type CarekeyRun, carekey, jsonOf } from './carekeyBin.ts';
import { carekeyInProcess } from './carekeyInProcess.ts';
import { startTestNode, type TestNode } from './startTestNode.ts';

/** The passphrase of every test wallet. */
export const PASS = 'a long passphrase';

/** What `carekey init --json` prints. */
export type Initialised = { address: `0x${string}`; mnemonic: string };

/** One node for a test file and a temp folder holding one `CAREKEY_HOME` per person (see {@link useCliTestBed}). */
export type CliTestBed = {
  /** The file's node (from its `beforeAll` on). */
  readonly node: TestNode;
  /** The temp folder; `root/<who>` is the home of `who`. Removed after the file. */
  readonly root: string;
  /** The environment that runs `carekey` as `who` against the node, with `extra` on top. */
  as(who: string, extra?: Record<string, string>): Record<string, string>;
  /** Runs a command as `who` in this process (`carekeyInProcess`: the same commands, errors and exit codes). */
  run(who: string, ...args: string[]): Promise<CarekeyRun>;
  /** Runs a command as `who` through the `carekey` binary, where the process boundary is part of what is tested. */
  spawn(who: string, ...args: string[]): Promise<CarekeyRun>;
  /** `carekey init --json` as `who` (in process, scrypt 2^15 as every test wallet). */
  init(who: string): Promise<Initialised>;
  /**
   * Moves the chain's clock `seconds` ahead and mines a block at it (anvil `evm_increaseTime`, `evm_mine`): a delay
   * or an expiry measured in chain time passes at once, and the next `chainTime` the node reports is past it.
   */
  advanceChainTime(seconds: number): Promise<void>;
};

/**
 * Sets up a CLI test file: starts one node in `beforeAll` (`startTestNode` with `node`'s parameters), stops it and
 * removes the temp folder (named after `name`) in `afterAll`. Call it at the top level of the file.
 *
 * @example
 * const bed = useCliTestBed('sharing');
 * const { run, init } = bed;
 * it('…', async () => { const patient = await init('patient'); … bed.node.url … });
 */
export function useCliTestBed(name: string, node: StartTempNodeParameters = {}): CliTestBed {
  const root = mkdtempSync(join(tmpdir(), `carekey-${name}-`));
  let started: TestNode | undefined;
  beforeAll(async () => {
    started = await startTestNode(node);
  }, 240_000);
  afterAll(async () => {
    await started?.stop();
    rmSync(root, { recursive: true, force: true });
  });
  const bed: CliTestBed = {
    get node() {
      if (started === undefined) throw new Error('the test node is not started (use it inside a test)');
      return started;
    },
    root,
    as: (who, extra = {}) => ({
      CAREKEY_HOME: join(root, who),
      CAREKEY_PASSPHRASE: PASS,
      CAREKEY_NODE: bed.node.url,
      ...extra,
    }),
    run: (who, ...args) => carekeyInProcess(args, bed.as(who)),
    spawn: (who, ...args) => carekey(args, bed.as(who)),
    init: async (who) => jsonOf<Initialised>(await bed.run(who, 'init', '--json', '--scrypt-log-n', '15')),
    advanceChainTime: async (seconds) => {
      const { client } = bed.node.node.chain;
      await client.request({ method: 'evm_increaseTime', params: [seconds] } as never);
      await client.request({ method: 'evm_mine', params: [] } as never);
    },
  };
  return bed;
}

/** A refusal's stderr: one plain `carekey: …` line. */
export const oneLine = (stderr: string) => expect(stderr).toMatch(/^carekey: [^\n]+\n$/u);

/** `guardians setup`'s arguments: `--guardian` for each, then `--threshold`. */
export const guardianArgs = (guardians: readonly string[], threshold: number) => [
  ...guardians.flatMap((g) => ['--guardian', g]),
  '--threshold',
  String(threshold),
];
