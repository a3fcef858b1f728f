/**
 * F-4: the embedded chain killed -9 right after the node saw a relayed write confirmed. anvil saves its state every
 * few seconds, so it comes back without the blocks mined since its last dump: the outbox already marked the write
 * confirmed and the indexer already indexed it. The node must notice on its own: the outbox sends the same signed
 * bytes again (same hash, so never doubled) and the indexer rolls the lost blocks back and indexes the write again.
 *
 * One real node (embedded anvil, PGlite, outbox worker, indexer, HTTP API); the test swaps the node's anvil for one
 * on the same port that never dumps on its own, so the kill loses exactly what came after the swap.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consentRegistryAbi } from '@carekey/sdk/chain';
import { createNodeClient, type NodeClient, type NodeDescription } from '@carekey/sdk/client';
import { type Address, bytesToHex, type Hex, hexToBytes, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { getTransactionReceipt, readContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Anvil, startAnvil } from './chain/startAnvil.ts';
import { type CarekeyNode, type StartNodeParameters, startNode } from './startNode.ts';
import { relayTestGrant } from './testing/relayTestGrant.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'carekey-chain-loss-'));
const CHAIN = { blockTime: 1 };
let node: CarekeyNode;
let anvil: Anvil;
let description: NodeDescription;

beforeAll(async () => {
  node = await startNode({
    dataDir,
    shredDelay: 0,
    chain: { port: 0, ...CHAIN } as NonNullable<StartNodeParameters['chain']>,
    api: { port: 0 },
    indexerPollInterval: 200,
    // The chain is killed on purpose: the loops' retries are expected.
    onLoopError: () => {},
    onOutboxError: () => {},
  });
  // Graceful stop (the deployment is saved), then an anvil that dumps only when stopped.
  const first = node.chain.anvil as Anvil;
  await first.stop();
  anvil = await startAnvil({ dataDir, port: first.port, ...CHAIN, stateInterval: 3600 });
  description = await createNodeClient({ url: node.api.url }).describe();
}, 300_000);
afterAll(async () => {
  await node?.stop();
  await anvil?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    node.outbox.wake();
    await sleep(100);
  }
}

type GrantWrite = {
  status: string;
  tx_hash: Uint8Array | null;
  attempts: number;
  block_hash: Uint8Array | null;
};
const grantWrites = async () =>
  (
    await node.sql.query<GrantWrite>(
      `select status, tx_hash, attempts, block_hash from outbox where kind = 'ConsentRegistry.createGrantSigned' order by id`,
    )
  ).rows;
const indexedGrants = async (patient: Address) =>
  (
    await node.sql.query<{ grant_id: Uint8Array; created_block: bigint }>(
      'select grant_id, created_block from grants where patient = $1 order by created_block',
      [hexToBytes(patient)],
    )
  ).rows;
const chainNonce = (identity: Address) =>
  readContract(node.chain.client, {
    abi: consentRegistryAbi,
    address: description.contracts.consentRegistry,
    functionName: 'nonces',
    args: [identity],
  });

/** A grant as `carekey share` relays it; returns the nonce it was signed with. */
const grant = async (client: NodeClient, patient: LocalAccount): Promise<bigint> =>
  (await relayTestGrant({ client, patient, description })).nonce;

describe('F-4: the chain node killed -9 right after a confirmation', () => {
  it('F-4 a relayed grant the node saw confirmed and indexed, lost with anvil’s unsaved blocks, is sent again with the same hash and indexed again, once', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url: node.api.url, account: patient });
    await grant(client, patient);
    await until('the grant to be confirmed and indexed', async () => {
      const [write] = await grantWrites();
      return write?.status === 'confirmed' && (await indexedGrants(patient.address)).length === 1;
    });
    const [before] = await grantWrites();
    const hash = bytesToHex(before?.tx_hash ?? new Uint8Array()) as Hex;
    const [indexed] = await indexedGrants(patient.address);

    process.kill(anvil.pid, 'SIGKILL');
    await anvil.exited;
    anvil = await startAnvil({ dataDir, port: anvil.port, ...CHAIN, stateInterval: 3600 });
    // The chain came back without the grant's block (its nonce is free again), but the node had it confirmed.
    expect(await chainNonce(patient.address)).toBe(0n);
    await expect(getTransactionReceipt(node.chain.client, { hash })).rejects.toThrow(/could not be found/);

    await until('the lost grant to be mined and indexed again', async () => {
      const [write] = await grantWrites();
      const rows = await indexedGrants(patient.address);
      // Mined again: in another block (maybe at the same height: the new chain grows at the same pace).
      const block = write?.block_hash ? bytesToHex(write.block_hash) : undefined;
      const old = before?.block_hash ? bytesToHex(before.block_hash) : undefined;
      return write?.status === 'confirmed' && block !== undefined && block !== old && rows.length === 1;
    });
    const after = await grantWrites();
    expect(after).toHaveLength(1);
    expect(bytesToHex(after[0]?.tx_hash ?? new Uint8Array())).toBe(hash); // the same signed bytes
    expect(after[0]?.attempts).toBe(1); // never signed again
    expect((await getTransactionReceipt(node.chain.client, { hash })).status).toBe('success');
    expect(await chainNonce(patient.address)).toBe(1n); // once
    const [again] = await indexedGrants(patient.address);
    expect(bytesToHex(again?.grant_id ?? new Uint8Array())).toBe(
      bytesToHex(indexed?.grant_id ?? new Uint8Array()),
    );

    // The next grant signs with the next nonce and lands: nothing is left out of step.
    expect(await grant(client, patient)).toBe(1n);
    // Indexed and marked confirmed are two loops: the indexer can see the grant before the outbox sees its receipt.
    await until(
      'the second grant to be confirmed and indexed',
      async () =>
        (await indexedGrants(patient.address)).length === 2 &&
        (await grantWrites()).every((w) => w.status === 'confirmed'),
    );
    expect((await grantWrites()).map((w) => w.status)).toEqual(['confirmed', 'confirmed']);
    expect(await chainNonce(patient.address)).toBe(2n);
  }, 120_000);
});
