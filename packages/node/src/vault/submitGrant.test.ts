import { buildRecordIdTree, purposeOfUse, ScopeKind, setEncryptionKey, signGrant } from '@carekey/sdk/chain';
import { encodeStanza, wrapFileKey, X25519Identity } from '@carekey/sdk/crypto';
import { VaultInputError } from '@carekey/sdk/errors';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SubmitGrantParameters, submitGrant } from './submitGrant.ts';
import {
  nth,
  randomTag,
  startVaultTestbed,
  type TestIdentity,
  type TestRecord,
  type VaultTestbed,
} from './testing/startVaultTestbed.ts';

let t: VaultTestbed;
beforeAll(async () => {
  t = await startVaultTestbed();
});
afterAll(async () => {
  await t?.stop();
});

async function counts(): Promise<string> {
  const parts = [];
  for (const table of ['stanzas', 'grant_submissions', 'scope_records', 'outbox', 'access_log']) {
    const { rows } = await t.sql.query<{ n: bigint }>(`select count(*) as n from ${table}`);
    parts.push(`${table}=${nth(rows, 0).n}`);
  }
  return parts.join(' ');
}

async function refusedWith(parameters: SubmitGrantParameters, code: string): Promise<void> {
  const before = await counts();
  const error = await submitGrant(parameters).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(VaultInputError);
  expect((error as VaultInputError).code).toBe(code);
  expect(await counts()).toBe(before);
}

async function grantParameters(options: {
  patient: TestIdentity;
  grantee: TestIdentity;
  scopeKind: ScopeKind;
  scopeData: readonly Hex[];
  records: readonly TestRecord[];
  signer?: TestIdentity;
  recipientKey?: X25519Identity;
}): Promise<SubmitGrantParameters> {
  const { patient, grantee } = options;
  const now = await t.chainTime();
  const signed = await signGrant({
    client: t.relayer,
    consentRegistry: t.vault.chain.contracts.consentRegistry,
    signer: (options.signer ?? patient).account,
    patient: patient.address,
    grantee: grantee.address,
    scopeKind: options.scopeKind,
    scopeData: options.scopeData,
    purpose: purposeOfUse('TREAT'),
    expiresAt: now + 3600n,
  });
  const key = options.recipientKey ?? grantee.x25519;
  const stanzas = [];
  for (const r of options.records) {
    stanzas.push({
      recordId: r.recordId,
      stanza: encodeStanza(await wrapFileKey({ fileKey: r.fileKey, recipient: key.recipient })),
    });
  }
  return {
    vault: t.vault,
    identity: patient.address,
    grant: { ...signed.message, signature: signed.signature },
    recipient: key.recipient.toString(),
    stanzas,
  };
}

describe('submitGrant', () => {
  it('refuses, changing nothing: another identity, a forged signature, others’ records, out-of-scope stanzas, a wrong scope root', async () => {
    const patient = t.newIdentity();
    const other = t.newIdentity();
    const grantee = t.newIdentity();
    const tag = randomTag();
    const records = await t.publish({ patient, tags: [tag, randomTag()] });
    const theirs = await t.publish({ patient: other, tags: [tag] });

    const ok = await grantParameters({
      patient,
      grantee,
      scopeKind: ScopeKind.Categories,
      scopeData: [tag],
      records: [nth(records, 0)],
    });
    await refusedWith({ ...ok, identity: other.address }, 'not-patient');
    await refusedWith(
      await grantParameters({
        patient,
        grantee,
        scopeKind: ScopeKind.All,
        scopeData: [],
        records,
        signer: other,
      }),
      'not-owner',
    );
    await refusedWith(
      await grantParameters({
        patient,
        grantee,
        scopeKind: ScopeKind.All,
        scopeData: [],
        records: [nth(theirs, 0)],
      }),
      'not-your-record',
    );
    await refusedWith(
      await grantParameters({ patient, grantee, scopeKind: ScopeKind.Categories, scopeData: [tag], records }),
      'not-in-scope',
    );
    const root = buildRecordIdTree([nth(records, 0).recordId]).root;
    const byRecord = await grantParameters({
      patient,
      grantee,
      scopeKind: ScopeKind.Records,
      scopeData: [root],
      records: [nth(records, 0)],
    });
    await refusedWith({ ...byRecord, scopeRecordIds: [nth(records, 1).recordId] }, 'scope-root-mismatch');
    await refusedWith(
      { ...ok, stanzas: [{ recordId: nth(records, 0).recordId, stanza: 'not a stanza' }] },
      'invalid-stanza',
    );

    const stored = await submitGrant(ok);
    expect(stored.recordIds).toEqual([nth(records, 0).recordId]);
    await refusedWith(ok, 'grant-exists');
  });

  it('the stanzas must be wrapped to the X25519 key the grantee published on its DID', async () => {
    const patient = t.newIdentity();
    const grantee = t.newIdentity();
    const records = await t.publish({ patient, tags: [randomTag()] });
    await setEncryptionKey({
      client: t.relayer,
      didRegistry: t.vault.chain.contracts.didRegistry,
      identity: grantee.address,
      signer: grantee.account,
      publicKey: grantee.x25519.recipient.publicKey,
    });
    await refusedWith(
      await grantParameters({
        patient,
        grantee,
        scopeKind: ScopeKind.All,
        scopeData: [],
        records,
        recipientKey: X25519Identity.generate(),
      }),
      'recipient-mismatch',
    );
    await submitGrant(
      await grantParameters({ patient, grantee, scopeKind: ScopeKind.All, scopeData: [], records }),
    );
  });
});
