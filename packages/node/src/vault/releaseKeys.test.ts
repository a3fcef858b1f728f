import { getSignatureContext, ScopeKind, toRevokeTypedData } from '@carekey/sdk/chain';
import { decodeStanza, decryptPayload, unwrapFileKey } from '@carekey/sdk/crypto';
import { KeyReleaseRefusedError, QueryError, SignedRequestError } from '@carekey/sdk/errors';
import { type KeyRequest, keyRequestEnvelope, toKeyRequestTypedData } from '@carekey/sdk/protocol';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql, SqlExecutor } from '../db/Sql.ts';
import { releaseKeys } from './releaseKeys.ts';
import { submitRevocation } from './submitRevocation.ts';
import {
  nth,
  OWNER_GRANT,
  randomTag,
  startVaultTestbed,
  type TestIdentity,
  type TestRecord,
  type VaultTestbed,
} from './testing/startVaultTestbed.ts';
import type { GranteeCheck } from './Vault.ts';

let t: VaultTestbed;
let patient: TestIdentity;
let other: TestIdentity;
let grantee: TestIdentity;
let stranger: TestIdentity;
let records: TestRecord[];
let otherRecords: TestRecord[];
const tagX = randomTag();
const tagY = randomTag();

beforeAll(async () => {
  t = await startVaultTestbed();
  patient = t.newIdentity();
  other = t.newIdentity();
  grantee = t.newIdentity();
  stranger = t.newIdentity();
  records = await t.publish({ patient, tags: [tagX, tagY] });
  otherRecords = await t.publish({ patient: other, tags: [tagX] });
});
afterAll(async () => {
  await t?.stop();
});

/** The reason logged for the last refusal by `actor`, after checking the error thrown is the uniform one. */
async function refused(promise: Promise<unknown>, actor: Hex): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeyReleaseRefusedError);
  expect((error as Error).message).toBe('key release refused');
  const { rows } = await t.sql.query<{ reason: string; outcome: string }>(
    `select reason, outcome from access_log where actor = $1 and action = 'refusal' order by id desc limit 1`,
    [hexToBytes(actor)],
  );
  expect(rows[0]?.outcome).toBe('denied');
  return rows[0]?.reason ?? '(no row)';
}

async function revoke(who: TestIdentity, grantId: Hex) {
  const { consentRegistry } = t.vault.chain.contracts;
  const { chainId, nonce, deadline } = await getSignatureContext({
    client: t.relayer,
    contract: 'ConsentRegistry',
    address: consentRegistry,
    identity: who.address,
  });
  const signature = await who.account.signTypedData(
    toRevokeTypedData({
      chainId,
      verifyingContract: consentRegistry,
      message: { patient: who.address, grantId, nonce, deadline },
    }),
  );
  const result = await submitRevocation({ vault: t.vault, revoke: { grantId, nonce, deadline, signature } });
  await t.drain();
  return result;
}

