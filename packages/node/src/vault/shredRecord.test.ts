import {
  getSignatureContext,
  ScopeKind,
  ShredAction,
  shredRecord as shredOnChain,
  toShredTypedData,
} from '@carekey/sdk/chain';
import { KeyReleaseRefusedError, VaultInputError } from '@carekey/sdk/errors';
import { createTestClient, type Hex, hexToBytes, http } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgliteSql, dumpPgliteSql } from '../db/createPgliteSql.ts';
import { createIndexer } from '../indexer/createIndexer.ts';
import { finalizeDueShreds } from './finalizeDueShreds.ts';
import { reapplyTombstones } from './reapplyTombstones.ts';
import { releaseKeys } from './releaseKeys.ts';
import { type ShredRequestInput, shredRecord } from './shredRecord.ts';
import {
  nth,
  OWNER_GRANT,
  randomTag,
  startVaultTestbed,
  type TestIdentity,
  type VaultTestbed,
} from './testing/startVaultTestbed.ts';

async function signShred(
  t: VaultTestbed,
  who: TestIdentity,
  recordId: Hex,
  action: 'request' | 'cancel',
): Promise<ShredRequestInput> {
  const { recordRegistry } = t.vault.chain.contracts;
  const { chainId, nonce, deadline } = await getSignatureContext({
    client: t.relayer,
    contract: 'RecordRegistry',
    address: recordRegistry,
    identity: who.address,
  });
  const signature = await who.account.signTypedData(
    toShredTypedData({
      chainId,
      verifyingContract: recordRegistry,
      message: {
        patient: who.address,
        recordId,
        action: action === 'request' ? ShredAction.Request : ShredAction.Cancel,
        nonce,
        deadline,
      },
    }),
  );
  return { action, patient: who.address, recordId, request: { nonce, deadline, signature } };
}

/** The outbox entries that finalise `recordId` on chain (permissionless `finalizeShred`). */
async function finalizations(t: VaultTestbed, recordId: Hex): Promise<{ status: string }[]> {
  const { rows } = await t.sql.query<{ status: string }>(
    `select status from outbox where kind = 'RecordRegistry.finalizeShred' and idempotency_key like $1`,
    [`%:${recordId.toLowerCase()}`],
  );
  return rows;
}

async function reason(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyReleaseRefusedError);
  return (error as KeyReleaseRefusedError).reason;
}

