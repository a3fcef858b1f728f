import { ScopeKind } from '@carekey/sdk/chain';
import { KeyReleaseRefusedError } from '@carekey/sdk/errors';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listGrants } from './listGrants.ts';
import { listRecords } from './listRecords.ts';
import { listShared } from './listShared.ts';
import { readAudit } from './readAudit.ts';
import { releaseKeys } from './releaseKeys.ts';
import { nth, randomTag, startVaultTestbed, type VaultTestbed } from './testing/startVaultTestbed.ts';

let t: VaultTestbed;
beforeAll(async () => {
  t = await startVaultTestbed();
});
afterAll(async () => {
  await t?.stop();
});

describe('audit and listings', () => {
  it('R-17 the patient’s audit lists publish, grant, release and refusal rows with who, when and which records; filters and pages', async () => {
    const patient = t.newIdentity();
    const grantee = t.newIdentity();
    const tag = randomTag();
    const records = await t.publish({ patient, tags: [tag, randomTag()] });
    const grantId = await t.grant({
      patient,
      grantee,
      scopeKind: ScopeKind.Categories,
      scopeData: [tag],
      records: [nth(records, 0)],
    });
    await releaseKeys({
      vault: t.vault,
      envelope: await t.keyRequest({
        account: grantee.account,
        grantId,
        recordIds: [nth(records, 0).recordId],
      }),
    });
    await releaseKeys({
      vault: t.vault,
      envelope: await t.keyRequest({
        account: grantee.account,
        grantId,
        recordIds: [nth(records, 1).recordId],
      }),
    }).catch((e: unknown) => expect(e).toBeInstanceOf(KeyReleaseRefusedError));

    const all = await readAudit({ vault: t.vault, patient: patient.address });
    expect(all.entries.map((e) => e.action)).toEqual(['publish', 'grant', 'release', 'refusal']);
    const release = nth(all.entries, 2);
    expect(release).toMatchObject({
      actor: grantee.address,
      grantId,
      outcome: 'allowed',
      recordIds: [nth(records, 0).recordId],
    });
    expect(Date.parse(release.at)).toBeGreaterThan(Date.now() - 600_000);
    expect(nth(all.entries, 3)).toMatchObject({ outcome: 'denied', reason: 'not-covered' });

    const byGrantee = await readAudit({ vault: t.vault, patient: patient.address, actor: grantee.address });
    expect(byGrantee.entries.map((e) => e.action)).toEqual(['release', 'refusal']);
    const first = await readAudit({ vault: t.vault, patient: patient.address, limit: 3 });
    expect(first.entries).toHaveLength(3);
    const second = await readAudit({
      vault: t.vault,
      patient: patient.address,
      limit: 3,
      after: first.next ?? undefined,
    });
    expect(second.entries.map((e) => e.action)).toEqual(['refusal']);
    expect(second.next).toBeNull();
    const future = await readAudit({
      vault: t.vault,
      patient: patient.address,
      from: new Date(Date.now() + 3_600_000),
    });
    expect(future.entries).toEqual([]);
    // Nobody else's history leaks in.
    expect((await readAudit({ vault: t.vault, patient: grantee.address })).entries).toEqual([]);

    const listed = await listRecords({ vault: t.vault, patient: patient.address });
    expect(new Set(listed.map((r) => r.recordId))).toEqual(new Set(records.map((r) => r.recordId)));
    expect(
      listed.every((r) => r.state === 'active' && r.publisher === patient.address && r.batchRoot !== null),
    ).toBe(true);

    const asPatient = await listGrants({ vault: t.vault, identity: patient.address });
    expect(asPatient.grants.map((g) => [g.grantId, g.role, g.state])).toEqual([
      [grantId, 'patient', 'active'],
    ]);
    const asGrantee = await listGrants({ vault: t.vault, identity: grantee.address });
    expect(asGrantee.grants.map((g) => [g.grantId, g.role, g.state])).toEqual([
      [grantId, 'grantee', 'active'],
    ]);
    const shared = await listShared({ vault: t.vault, grantee: grantee.address });
    expect(shared.map((s) => [s.grantId, s.recordId])).toEqual([[grantId, nth(records, 0).recordId]]);
  });

  it('R-16 a category grant never releases another category (property over random category assignments, live chain)', async () => {
    const categories = [randomTag(), randomTag(), randomTag()];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
        fc.subarray([0, 1, 2], { minLength: 1 }),
        async (assignment, granted) => {
          const patient = t.newIdentity();
          const grantee = t.newIdentity();
          // Index 3 = untagged (zero tag, as a provider publishes it).
          const tags = assignment.map((c) => categories[c] ?? (`0x${'00'.repeat(32)}` as const));
          const records = await t.publish({ patient, tags });
          const scope = granted.map((c) => nth(categories, c));
          // The patient uploads stanzas only for what the grant covers; the vault must still refuse the rest.
          const covered = records.filter((r) => scope.includes(r.categoryTag));
          const grantId = await t.grant({
            patient,
            grantee,
            scopeKind: ScopeKind.Categories,
            scopeData: scope,
            records: covered,
          });
          for (const record of records) {
            const outcome = await releaseKeys({
              vault: t.vault,
              envelope: await t.keyRequest({
                account: grantee.account,
                grantId,
                recordIds: [record.recordId],
              }),
            }).then(
              () => 'released',
              (e: unknown) => (e instanceof KeyReleaseRefusedError ? 'refused' : 'error'),
            );
            expect(outcome).toBe(scope.includes(record.categoryTag) ? 'released' : 'refused');
          }
        },
      ),
      { numRuns: 8 },
    );
  });
});