describe('releaseKeys: the grant/request matrix (R-1, T-2…T-6)', () => {
  it('R-1 active + covered releases the grantee’s stanza, which decrypts the stored payload', async () => {
    const grantId = await t.grant({ patient, grantee, scopeKind: ScopeKind.All, records });
    const request = await t.keyRequest({
      account: grantee.account,
      grantId,
      recordIds: [nth(records, 0).recordId],
    });
    const released = await releaseKeys({ vault: t.vault, envelope: request });
    expect(released.records).toHaveLength(1);
    const record = nth(released.records, 0);
    expect(record?.blobId).toBe(nth(records, 0).blobId);
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(record.stanza)],
      identities: [grantee.x25519],
    });
    const chunks: Uint8Array[] = [];
    for await (const c of t.vault.blobs.get(record.blobId)) chunks.push(c);
    expect(decryptPayload({ fileKey, payload: Buffer.concat(chunks) })).toEqual(nth(records, 0).plaintext);
    const { rows } = await t.sql.query<{ action: string; grant_id: Uint8Array; record_ids: Uint8Array[] }>(
      'select action, grant_id, record_ids from access_log where id = $1',
      [released.accessLogId],
    );
    expect(rows[0]?.action).toBe('release');
    expect(bytesToHex(nth(rows, 0).grant_id)).toBe(grantId);
    expect(rows[0]?.record_ids.map((r) => bytesToHex(r))).toEqual([nth(records, 0).recordId]);
  });

  it('R-1 no grant: an unknown grant id is refused and logged', async () => {
    const request = await t.keyRequest({
      account: grantee.account,
      grantId: randomTag(),
      recordIds: [nth(records, 0).recordId],
    });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), grantee.address)).toBe(
      'no-grant',
    );
  });

  it('T-2 wrong record: a grant scoped to record A never releases record B', async () => {
    const first = nth(records, 0);
    const second = nth(records, 1);
    const g2 = t.newIdentity();
    const grantId = await t.grant({
      patient,
      grantee: g2,
      scopeKind: ScopeKind.Records,
      scopeRecordIds: [first.recordId],
      records: [first],
    });
    const ok = await releaseKeys({
      vault: t.vault,
      envelope: await t.keyRequest({ account: g2.account, grantId, recordIds: [first.recordId] }),
    });
    expect(ok.records).toHaveLength(1);
    const request = await t.keyRequest({ account: g2.account, grantId, recordIds: [second.recordId] });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), g2.address)).toBe('not-covered');
    // Asking for both at once releases nothing.
    const both = await t.keyRequest({
      account: g2.account,
      grantId,
      recordIds: [first.recordId, second.recordId],
    });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: both }), g2.address)).toBe('not-covered');
  });

  it('T-2 other patient’s record: a grant of patient A never releases a record of patient B', async () => {
    const g3 = t.newIdentity();
    const grantId = await t.grant({ patient, grantee: g3, scopeKind: ScopeKind.All, records });
    const request = await t.keyRequest({
      account: g3.account,
      grantId,
      recordIds: [nth(otherRecords, 0).recordId],
    });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), g3.address)).toBe(
      'other-patient',
    );
    // Patient B sees the attempt in its own log, without patient A's record ids.
    const { rows } = await t.sql.query<{ record_ids: Uint8Array[] }>(
      `select record_ids from access_log where patient = $1 and action = 'refusal' order by id desc limit 1`,
      [hexToBytes(other.address)],
    );
    expect(rows[0]?.record_ids.map((r) => bytesToHex(r))).toEqual([nth(otherRecords, 0).recordId]);
  });

  it('R-1 wrong grantee: someone else using the grant id is refused', async () => {
    const grantId = await t.grant({ patient, grantee: t.newIdentity(), scopeKind: ScopeKind.All, records });
    const request = await t.keyRequest({
      account: stranger.account,
      grantId,
      recordIds: [nth(records, 0).recordId],
    });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), stranger.address)).toBe(
      'wrong-grantee',
    );
  });

  it('T-3 expired by chain time: refused once anvil time passes the expiry', async () => {
    const g4 = t.newIdentity();
    const grantId = await t.grant({
      patient,
      grantee: g4,
      scopeKind: ScopeKind.All,
      records,
      expiresIn: 120n,
    });
    const before = await t.keyRequest({
      account: g4.account,
      grantId,
      recordIds: [nth(records, 1).recordId],
    });
    expect((await releaseKeys({ vault: t.vault, envelope: before })).records).toHaveLength(1);
    await t.advanceTime(121);
    const after = await t.keyRequest({ account: g4.account, grantId, recordIds: [nth(records, 1).recordId] });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: after }), g4.address)).toBe('expired');
  });

  it('T-4 revoked: refused at once, and the grantee’s stanzas are deleted', async () => {
    const g5 = t.newIdentity();
    const grantId = await t.grant({ patient, grantee: g5, scopeKind: ScopeKind.All, records });
    const { deletedRecordIds } = await revoke(patient, grantId);
    expect(new Set(deletedRecordIds)).toEqual(new Set(records.map((r) => r.recordId)));
    const { rows } = await t.sql.query('select 1 from stanzas where reader = $1', [hexToBytes(g5.address)]);
    expect(rows).toHaveLength(0);
    const request = await t.keyRequest({
      account: g5.account,
      grantId,
      recordIds: [nth(records, 0).recordId],
    });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), g5.address)).toBe('revoked');
  });

  it('T-4 revoked after releases: the grant state cached for its block does not outlive it — the next release after the revoke is mined is refused', async () => {
    const g9 = t.newIdentity();
    const grantId = await t.grant({ patient, grantee: g9, scopeKind: ScopeKind.All, records });
    const ask = () => t.keyRequest({ account: g9.account, grantId, recordIds: [nth(records, 0).recordId] });
    // Two releases at the same head: the second is served from the per-block cache (cacheVaultChain).
    const [first, second] = await Promise.all([
      releaseKeys({ vault: t.vault, envelope: await ask() }),
      releaseKeys({ vault: t.vault, envelope: await ask() }),
    ]);
    expect(first.records).toHaveLength(1);
    expect(second.records).toHaveLength(1);
    await revoke(patient, grantId);
    expect(await refused(releaseKeys({ vault: t.vault, envelope: await ask() }), g9.address)).toBe('revoked');
  });

  it('revoking one grant keeps the stanzas another active grant to the same grantee still covers', async () => {
    const g6 = t.newIdentity();
    const broad = await t.grant({
      patient,
      grantee: g6,
      scopeKind: ScopeKind.Categories,
      scopeData: [tagX],
      records: [nth(records, 0)],
    });
    const all = await t.grant({ patient, grantee: g6, scopeKind: ScopeKind.All, records: [nth(records, 1)] });
    const { deletedRecordIds } = await revoke(patient, all);
    expect(deletedRecordIds).toEqual([nth(records, 1).recordId]);
    const ok = await releaseKeys({
      vault: t.vault,
      envelope: await t.keyRequest({
        account: g6.account,
        grantId: broad,
        recordIds: [nth(records, 0).recordId],
      }),
    });
    expect(ok.records).toHaveLength(1);
  });

  it('T-1 a replayed request is refused, and so is one for another audience', async () => {
    const g7 = t.newIdentity();
    const grantId = await t.grant({ patient, grantee: g7, scopeKind: ScopeKind.All, records });
    const request = await t.keyRequest({
      account: g7.account,
      grantId,
      recordIds: [nth(records, 0).recordId],
    });
    await releaseKeys({ vault: t.vault, envelope: request });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), g7.address)).toBe('replayed');
    const elsewhere = await t.keyRequest({
      account: g7.account,
      grantId,
      recordIds: [nth(records, 0).recordId],
      audience: 'other-node',
    });
    const error = await releaseKeys({ vault: t.vault, envelope: elsewhere }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignedRequestError);
    expect((error as SignedRequestError).reason).toBe('wrong-audience');
  });

  it('T-6 a request signed by a key that does not own the grantee identity is refused; the actor logged is the signer', async () => {
    const g8 = t.newIdentity();
    const grantId = await t.grant({ patient, grantee: g8, scopeKind: ScopeKind.All, records });
    const request = await t.keyRequest({
      account: stranger.account,
      grantee: g8.address,
      grantId,
      recordIds: [nth(records, 0).recordId],
    });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), stranger.address)).toBe(
      'not-owner',
    );
  });

  it('T-15 refusals look the same whether the record exists or not', async () => {
    const g9 = t.newIdentity();
    const grantId = await t.grant({
      patient,
      grantee: g9,
      scopeKind: ScopeKind.Categories,
      scopeData: [tagX],
      records: [nth(records, 0)],
    });
    const errors = [];
    for (const recordId of [nth(records, 1).recordId, randomTag(), nth(otherRecords, 0).recordId]) {
      errors.push(
        await releaseKeys({
          vault: t.vault,
          envelope: await t.keyRequest({ account: g9.account, grantId, recordIds: [recordId] }),
        }).catch((e: unknown) => e as KeyReleaseRefusedError),
      );
    }
    expect(new Set(errors.map((e) => `${(e as Error).name}:${(e as Error).message}`)).size).toBe(1);
  });

  it('the patient reads its own records with grant id zero (logged); nobody else can', async () => {
    const own = await releaseKeys({
      vault: t.vault,
      envelope: await t.keyRequest({
        account: patient.account,
        grantId: OWNER_GRANT,
        recordIds: records.map((r) => r.recordId),
      }),
    });
    expect(own.records).toHaveLength(2);
    const { rows } = await t.sql.query<{ actor: Uint8Array; grant_id: Uint8Array | null }>(
      'select actor, grant_id from access_log where id = $1',
      [own.accessLogId],
    );
    expect(bytesToHex(nth(rows, 0).actor)).toBe(patient.address.toLowerCase());
    expect(rows[0]?.grant_id).toBeNull();
    const notMine = await t.keyRequest({
      account: patient.account,
      grantId: OWNER_GRANT,
      recordIds: [nth(otherRecords, 0).recordId],
    });
    expect(await refused(releaseKeys({ vault: t.vault, envelope: notMine }), patient.address)).toBe(
      'other-patient',
    );
  });

  it('R-2 every audit row names a non-null actor, and release rows name the verified grantee', async () => {
    const { rows } = await t.sql.query<{ n: bigint }>(
      `select count(*) as n from access_log where actor is null or actor = '\\x0000000000000000000000000000000000000000'::bytea`,
    );
    expect(rows[0]?.n).toBe(0n);
    const { rows: releases } = await t.sql.query<{ n: bigint }>(
      `select count(*) as n from access_log where action = 'release'`,
    );
    expect(releases[0]?.n).toBeGreaterThan(0n);
  });
});

