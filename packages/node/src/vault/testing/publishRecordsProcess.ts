/**
 * The vault's `publishRecords` in its own process, for the F-1 crash test of a batch publish: reads batches (one
 * JSON line each: `PublishRecordsParameters` without the vault, bigints as strings) from stdin and answers each on
 * stdout (one JSON line, `{ root }`) only after `publishRecords` resolved — its transaction committed — as the HTTP
 * route does. The parent kills it with SIGKILL mid-stream.
 *
 * Input: one JSON argument {@link PublishRecordsProcessInput}.
 */
import { createInterface } from 'node:readline';
import { type Address, createPublicClient, type Hex, http } from 'viem';
import { FileBlobStore } from '../../blobs/FileBlobStore.ts';
import { createPgliteSql } from '../../db/createPgliteSql.ts';
import { createVaultChain } from '../createVaultChain.ts';
import { type PublishRecordsParameters, publishRecords } from '../publishRecords.ts';

export type PublishRecordsProcessInput = {
  sqlDir: string;
  blobDir: string;
  rpcUrl: string;
  chainId: number;
  contracts: { didRegistry: Address; recordRegistry: Address; consentRegistry: Address };
};

/** One batch as the parent sends it. */
export type PublishedBatchLine = Omit<PublishRecordsParameters, 'vault' | 'publish'> & {
  publish: { root: Hex; count: number; nonce: string; deadline: string; signature: Hex };
};

const input = JSON.parse(process.argv[2] ?? '{}') as PublishRecordsProcessInput;
const sql = await createPgliteSql({ dataDir: input.sqlDir });
const vault = {
  sql,
  chain: createVaultChain({
    client: createPublicClient({ transport: http(input.rpcUrl) }),
    chainId: input.chainId,
    contracts: input.contracts,
  }),
  blobs: await FileBlobStore.open({ dir: input.blobDir }),
  audience: 'carekey-vault-test',
  confirmations: 1,
  shredDelay: 0,
};
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const batch = JSON.parse(line) as PublishedBatchLine;
  try {
    const published = await publishRecords({
      ...batch,
      vault,
      publish: {
        ...batch.publish,
        nonce: BigInt(batch.publish.nonce),
        deadline: BigInt(batch.publish.deadline),
      },
    });
    process.stdout.write(`${JSON.stringify({ root: published.root })}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: (error as Error).name })}\n`);
  }
}
await sql.close();
