/**
 * A node's outbox worker in its own process, for crash tests: the parent kills
 * it with SIGKILL at a chosen point (or it kills itself there via a hook) and
 * checks that a new worker finishes the job without doubling any write.
 *
 * Input: one JSON argument {@link OutboxWorkerProcessInput}. Exits 0 when the
 * outbox is drained.
 */
import { type Abi, createWalletClient, type Hex, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { openSql } from '../../db/openSql.ts';
import { createOutboxWorker } from '../createOutboxWorker.ts';

export type OutboxWorkerProcessInput = {
  dataDir: string;
  databaseUrl?: string | undefined;
  rpcUrl: string;
  privateKey: Hex;
  abi: Abi;
  /** Where to die with SIGKILL, or `none` to drain and exit 0. */
  killAt: 'afterRecord' | 'afterBroadcast' | 'none';
};

const input = JSON.parse(process.argv[2] ?? '{}') as OutboxWorkerProcessInput;
const sql = await openSql({ dataDir: input.dataDir, databaseUrl: input.databaseUrl });
const client = createWalletClient({
  account: privateKeyToAccount(input.privateKey),
  transport: http(input.rpcUrl),
});
const die = () => {
  process.kill(process.pid, 'SIGKILL');
};
const worker = createOutboxWorker({
  sql,
  client,
  abi: input.abi,
  hooks: {
    afterRecord: input.killAt === 'afterRecord' ? die : undefined,
    afterBroadcast: input.killAt === 'afterBroadcast' ? die : undefined,
  },
});
for (;;) {
  await worker.tick();
  const { rows } = await sql.query(`select 1 from outbox where status in ('pending', 'submitted')`);
  if (rows.length === 0) break;
  await new Promise((r) => setTimeout(r, 100));
}
await sql.close();
process.exit(0);
