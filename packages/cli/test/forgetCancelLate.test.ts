/**
 * the node accepts a `forget --cancel` until its own estimate of the shred window's end, but from the chain's
 * `executableAt` on anyone may send the permissionless `RecordRegistry.finalizeShred`. A cancel still on its way then
 * loses: the record is shredded for good and the contract refuses the cancel. `carekey forget --cancel` waits for
 * the ledger and says so in one plain line, instead of reporting the record active again.
 *
 * The race is held open on purpose: the node's outbox is paused while the cancel is queued, the chain clock moves
 * past the window, and a stranger (not the node, not the patient) finalises the shred first.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordRegistryAbi } from '@carekey/sdk/chain';
import { createTestClient, createWalletClient, type Hex, hexToBytes, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getContractEvents, waitForTransactionReceipt } from 'viem/actions';
import { describe, expect, it } from 'vitest';
import { carekeyHome } from '../src/home/carekeyHome.ts';
import { RecordStore } from '../src/home/recordStore.ts';
import { jsonOf } from './support/carekeyBin.ts';
import { useCliTestBed } from './support/cliTestBed.ts';

// Long enough that the forget and the cancel both fall inside the window on a loaded machine, short enough that
// the jump past it keeps later signatures (600 s deadlines by this computer's clock) valid at chain time.
const SHRED_DELAY = 300;
const bed = useCliTestBed('forget-cancel-late', { shredDelay: SHRED_DELAY, shredInterval: 250 });
const { root } = bed;

const run = (...args: string[]) => bed.run('patient', ...args);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` (every 100 ms, up to 40 s). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 40_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const P = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const bundle = {
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    { fullUrl: `urn:uuid:${P}`, resource: { resourceType: 'Patient', id: P, gender: 'female' } },
    {
      fullUrl: 'urn:uuid:2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a51',
      resource: {
        resourceType: 'Observation',
        id: '2f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a51',
        status: 'final',
        code: { text: 'forget cancel late test' },
        subject: { reference: `urn:uuid:${P}` },
      },
    },
  ],
};

describe('carekey forget --cancel at the very end of the window', () => {
  it('R-11 a cancel the node accepted, overtaken on chain by a third party’s finalizeShred: one plain line (too late, finalised), exit 1; the record is shredded on the node and in the wallet folder', async () => {
    const { chain, sql } = bed.node.node;
    const registry = chain.deployment.contracts.recordRegistry.address;
    const patient = jsonOf<{ address: Hex }>(await run('init', '--json', '--scrypt-log-n', '15'));
    writeFileSync(join(root, 'bundle.json'), JSON.stringify(bundle));
    jsonOf(await run('import', join(root, 'bundle.json'), '--json'));
    type Listed = { records: { recordId: Hex; resourceType: string; state: string }[] };
    const record = jsonOf<Listed>(await run('ls', '--json', '--offline')).records.find(
      (r) => r.resourceType === 'Observation',
    );
    if (record === undefined) throw new Error('the observation is not listed');
    expect(jsonOf<Listed>(await run('forget', record.recordId, '--json')).records[0]?.state).toBe(
      'pending_shred',
    );
    const writes = async (kind: string) =>
      (
        await sql.query<{ status: string; last_error: string | null }>(
          'select status, last_error from outbox where kind = $1 order by id',
          [kind],
        )
      ).rows;
    await until('the shred request to be mined', async () =>
      (await writes('RecordRegistry.shredSigned(request)')).every((w) => w.status === 'confirmed'),
    );

    // The node accepts the cancel inside its window; its outbox is held so that the cancel is still on its way
    // when the window ends on chain and a stranger finalises the shred first.
    await bed.node.node.outbox.stop();
    const cancel = run('forget', record.recordId, '--cancel');
    await until('the cancel to be queued', async () =>
      (await writes('RecordRegistry.shredSigned(cancel)')).some((w) => w.status === 'pending'),
    );
    const anvil = createTestClient({ mode: 'anvil', transport: http(chain.rpcUrl) });
    await anvil.increaseTime({ seconds: SHRED_DELAY + 1 });
    await anvil.mine({ blocks: 1 });
    const stranger = createWalletClient({
      // anvil's dev account 9: neither the node's relayer nor the patient.
      account: privateKeyToAccount('0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6'),
      transport: http(chain.rpcUrl),
    });
    const hash = await stranger.writeContract({
      abi: recordRegistryAbi,
      address: registry,
      functionName: 'finalizeShred',
      args: [patient.address, record.recordId],
      chain: null,
    });
    expect((await waitForTransactionReceipt(chain.client, { hash })).status).toBe('success');
    bed.node.node.outbox.start();

    const late = await cancel;
    expect(late.code).toBe(1);
    expect(late.stderr).toBe(
      `carekey: too late to cancel: record ${record.recordId} was finalised on the ledger (anyone may finalise once the window ends) before the cancel landed; its keys are destroyed\n`,
    );
    // On chain: shredded once, by the stranger; the cancel refused by the contract.
    await until('the cancel to be settled', async () =>
      (await writes('RecordRegistry.shredSigned(cancel)')).every((w) => w.status !== 'pending'),
    );
    expect(await writes('RecordRegistry.shredSigned(cancel)')).toEqual([
      { status: 'failed', last_error: expect.stringMatching(/RecordRegistryShredNotPending/u) },
    ]);
    const events = await getContractEvents(chain.client, {
      abi: recordRegistryAbi,
      address: registry,
      eventName: 'Shredded',
      args: { recordId: record.recordId },
      fromBlock: 0n,
    });
    expect(events.map((e) => e.transactionHash)).toEqual([hash]);
    // The node and the wallet folder agree: shredded, no stanza left.
    const id = hexToBytes(record.recordId);
    const { rows } = await sql.query<{ state: string }>('select state from records where record_id = $1', [
      id,
    ]);
    expect(rows[0]?.state).toBe('shredded');
    expect((await sql.query('select 1 from stanzas where record_id = $1', [id])).rows).toHaveLength(0);
    const { rows: logged } = await sql.query<{ action: string; reason: string | null }>(
      `select action, reason from access_log where $1 = any(record_ids) and action in ('shred', 'shred_cancel') order by id`,
      [id],
    );
    expect(logged).toEqual([
      { action: 'shred_cancel', reason: null },
      { action: 'shred', reason: 'finalised on chain, not by this node' },
    ]);
    const local = jsonOf<Listed>(await run('ls', '--json', '--offline')).records;
    expect(local.find((r) => r.recordId === record.recordId)?.state).toBe('shredded');
    expect(existsSync(join(root, 'patient', 'records', `${record.recordId.toLowerCase()}.age`))).toBe(false);
    // nor in a pack of the wallet folder (the import's batch was one pack, rewritten without it).
    const store = new RecordStore(carekeyHome({ CAREKEY_HOME: join(root, 'patient') }), '');
    expect(await store.hasFile(record.recordId)).toBe(false);
  }, 90_000);
});