describe('shredRecord, delay 0 (R-11, F-8)', () => {
  let t: VaultTestbed;
  beforeAll(async () => {
    t = await startVaultTestbed({ shredDelay: 0 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('R-11 answers shredded when the node’s shred loop destroyed the keys between the request’s transaction and the call’s own finalisation', async () => {
    const patient = t.newIdentity();
    const target = nth(await t.publish({ patient, tags: [randomTag()] }), 0);
    const input = await signShred(t, patient, target.recordId, 'request');
    const id = hexToBytes(target.recordId);
    // The shred loop's run (finalizeDueShreds over every due shred) lands right after the request commits.
    const inner = t.vault.sql;
    let ran = false;
    const sql = new Proxy(inner, {
      get(object, key) {
        const value = Reflect.get(object, key);
        if (key !== 'transaction') return typeof value === 'function' ? value.bind(object) : value;
        return async (...args: Parameters<typeof inner.transaction>) => {
          const result = await inner.transaction(...args);
          const { rows } = await inner.query('select 1 from shred_requests where record_id = $1', [id]);
          if (!ran && rows.length > 0) {
            ran = true;
            expect(await finalizeDueShreds({ vault: t.vault })).toContain(target.recordId);
          }
          return result;
        };
      },
    });
    const result = await shredRecord({ vault: { ...t.vault, sql }, input });
    expect(ran).toBe(true);
    expect(result.state).toBe('shredded');
  });

  it('R-11 after a shred no stanza row and no salt exist for the record; every release is refused; the chain has Shredded', async () => {
    const patient = t.newIdentity();
    const grantee = t.newIdentity();
    const records = await t.publish({ patient, tags: [randomTag(), randomTag()] });
    const target = nth(records, 0);
    const grantId = await t.grant({ patient, grantee, scopeKind: ScopeKind.All, records });
    const result = await shredRecord({
      vault: t.vault,
      input: await signShred(t, patient, target.recordId, 'request'),
    });
    expect(result.state).toBe('shredded');
    // Delay 0: the keys went at once; the chain's finalisation waits until the request is mined.
    expect(await finalizations(t, target.recordId)).toEqual([]);
    await t.drain();
    expect(await finalizeDueShreds({ vault: t.vault })).toEqual([]); // keys already gone: relays only
    expect(await finalizations(t, target.recordId)).toEqual([{ status: 'pending' }]);
    await t.drain();
    expect(await finalizeDueShreds({ vault: t.vault })).toEqual([]);
    expect(await finalizations(t, target.recordId)).toEqual([{ status: 'confirmed' }]);

    const id = hexToBytes(target.recordId);
    expect((await t.sql.query('select 1 from stanzas where record_id = $1', [id])).rows).toHaveLength(0);
    const { rows } = await t.sql.query<{ state: string; salt: Uint8Array | null }>(
      'select state, salt from records where record_id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ state: 'shredded', salt: null });
    expect(
      (await t.sql.query('select 1 from shred_tombstones where record_id = $1', [id])).rows,
    ).toHaveLength(1);
    expect(await t.vault.chain.shreddedRecordIds()).toContain(target.recordId);

    expect(
      await reason(
        releaseKeys({
          vault: t.vault,
          envelope: await t.keyRequest({ account: grantee.account, grantId, recordIds: [target.recordId] }),
        }),
      ),
    ).toBe('shredded');
    expect(
      await reason(
        releaseKeys({
          vault: t.vault,
          envelope: await t.keyRequest({
            account: patient.account,
            grantId: OWNER_GRANT,
            recordIds: [target.recordId],
          }),
        }),
      ),
    ).toBe('shredded');
    // The other record is untouched.
    const other = nth(records, 1);
    const ok = await releaseKeys({
      vault: t.vault,
      envelope: await t.keyRequest({ account: grantee.account, grantId, recordIds: [other.recordId] }),
    });
    expect(ok.records).toHaveLength(1);
    // A shredded record id can never be published again.
    const actions = (
      await t.sql.query<{ action: string }>(
        'select action from access_log where $1 = any(record_ids) order by id',
        [id],
      )
    ).rows.map((r) => r.action);
    expect(actions).toEqual(
      expect.arrayContaining(['publish', 'grant', 'shred_request', 'shred', 'refusal']),
    );
  });

  it('a shred signed by someone else than the patient’s owner changes nothing', async () => {
    const patient = t.newIdentity();
    const intruder = t.newIdentity();
    const record = nth(await t.publish({ patient, tags: [randomTag()] }), 0);
    const forged = await signShred(t, intruder, record.recordId, 'request');
    const error = await shredRecord({ vault: t.vault, input: { ...forged, patient: patient.address } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(VaultInputError);
    expect((error as VaultInputError).code).toBe('not-owner');
    const { rows } = await t.sql.query<{ state: string }>('select state from records where record_id = $1', [
      hexToBytes(record.recordId),
    ]);
    expect(rows[0]?.state).toBe('active');
  });

  it('T-6 another identity shredding my record id on chain (a grantee knows it) changes nothing here: index, tombstones, keys', async () => {
    const patient = t.newIdentity();
    const grantee = t.newIdentity();
    const records = await t.publish({ patient, tags: [randomTag()] });
    const { recordId } = nth(records, 0);
    const grantId = await t.grant({ patient, grantee, scopeKind: ScopeKind.All, records });
    // The grantee requests and finalises a shred of the same record id under its own identity (the chain allows it:
    // shred state is per patient), then the indexer and a restart's tombstone pass see its Shredded event.
    const base = { client: t.relayer, recordRegistry: t.vault.chain.contracts.recordRegistry, recordId };
    await shredOnChain({ ...base, patient: grantee.address, signer: grantee.account, action: 'request' });
    await shredOnChain({ ...base, patient: grantee.address, action: 'finalize' });
    expect(await t.vault.chain.shreddedRecords()).toContainEqual({ recordId, patient: grantee.address });
    const indexer = createIndexer({ sql: t.sql, client: t.relayer, deployment: t.chain.deployment });
    await indexer.syncOnce();
    expect(await reapplyTombstones({ vault: t.vault })).not.toContain(recordId);

    const id = hexToBytes(recordId);
    const { rows } = await t.sql.query<{ state: string; salted: boolean }>(
      'select state, salt is not null as salted from records where record_id = $1',
      [id],
    );
    expect(rows[0]).toEqual({ state: 'active', salted: true });
    expect(
      (await t.sql.query('select 1 from shred_tombstones where record_id = $1', [id])).rows,
    ).toHaveLength(0);
    const released = await releaseKeys({
      vault: t.vault,
      envelope: await t.keyRequest({ account: grantee.account, grantId, recordIds: [recordId] }),
    });
    expect(released.records).toHaveLength(1);
  });

  it('F-8 a database restored from a backup made before the shred gets the tombstone re-applied', async () => {
    const patient = t.newIdentity();
    const record = nth(await t.publish({ patient, tags: [randomTag()] }), 0);
    const recordId = record.recordId;
    const backup = await dumpPgliteSql(t.sql);
    await shredRecord({ vault: t.vault, input: await signShred(t, patient, recordId, 'request') });
    await t.drain();
    await finalizeDueShreds({ vault: t.vault });
    await t.drain();
    expect(await t.vault.chain.shreddedRecordIds()).toContain(recordId);

    const restored = await createPgliteSql({ from: backup });
    try {
      const vault = { ...t.vault, sql: restored };
      const id = hexToBytes(recordId);
      expect(
        (await restored.query('select 1 from stanzas where record_id = $1', [id])).rows.length,
      ).toBeGreaterThan(0);
      expect(await reapplyTombstones({ vault })).toContain(recordId);
      expect((await restored.query('select 1 from stanzas where record_id = $1', [id])).rows).toHaveLength(0);
      const { rows } = await restored.query<{ state: string; salt: Uint8Array | null }>(
        'select state, salt from records where record_id = $1',
        [id],
      );
      expect(rows[0]).toEqual({ state: 'shredded', salt: null });
      expect(await reapplyTombstones({ vault })).toEqual([]);
      expect(
        await reason(
          releaseKeys({
            vault,
            envelope: await t.keyRequest({
              account: patient.account,
              grantId: OWNER_GRANT,
              recordIds: [recordId],
            }),
          }),
        ),
      ).toBe('shredded');
    } finally {
      await restored.close();
    }
  });
});

describe('shredRecord, delay 1 h: pending and cancel', () => {
  let t: VaultTestbed;
  beforeAll(async () => {
    t = await startVaultTestbed({ shredDelay: 3600 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('a pending shred refuses every release at once; --cancel restores access; the chain agrees', async () => {
    const patient = t.newIdentity();
    const grantee = t.newIdentity();
    const record = nth(await t.publish({ patient, tags: [randomTag()] }), 0);
    const recordId = record.recordId;
    const grantId = await t.grant({
      patient,
      grantee,
      scopeKind: ScopeKind.All,
      records: [record],
    });
    const pending = await shredRecord({
      vault: t.vault,
      input: await signShred(t, patient, recordId, 'request'),
    });
    expect(pending.state).toBe('pending_shred');
    await t.drain();
    const ask = async () =>
      releaseKeys({
        vault: t.vault,
        envelope: await t.keyRequest({ account: grantee.account, grantId, recordIds: [recordId] }),
      });
    expect(await reason(ask())).toBe('pending-shred');
    expect(
      await reason(
        releaseKeys({
          vault: t.vault,
          envelope: await t.keyRequest({
            account: patient.account,
            grantId: OWNER_GRANT,
            recordIds: [recordId],
          }),
        }),
      ),
    ).toBe('pending-shred');

    const cancelled = await shredRecord({
      vault: t.vault,
      input: await signShred(t, patient, recordId, 'cancel'),
    });
    expect(cancelled.state).toBe('active');
    await t.drain();
    expect((await ask()).records).toHaveLength(1);
    // A second cancel has nothing to cancel.
    const again = await shredRecord({
      vault: t.vault,
      input: await signShred(t, patient, recordId, 'cancel'),
    }).catch((e: unknown) => e);
    expect((again as VaultInputError).code).toBe('not-pending');
  });
});

describe('shredRecord, delay 60 s: finalised by the chain time of the mined request', () => {
  let t: VaultTestbed;
  beforeAll(async () => {
    t = await startVaultTestbed({ shredDelay: 60 });
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('R-11 waits for the request to be mined, then for its block time + delay; a publish in the window takes no nonce from it', async () => {
    const anvil = createTestClient({ mode: 'anvil', transport: http(t.chain.rpcUrl) });
    const later = async (seconds: number) => {
      await anvil.increaseTime({ seconds });
      await anvil.mine({ blocks: 1 });
    };
    const patient = t.newIdentity();
    const record = nth(await t.publish({ patient, tags: [randomTag()] }), 0);
    const { recordId } = record;
    const pending = await shredRecord({
      vault: t.vault,
      input: await signShred(t, patient, recordId, 'request'),
    });
    expect(pending.state).toBe('pending_shred');

    // The request is still in the outbox when the delay has passed by the node's clock: not due (the chain has no
    // executableAt yet; finalising now is what made the old code fail with ShredTooEarly).
    await later(120);
    expect(await finalizeDueShreds({ vault: t.vault })).toEqual([]);
    // Mined now, much later than it arrived: the chain's executableAt is this block's time + 60 s.
    await t.drain();
    expect(await finalizeDueShreds({ vault: t.vault })).toEqual([]);
    const { rows } = await t.sql.query<{ state: string }>('select state from records where record_id = $1', [
      hexToBytes(recordId),
    ]);
    expect(rows[0]?.state).toBe('pending_shred');

    // The patient publishes inside the window: with a pre-signed finalisation this took its reserved nonce.
    const more = await t.publish({ patient, tags: [randomTag()] });
    expect(more).toHaveLength(1);

    await later(61);
    expect(await finalizeDueShreds({ vault: t.vault })).toEqual([recordId]);
    expect(await finalizeDueShreds({ vault: t.vault })).toEqual([]); // never enqueued twice
    expect(await finalizations(t, recordId)).toEqual([{ status: 'pending' }]);
    // The finalisation is accepted by the chain (drain throws on a revert) and the chain records the shred.
    await t.drain();
    expect(await t.vault.chain.shreddedRecordIds()).toContain(recordId);
    expect(
      (await t.sql.query('select 1 from shred_requests where record_id = $1', [hexToBytes(recordId)])).rows,
    ).toHaveLength(0);
  });
});
