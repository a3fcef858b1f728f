/**
 * The vault's key release in its own process, for the F-2 crash test: reads signed key requests from stdin (one
 * JSON envelope per line), answers each on stdout (one JSON line) only after `releaseKeys` resolved — i.e. after
 * its access-log row committed — exactly as the HTTP route does. The parent kills it with SIGKILL mid-stream.
 *
 * Input: one JSON argument {@link ReleaseKeysProcessInput}.
 */
import { createInterface } from 'node:readline';
import { KeyReleaseRefusedError } from '@carekey/sdk/errors';
import { type Address, createPublicClient, http } from 'viem';
import { FileBlobStore } from '../../blobs/FileBlobStore.ts';
import { createPgliteSql } from '../../db/createPgliteSql.ts';
import { createVaultChain } from '../createVaultChain.ts';
import { releaseKeys } from '../releaseKeys.ts';

export type ReleaseKeysProcessInput = {
  sqlDir: string;
  blobDir: string;
  rpcUrl: string;
  chainId: number;
  contracts: { didRegistry: Address; recordRegistry: Address; consentRegistry: Address };
  audience: string;
};

const input = JSON.parse(process.argv[2] ?? '{}') as ReleaseKeysProcessInput;
const sql = await createPgliteSql({ dataDir: input.sqlDir });
const vault = {
  sql,
  chain: createVaultChain({
    client: createPublicClient({ transport: http(input.rpcUrl) }),
    chainId: input.chainId,
    contracts: input.contracts,
  }),
  blobs: await FileBlobStore.open({ dir: input.blobDir }),
  audience: input.audience,
  confirmations: 1,
  shredDelay: 0,
};
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  try {
    const released = await releaseKeys({ vault, envelope: JSON.parse(line) });
    process.stdout.write(
      `${JSON.stringify({
        accessLogId: String(released.accessLogId),
        records: released.records.map((r) => ({ recordId: r.recordId, stanza: r.stanza })),
      })}\n`,
    );
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ refused: error instanceof KeyReleaseRefusedError })}\n`);
  }
}
await sql.close();