describe('releaseKeys: the release row is written by the release statement (R-6, F-2)', () => {
  /** This actor's audit rows, oldest first. */
  async function rowsOf(actor: Hex) {
    const { rows } = await t.sql.query<{
      action: string;
      outcome: string;
      reason: string | null;
      record_ids: Uint8Array[];
      grant_id: Uint8Array | null;
      request_digest: Uint8Array | null;
      signature: Uint8Array | null;
    }>(
      `select action, outcome, reason, record_ids, grant_id, request_digest, signature from access_log
       where actor = $1 order by id`,
      [hexToBytes(actor)],
    );
    return rows.map((r) => ({
      action: r.action,
      outcome: r.outcome,
      reason: r.reason,
      recordIds: r.record_ids.map((id) => bytesToHex(id)),
      grantId: r.grant_id === null ? null : bytesToHex(r.grant_id),
      digest: r.request_digest === null ? null : bytesToHex(r.request_digest),
      signature: r.signature === null ? null : bytesToHex(r.signature),
    }));
  }

  it('R-6 every scope kind (all, categories, records, the patient’s own) gets exactly one complete release row per release, and a refusal the statement sees (no stanza, not covered, other patient) only its refusal row', async () => {
    const g = t.newIdentity();
    const [first, second] = [nth(records, 0), nth(records, 1)];
    const grants = {
      all: await t.grant({ patient, grantee: g, scopeKind: ScopeKind.All, records: [first] }),
      categories: await t.grant({
        patient,
        grantee: g,
        scopeKind: ScopeKind.Categories,
        scopeData: [tagX],
        records: [first],
      }),
      records: await t.grant({
        patient,
        grantee: g,
        scopeKind: ScopeKind.Records,
        scopeRecordIds: [first.recordId],
        records: [first],
      }),
    };
    const expected = [];
    for (const grantId of Object.values(grants)) {
      const envelope = await t.keyRequest({ account: g.account, grantId, recordIds: [first.recordId] });
      const released = await releaseKeys({ vault: t.vault, envelope });
      expect(released.records.map((r) => r.recordId)).toEqual([first.recordId]);
      expected.push({
        action: 'release',
        outcome: 'allowed',
        reason: null,
        recordIds: [first.recordId],
        grantId,
        digest: expect.stringMatching(/^0x[0-9a-f]{64}$/u),
        signature: envelope.signature.toLowerCase(),
      });
    }
    // Refused by what the statement reads: g has no stanza of `second` (no-stanza); a category grant of tagY (with
    // `second`, tagged tagY) does not cover `first`, tagged tagX (not-covered); the other patient's record.
    const refuse = async (grantId: Hex, recordIds: Hex[], reason: string) => {
      const envelope = await t.keyRequest({ account: g.account, grantId, recordIds });
      expect(await refused(releaseKeys({ vault: t.vault, envelope }), g.address)).toBe(reason);
    };
    await refuse(grants.all, [first.recordId, second.recordId], 'no-stanza');
    const tagYGrant = await t.grant({
      patient,
      grantee: g,
      scopeKind: ScopeKind.Categories,
      scopeData: [tagY],
      records: [second],
    });
    await refuse(tagYGrant, [first.recordId], 'not-covered');
    await refuse(grants.all, [nth(otherRecords, 0).recordId], 'other-patient');
    const rows = await rowsOf(g.address);
    expect(rows.filter((r) => r.action === 'release')).toEqual(expected);
    // The other-patient refusal writes one row per patient concerned (no cross-patient leak).
    expect(rows.filter((r) => r.action !== 'release').map((r) => [r.action, r.outcome, r.reason])).toEqual([
      ['refusal', 'denied', 'no-stanza'],
      ['refusal', 'denied', 'not-covered'],
      ['refusal', 'denied', 'other-patient'],
      ['refusal', 'denied', 'other-patient'],
    ]);

    // The patient's own read: one row, no grant id.
    const own = await t.keyRequest({
      account: other.account,
      grantId: OWNER_GRANT,
      recordIds: [nth(otherRecords, 0).recordId],
    });
    const before = (await rowsOf(other.address)).length;
    const mine = await releaseKeys({ vault: t.vault, envelope: own });
    const after = await rowsOf(other.address);
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toEqual(
      expect.objectContaining({
        action: 'release',
        grantId: null,
        recordIds: [nth(otherRecords, 0).recordId],
        signature: own.signature.toLowerCase(),
      }),
    );
    expect(mine.accessLogId).toBeGreaterThan(0n);
  });
});

