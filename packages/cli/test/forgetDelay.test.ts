import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordRegistryAbi, ZERO_BYTES32 } from '@carekey/sdk/chain';
import { NodeProblemError } from '@carekey/sdk/client';
import { createTestClient, type Hex, hexToBytes, http } from 'viem';
import { getBlock, getContractEvents } from 'viem/actions';
import { describe, expect, it } from 'vitest';
import { openSession } from '../src/commands/openSession.ts';
import { jsonOf } from './support/carekeyBin.ts';
import { oneLine, useCliTestBed } from './support/cliTestBed.ts';

// The production default delay (a day of chain time). The steps inside the window take what they take (no race with
// a clock on a loaded machine); then chain time jumps a day ahead and the node, its shred loop, outbox and the chain
// do the rest for real. A day is also far past the 600 s deadline of every signature made at the request, which is
// what made a pre-signed finalisation revert.
const SHRED_DELAY = 86_400;
const bed = useCliTestBed('forget-delay', { shredDelay: SHRED_DELAY, shredInterval: 250 });
const { root, as } = bed;
const run = bed.run;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const P = '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const bundle = (ids: string[]) => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    { fullUrl: `urn:uuid:${P}`, resource: { resourceType: 'Patient', id: P, gender: 'female' } },
    ...ids.map((id, n) => ({
      fullUrl: `urn:uuid:${id}`,
      resource: {
        resourceType: 'Observation',
        id,
        status: 'final',
        code: { text: `forget delay test ${n}` },
        subject: { reference: `urn:uuid:${P}` },
      },
    })),
  ],
});

/** Waits (up to 40 s) until the node's outbox has nothing left to send. */
async function settled(): Promise<void> {
  const until = Date.now() + 40_000;
  for (;;) {
    const { rows } = await bed.node.node.sql.query<{ n: bigint }>(
      `select count(*) as n from outbox where status in ('pending', 'submitted')`,
    );
    if (Number(rows[0]?.n) === 0 || Date.now() > until) return;
    await sleep(250);
  }
}