describe('releaseKeys: confirmations (T-5)', () => {
  it('T-5 a grant is released only once it has the configured confirmations', async () => {
    const t5 = await startVaultTestbed({ confirmations: 3 });
    try {
      const p = t5.newIdentity();
      const g = t5.newIdentity();
      const recs = await t5.publish({ patient: p, tags: [randomTag()] });
      const grantId = await t5.grant({ patient: p, grantee: g, scopeKind: ScopeKind.All, records: recs });
      const early = await t5.keyRequest({ account: g.account, grantId, recordIds: [nth(recs, 0).recordId] });
      const error = await releaseKeys({ vault: t5.vault, envelope: early }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(KeyReleaseRefusedError);
      expect((error as KeyReleaseRefusedError).reason).toBe('unconfirmed');
      await t5.mine(2);
      const later = await t5.keyRequest({ account: g.account, grantId, recordIds: [nth(recs, 0).recordId] });
      expect((await releaseKeys({ vault: t5.vault, envelope: later })).records).toHaveLength(1);
    } finally {
      await t5.stop();
    }
  });
});

describe('releaseKeys: the grantee check (T-7)', () => {
  it('T-7 the grantee check decides inside the release transaction, at the release head: a refusal is logged as credential-<reason>, nothing is released, the nonce stays usable; concurrent releases are each checked', async () => {
    const g = t.newIdentity();
    const grantId = await t.grant({ patient, grantee: g, scopeKind: ScopeKind.All, records });
    let allowed = false;
    const checked: { grantee: Hex; head: bigint | undefined; inTransaction: boolean }[] = [];
    const warmed: bigint[] = [];
    const check: GranteeCheck = async (who, head, sql) => {
      expect(sql).toBeDefined();
      // Two statements of one transaction see one transaction id; two outside any transaction, two ids.
      const id = async () =>
        (await (sql as SqlExecutor).query<{ id: bigint }>('select txid_current() as id')).rows[0]?.id;
      const first = await id();
      const second = await id();
      const inTransaction = first !== undefined && first === second;
      checked.push({ grantee: who, head: head?.number, inTransaction });
      return allowed ? undefined : 'no-credential';
    };
    check.warm = (head) => {
      warmed.push(head.number);
    };
    t.vault.checkGrantee = check;
    try {
      const recordIds = [nth(records, 0).recordId];
      const request = await t.keyRequest({ account: g.account, grantId, recordIds });
      expect(await refused(releaseKeys({ vault: t.vault, envelope: request }), g.address)).toBe(
        'credential-no-credential',
      );
      expect(checked).toEqual([{ grantee: g.address, head: expect.any(BigInt), inTransaction: true }]);
      expect(warmed).toEqual([checked[0]?.head]);
      // The refused request's nonce was not claimed: once the check passes, the same request is released.
      allowed = true;
      expect((await releaseKeys({ vault: t.vault, envelope: request })).records).toHaveLength(1);
      // Concurrent releases share group-committed transactions; each is checked inside one.
      const requests = await Promise.all(
        Array.from({ length: 6 }, () => t.keyRequest({ account: g.account, grantId, recordIds })),
      );
      allowed = false;
      const outcomes = await Promise.allSettled(
        requests.map((envelope) => releaseKeys({ vault: t.vault, envelope })),
      );
      expect(
        outcomes.every((o) => o.status === 'rejected' && o.reason instanceof KeyReleaseRefusedError),
      ).toBe(true);
      expect(checked).toHaveLength(8);
      expect(checked.every((c) => c.inTransaction && c.grantee === g.address)).toBe(true);
      // The owner reading its own records is never checked.
      const own = await t.keyRequest({ account: patient.account, grantId: OWNER_GRANT, recordIds });
      expect((await releaseKeys({ vault: t.vault, envelope: own })).records).toHaveLength(1);
      expect(checked).toHaveLength(8);
    } finally {
      t.vault.checkGrantee = undefined;
    }
  });
});

describe('releaseKeys: one batch of concurrent releases (R-6, T-1, F-2)', () => {
  /**
   * The vault over a store whose transactions record their statements, and whose next transaction can be held
   * open: releases arriving meanwhile queue, and go together into the transaction after it (one batch).
   */
  function recordingVault(fails?: (params: readonly unknown[]) => boolean) {
    const base = t.vault.sql;
    const transactions: string[][] = [];
    let hold: Promise<void> | undefined;
    let entered: () => void = () => {};
    const sql: Sql = {
      engine: base.engine,
      query: ((text, params) => base.query(text, params)) as Sql['query'],
      exec: (script) => base.exec(script),
      close: async () => {},
      transaction: (async (fn, options) => {
        const waitFor = hold;
        hold = undefined;
        entered();
        await waitFor;
        return base.transaction((tx) => {
          const statements: string[] = [];
          transactions.push(statements);
          return fn({
            query: ((text, params) => {
              statements.push(text);
              if (fails?.(params ?? [])) return tx.query('select 1 / 0');
              return tx.query(text, params);
            }) as SqlExecutor['query'],
            exec: (script) => tx.exec(script),
          });
        }, options);
      }) as Sql['transaction'],
    };
    return {
      vault: { ...t.vault, sql },
      transactions,
      /** Holds the next transaction until `release` is called; resolves once it is waiting. */
      holdNext: () => {
        let release: () => void = () => {};
        hold = new Promise<void>((resolve) => {
          release = resolve;
        });
        const waiting = new Promise<void>((resolve) => {
          entered = resolve;
        });
        return { waiting, release };
      },
    };
  }

  /** The audit rows of one signed request (by its signature), oldest first. */
  async function rowsSigned(signature: Hex) {
    const { rows } = await t.sql.query<{
      id: bigint;
      patient: Uint8Array;
      actor: Uint8Array;
      action: string;
      reason: string | null;
      record_ids: Uint8Array[];
    }>(
      `select id, patient, actor, action, reason, record_ids from access_log where signature = $1 order by id`,
      [hexToBytes(signature)],
    );
    return rows.map((r) => ({
      id: r.id,
      patient: bytesToHex(r.patient),
      actor: bytesToHex(r.actor),
      action: r.action,
      reason: r.reason,
      recordIds: r.record_ids.map((id) => bytesToHex(id)),
    }));
  }

  const claimedNonce = async (grantee: Hex, nonce: Hex) =>
    (
      await t.sql.query('select 1 from used_nonces where signer = $1 and nonce = $2', [
        hexToBytes(grantee),
        hexToBytes(nonce),
      ])
    ).rows.length === 1;

  it('R-6/T-1 a batch of allowed and refused requests for two patients shares two statements; each request gets exactly its own rows (one per patient concerned), the same nonce twice releases once, a refused request leaves its nonce usable', async () => {
    const [r0, r1] = [nth(records, 0), nth(records, 1)];
    const o0 = nth(otherRecords, 0);
    const g1 = t.newIdentity();
    const g2 = t.newIdentity();
    const g3 = t.newIdentity();
    const g4 = t.newIdentity();
    const grant1 = await t.grant({ patient, grantee: g1, scopeKind: ScopeKind.All, records: [r0] });
    const grant2 = await t.grant({ patient: other, grantee: g2, scopeKind: ScopeKind.All, records: [o0] });
    const grant3 = await t.grant({ patient, grantee: g3, scopeKind: ScopeKind.All, records: [r0] });
    const grant4 = await t.grant({
      patient,
      grantee: g4,
      scopeKind: ScopeKind.Records,
      scopeRecordIds: [r0.recordId],
      records: [r0],
    });
    const domain = {
      chainId: t.vault.chain.chainId,
      verifyingContract: t.vault.chain.contracts.consentRegistry,
    };
    const ask = (who: TestIdentity, grantId: Hex, recordIds: Hex[]) =>
      t.keyRequest({ account: who.account, grantId, recordIds });
    const leader = await ask(g1, grant1, [r0.recordId]);
    const allowedA = await ask(g1, grant1, [r0.recordId]);
    // Another request with allowedA's nonce (signed anew, another lifetime): of the two, exactly one releases.
    const again = {
      ...(allowedA.message as Omit<KeyRequest, 'issuedAt' | 'expiresAt'>),
      issuedAt: BigInt(allowedA.message.issuedAt as string),
      expiresAt: BigInt(allowedA.message.expiresAt as string) + 1n,
    };
    const sameNonce = keyRequestEnvelope(
      again,
      await g1.account.signTypedData(toKeyRequestTypedData(domain, again)),
    );
    const allowedB = await ask(g2, grant2, [o0.recordId]);
    const otherPatient = await ask(g1, grant1, [r0.recordId, o0.recordId]);
    const noStanza = await ask(g1, grant1, [r0.recordId, r1.recordId]);
    const uncredentialed = await ask(g3, grant3, [r0.recordId]);
    const scoped = await ask(g4, grant4, [r0.recordId]);
    const batch = {
      allowedA,
      sameNonce,
      allowedB,
      replayOfB: allowedB, // the same envelope twice in one batch
      otherPatient,
      noStanza,
      uncredentialed,
      scoped,
    };

    const { vault, transactions, holdNext } = recordingVault();
    let queued = 0;
    const check: GranteeCheck = async (who) => (who === g3.address ? 'no-credential' : undefined);
    check.warm = () => {
      queued += 1; // called just before the request joins the batch queue
    };
    vault.checkGrantee = check;
    const held = holdNext();
    const first = releaseKeys({ vault, envelope: leader });
    await held.waiting;
    const outcomes = Object.values(batch).map((envelope) =>
      releaseKeys({ vault, envelope }).then(
        (released) => released,
        (error: unknown) => error,
      ),
    );
    const deadline = Date.now() + 20_000;
    while (queued < 1 + outcomes.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    held.release();
    await first;
    const results = Object.fromEntries(Object.keys(batch).map((k, i) => [k, outcomes[i]]));
    await Promise.all(outcomes);
    const settled = Object.fromEntries(
      await Promise.all(Object.entries(results).map(async ([k, p]) => [k, await p] as const)),
    );

    // The leader alone, then the eight in one transaction, of two statements (one read, one write).
    expect(transactions).toHaveLength(2);
    expect(transactions[1]).toHaveLength(2);

    const released = (k: string) => settled[k] as Awaited<ReturnType<typeof releaseKeys>>;
    const isRefused = (k: string) => settled[k] instanceof KeyReleaseRefusedError;
    // Same nonce: exactly one of the two, whichever arrived first.
    expect([isRefused('allowedA'), isRefused('sameNonce')].sort()).toEqual([false, true]);
    const winner = isRefused('allowedA') ? 'sameNonce' : 'allowedA';
    const loser = winner === 'allowedA' ? 'sameNonce' : 'allowedA';
    expect((settled[loser] as KeyReleaseRefusedError).reason).toBe('replayed');
    expect((settled[loser] as Error).message).toBe('key release refused'); // T-15: uniform
    expect(released(winner).records.map((r) => r.recordId)).toEqual([r0.recordId]);
    // The same envelope twice: one released, one replayed.
    const twice = [settled.allowedB, settled.replayOfB];
    expect(twice.filter((o) => o instanceof KeyReleaseRefusedError)).toHaveLength(1);
    const releasedB = twice.find((o) => !(o instanceof Error)) as Awaited<ReturnType<typeof releaseKeys>>;
    expect(releasedB.records.map((r) => r.recordId)).toEqual([o0.recordId]);
    expect(released('scoped').records.map((r) => r.recordId)).toEqual([r0.recordId]);
    for (const [k, reason] of [
      ['otherPatient', 'other-patient'],
      ['noStanza', 'no-stanza'],
      ['uncredentialed', 'credential-no-credential'],
    ] as const)
      expect((settled[k] as KeyReleaseRefusedError).reason).toBe(reason);

    // Each request's rows: the release row it was given, naming its own patient, actor and records only.
    const a = patient.address.toLowerCase();
    const b = other.address.toLowerCase();
    const releaseRow = (who: TestIdentity, p: string, ids: Hex[]) => ({
      patient: p,
      actor: who.address.toLowerCase(),
      action: 'release',
      reason: null,
      recordIds: ids,
    });
    const refusalRow = (who: TestIdentity, p: string, reason: string, ids: Hex[]) => ({
      patient: p,
      actor: who.address.toLowerCase(),
      action: 'refusal',
      reason,
      recordIds: ids,
    });
    const winnerRows = await rowsSigned(batch[winner].signature);
    expect(winnerRows).toEqual([{ id: released(winner).accessLogId, ...releaseRow(g1, a, [r0.recordId]) }]);
    expect((await rowsSigned(batch[loser].signature)).map(({ id: _, ...r }) => r)).toEqual([
      refusalRow(g1, a, 'replayed', [r0.recordId]),
    ]);
    const rowsB = await rowsSigned(allowedB.signature);
    expect(rowsB.map(({ id: _, ...r }) => r).sort((x, y) => x.action.localeCompare(y.action))).toEqual([
      refusalRow(g2, b, 'replayed', [o0.recordId]),
      releaseRow(g2, b, [o0.recordId]),
    ]);
    expect(rowsB.find((r) => r.action === 'release')?.id).toBe(releasedB.accessLogId);
    expect(await rowsSigned(scoped.signature)).toEqual([
      { id: released('scoped').accessLogId, ...releaseRow(g4, a, [r0.recordId]) },
    ]);
    // One refusal row per patient concerned, each with only that patient's record (no cross-patient leak).
    expect(
      (await rowsSigned(otherPatient.signature))
        .map(({ id: _, ...r }) => r)
        .sort((x, y) => x.patient.localeCompare(y.patient)),
    ).toEqual(
      [
        refusalRow(g1, a, 'other-patient', [r0.recordId]),
        refusalRow(g1, b, 'other-patient', [o0.recordId]),
      ].sort((x, y) => x.patient.localeCompare(y.patient)),
    );
    expect((await rowsSigned(noStanza.signature)).map(({ id: _, ...r }) => r)).toEqual([
      refusalRow(g1, a, 'no-stanza', [r0.recordId, r1.recordId]),
    ]);
    expect((await rowsSigned(uncredentialed.signature)).map(({ id: _, ...r }) => r)).toEqual([
      refusalRow(g3, a, 'credential-no-credential', [r0.recordId]),
    ]);

    // Refused requests claimed nothing: once the check passes, the credential-refused request is released.
    expect(await claimedNonce(g1.address, noStanza.message.nonce as Hex)).toBe(false);
    expect(await claimedNonce(g3.address, uncredentialed.message.nonce as Hex)).toBe(false);
    expect(await claimedNonce(g1.address, allowedA.message.nonce as Hex)).toBe(true);
    vault.checkGrantee = undefined;
    expect((await releaseKeys({ vault, envelope: uncredentialed })).records).toHaveLength(1);
  });

  it('F-2 a batch whose write fails is run again request by request: only the failing request fails (as does one whose check throws), the others are logged and released', async () => {
    const r0 = nth(records, 0);
    const g = t.newIdentity();
    const gx = t.newIdentity();
    const grantId = await t.grant({ patient, grantee: g, scopeKind: ScopeKind.All, records: [r0] });
    const grantX = await t.grant({ patient, grantee: gx, scopeKind: ScopeKind.All, records: [r0] });
    const ask = () => t.keyRequest({ account: g.account, grantId, recordIds: [r0.recordId] });
    const [leader, ...rest] = await Promise.all(Array.from({ length: 5 }, ask));
    const broken = await t.keyRequest({ account: gx.account, grantId: grantX, recordIds: [r0.recordId] });
    const poisoned = nth(rest, 1);
    const requests = [...rest, broken];
    // The store refuses the write of any statement carrying the poisoned request's nonce (a real failed
    // statement: the transaction is aborted), and the check throws for gx.
    const poison = (poisoned.message.nonce as Hex).toLowerCase();
    const { vault, transactions, holdNext } = recordingVault((params) =>
      params.some(
        (p) => Array.isArray(p) && p.some((x) => x instanceof Uint8Array && bytesToHex(x) === poison),
      ),
    );
    let queued = 0;
    const check: GranteeCheck = async (who) => {
      if (who === gx.address) throw new Error('credential check unavailable');
      return undefined;
    };
    check.warm = () => {
      queued += 1;
    };
    vault.checkGrantee = check;
    const held = holdNext();
    const first = releaseKeys({ vault, envelope: nth([leader], 0) });
    await held.waiting;
    const outcomes = requests.map((envelope) =>
      releaseKeys({ vault, envelope }).then(
        (r) => r,
        (e: unknown) => e as Error,
      ),
    );
    const deadline = Date.now() + 20_000;
    while (queued < 1 + requests.length && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 5));
    held.release();
    await first;
    const settled = await Promise.all(outcomes);
    expect(settled[1]).toBeInstanceOf(QueryError);
    expect((settled[4] as Error).message).toBe('credential check unavailable');
    for (const i of [0, 2, 3]) {
      const released = settled[i] as Awaited<ReturnType<typeof releaseKeys>>;
      expect(released.records).toHaveLength(1);
      const rows = await rowsSigned(nth(requests, i).signature);
      expect(rows.map((r) => [r.id, r.action])).toEqual([[released.accessLogId, 'release']]);
    }
    expect(await rowsSigned(poisoned.signature)).toEqual([]);
    expect(await rowsSigned(broken.signature)).toEqual([]);
    expect(await claimedNonce(g.address, poisoned.message.nonce as Hex)).toBe(false);
    // The leader alone, the batch of five (rolled back), then each of the five alone.
    expect(transactions).toHaveLength(7);
  });
});