/** Runs `work` with `env` set in `process.env` (restored after); the test runs one thing at a time. */
async function withEnv<result>(env: Record<string, string>, work: () => Promise<result>): Promise<result> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('carekey forget with the default shred delay', () => {
  it('R-11/R-13 GDPR erasure, delay 1 day: pending denies everything; --cancel restores; a publish and a second forget in the window take no nonce from it; the Shredded tombstone lands on chain once; no stanza in the vault or the wallet folder; the ciphertext stays', async () => {
    const { chain, sql, blobs } = bed.node.node;
    const registry = chain.deployment.contracts.recordRegistry.address;
    const patient = jsonOf<{ address: string }>(
      await run('patient', 'init', '--json', '--scrypt-log-n', '15'),
    );
    const doctor = jsonOf<{ address: string }>(await run('doctor', 'init', '--json', '--scrypt-log-n', '15'));
    writeFileSync(
      join(root, 'first.json'),
      JSON.stringify(
        bundle(['1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a51', '1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a52']),
      ),
    );
    jsonOf(await run('patient', 'import', join(root, 'first.json'), '--json'));
    const { records } = jsonOf<{ records: { recordId: Hex; resourceType: string; blobId: string }[] }>(
      await run('patient', 'ls', '--json', '--offline'),
    );
    const [a, b] = records.filter((r) => r.resourceType === 'Observation');
    if (a === undefined || b === undefined) throw new Error('two observations expected');
    jsonOf(await run('patient', 'share', '--all', '--with', doctor.address, '--json'));
    expect((await run('doctor', 'get', a.recordId)).code).toBe(0);
    const { rows: own } = await sql.query<{ stanza: string }>(
      'select stanza from stanzas where record_id = $1 and reader = $2',
      [hexToBytes(a.recordId), hexToBytes(patient.address as Hex)],
    );
    const stanzaLine = own[0]?.stanza.split('\n')[0] as string; // "-> X25519 <ephemeral share>"
    expect(stanzaLine).toMatch(/^-> X25519 /u);
    expect(
      filesUnder(join(root, 'patient')).some((f) => readFileSync(f, 'latin1').includes(stanzaLine)),
    ).toBe(true);

    // Forget A: pending at once; every release refused, the doctor's and the owner's own.
    const forgotA = jsonOf<{ records: { state: string }[] }>(
      await run('patient', 'forget', a.recordId, '--json'),
    );
    expect(forgotA.records[0]?.state).toBe('pending_shred');
    const refused = await run('doctor', 'get', a.recordId);
    expect(refused.code).toBe(1);
    oneLine(refused.stderr);
    const ownRelease = await withEnv(as('patient'), async () =>
      (await openSession()).node
        .releaseKeys({ grantId: ZERO_BYTES32, recordIds: [a.recordId] })
        .catch((e) => e),
    );
    expect(ownRelease).toBeInstanceOf(NodeProblemError);
    expect((ownRelease as NodeProblemError).status).toBe(403);
    // nor does the owner's own copy open while the forget is pending (as the forget text says), in one line.
    const ownGet = await run('patient', 'get', a.recordId);
    expect(ownGet.code).toBe(1);
    oneLine(ownGet.stderr);
    expect(ownGet.stderr).toContain('is being forgotten: nobody can open it');
    expect(ownGet.stdout).not.toContain('Observation');

    // Two more RecordRegistry writes of the patient inside A's window: a publish and a second forget (then its
    // cancel). With a pre-signed finalisation, the first of them took the nonce it had reserved.
    writeFileSync(
      join(root, 'second.json'),
      JSON.stringify(bundle(['1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a53'])),
    );
    jsonOf(await run('patient', 'import', join(root, 'second.json'), '--json'));
    const forgotB = jsonOf<{ records: { state: string }[] }>(
      await run('patient', 'forget', b.recordId, '--json'),
    );
    expect(forgotB.records[0]?.state).toBe('pending_shred');
    expect((await run('doctor', 'get', b.recordId)).code).toBe(1);
    const cancelled = jsonOf<{ records: { state: string }[] }>(
      await run('patient', 'forget', b.recordId, '--cancel', '--json'),
    );
    expect(cancelled.records[0]?.state).toBe('active');
    // Cancelled: the owner reads it again from its own copy.
    expect(JSON.parse((await run('patient', 'get', b.recordId)).stdout)).toMatchObject({
      resourceType: 'Observation',
    });
    // Everything so far happened inside A's window (the test would prove nothing otherwise).
    const { rows: pendingA } = await sql.query<{ state: string }>(
      'select state from records where record_id = $1',
      [hexToBytes(a.recordId)],
    );
    expect(pendingA[0]?.state).toBe('pending_shred');

    // After the delay: the node destroys A's keys and relays the permissionless finalisation.
    const shreddedEvents = async (recordId: Hex) =>
      getContractEvents(chain.client, {
        abi: recordRegistryAbi,
        address: registry,
        eventName: 'Shredded',
        args: { recordId },
        fromBlock: 0n,
      });
    expect(
      (await sql.query(`select 1 from outbox where kind = 'RecordRegistry.finalizeShred'`)).rows,
    ).toHaveLength(0);
    // Every signed write of the window mined first (their 600 s deadlines would not survive the jump).
    await settled();
    const beforeJump = (await getBlock(chain.client)).timestamp;
    const anvil = createTestClient({ mode: 'anvil', transport: http(chain.rpcUrl) });
    await anvil.increaseTime({ seconds: SHRED_DELAY + 1 });
    await anvil.mine({ blocks: 1 });
    const deadline = Date.now() + 40_000;
    while ((await shreddedEvents(a.recordId)).length === 0 && Date.now() < deadline) await sleep(250);
    // Let the outbox settle (nothing left to send), then a few more shred-loop runs: still one tombstone.
    await settled();
    await sleep(1_000);
    const events = await shreddedEvents(a.recordId);
    expect(events.map((e) => e.args.patient?.toLowerCase())).toEqual([patient.address.toLowerCase()]);
    const shreddedAt = (await getBlock(chain.client, { blockHash: events[0]?.blockHash as Hex })).timestamp;
    expect(shreddedAt - beforeJump).toBeGreaterThan(SHRED_DELAY); // long past every request-time signature
    expect(await shreddedEvents(b.recordId)).toEqual([]);
    const { rows: outbox } = await sql.query<{ kind: string; status: string; last_error: string | null }>(
      'select kind, status, last_error from outbox order by id',
    );
    expect(outbox.filter((o) => o.status !== 'confirmed')).toEqual([]); // no write reverted: no nonce collided
    expect(outbox.filter((o) => o.kind === 'RecordRegistry.finalizeShred')).toHaveLength(1);

    // No stanza of A in the vault (every reader), its salt gone, the tombstone kept; B untouched.
    const id = hexToBytes(a.recordId);
    expect((await sql.query('select 1 from stanzas where record_id = $1', [id])).rows).toHaveLength(0);
    const { rows: state } = await sql.query<{ state: string; salt: Uint8Array | null }>(
      'select state, salt from records where record_id = $1',
      [id],
    );
    expect(state[0]).toEqual({ state: 'shredded', salt: null });
    expect((await sql.query('select 1 from shred_tombstones where record_id = $1', [id])).rows).toHaveLength(
      1,
    );
    expect(JSON.parse((await run('doctor', 'get', b.recordId)).stdout)).toMatchObject({
      resourceType: 'Observation',
    });

    // Too late to cancel: one line, nothing changed.
    const late = await run('patient', 'forget', a.recordId, '--cancel');
    expect(late.code).toBe(1);
    oneLine(late.stderr);
    expect((await shreddedEvents(a.recordId)).length).toBe(1);
    // The patient's next sync deletes its own copy: no stanza of A anywhere in the wallet folder.
    const listed = jsonOf<{ records: { recordId: Hex; state: string }[] }>(
      await run('patient', 'ls', '--json'),
    );
    expect(listed.records.find((r) => r.recordId === a.recordId)?.state).toBe('shredded');
    expect(existsSync(join(root, 'patient', 'records', `${a.recordId.toLowerCase()}.age`))).toBe(false);
    expect(
      filesUnder(join(root, 'patient')).filter((f) => readFileSync(f, 'latin1').includes(stanzaLine)),
    ).toEqual([]);
    expect((await run('doctor', 'get', a.recordId)).code).toBe(1);
    // The ciphertext is still in the blob store (content-addressed, intact), undecryptable.
    expect(await blobs.has(a.blobId)).toBe(true);
    let bytes = 0;
    for await (const chunk of blobs.get(a.blobId)) bytes += chunk.length;
    expect(bytes).toBeGreaterThan(0);

    const audit = jsonOf<{ entries: { action: string; recordIds: string[] }[] }>(
      await run('patient', 'audit', '--json'),
    );
    const about = (recordId: Hex) =>
      audit.entries.filter((e) => e.recordIds.includes(recordId)).map((e) => e.action);
    expect(about(a.recordId)).toEqual(expect.arrayContaining(['shred_request', 'refusal', 'shred']));
    expect(about(b.recordId)).toEqual(expect.arrayContaining(['shred_request', 'shred_cancel']));
    expect(about(b.recordId)).not.toContain('shred');
  }, 120_000);
});
