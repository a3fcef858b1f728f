/**
 * The stolen phone (THREAT-MODEL T-17, T-6, T-18) and DID key rotation, through the CLI on a real node: guardians
 * approve a new key (relayed, signed), the delay holds, the key in control can cancel, then the DID answers to the
 * new device's key; its new X25519 key is published, the patient's own stanzas re-wrapped (the old ones deleted in
 * the vault), every record readable on the new device, and the thief's copy of the old wallet powerless: its key
 * requests, grants, revocations and publishes refused. Commands run in process; `recover finish` runs through the
 * binary once.
 */
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import { createNodeClient, NodeProblemError } from '@carekey/sdk/client';
import { categoryKey, categoryKeyId, categoryKeyToHex } from '@carekey/sdk/fhir';
import { type RecoveryApproval, sendRecoveryApproval } from '@carekey/sdk/recovery';
import { walletKeys } from '@carekey/sdk/wallet';
import { bytesToHex, type Hex, hexToBytes } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { unlockWalletSecrets } from '../src/home/walletStore.ts';
import { patientObservationBundle } from './support/bundles.ts';
import { jsonOf } from './support/carekeyBin.ts';
import { carekeyInProcess } from './support/carekeyInProcess.ts';
import { guardianArgs, PASS, useCliTestBed } from './support/cliTestBed.ts';

// The recovery delay is chain time: `advanceChainTime` moves past it instead of waiting, so it can be long enough
// that "the delay runs N s more" still holds on a loaded machine (3 s did not, between an approval and the check).
const DELAY = 60;
const bed = useCliTestBed('stolen');
const { root, as, run } = bed;
/** A refusal: exit 1, the last stderr line is one plain `carekey:` line. */
const refused = async (who: string, ...args: string[]) => {
  const r = await run(who, ...args);
  expect(r.code, r.stdout).toBe(1);
  const last = r.stderr.trimEnd().split('\n').at(-1) ?? '';
  expect(last).toMatch(/^carekey: \S/u);
  return last;
};
const init = async (who: string) => (await bed.init(who)).address;
const bundle = patientObservationBundle();
type Ls = { records: { recordId: Hex; resourceType: string }[] };
/** The bundle with other ids and another Observation (a record imported later, of the same category). */
const another = (patientPrefix: string, observationPrefix: string, text: string) =>
  JSON.stringify(
    patientObservationBundle(text, {
      patient: `${patientPrefix}-2f3d-4e5a-8b7c-6d5e4f3a2b1c`,
      observation: `${observationPrefix}-1e2f-4a3b-8c4d-5e6f7a8b9c0d`,
    }),
  );
/** The tag a record carries in the vault (its committed tag, or the one its patient assigned). */
async function tagOf(recordId: Hex): Promise<Hex> {
  const { rows } = await bed.node.node.sql.query<{ tag: Uint8Array }>(
    'select coalesce(assigned_tag, category_tag) as tag from records where record_id = $1',
    [hexToBytes(recordId)],
  );
  return bytesToHex(rows[0]?.tag as Uint8Array);
}
const observationOf = (records: Ls['records']) =>
  records.find((r) => r.resourceType === 'Observation')?.recordId as Hex;

async function ownStanzas(patient: `0x${string}`): Promise<Map<string, string>> {
  const { rows } = await bed.node.node.sql.query<{ record_id: Uint8Array; stanza: string }>(
    'select record_id, stanza from stanzas where reader = $1',
    [hexToBytes(patient)],
  );
  return new Map(rows.map((r) => [bytesToHex(r.record_id), r.stanza]));
}

async function refusedAttempts(): Promise<string[]> {
  const { rows } = await bed.node.node.sql.query<{ operation: string; reason: string }>(
    "select operation, reason from identity_attempts where outcome = 'refused' order by id",
  );
  return rows.map((r) => `${r.operation}:${r.reason}`);
}

describe('a stolen phone and DID key rotation (T-17, T-6)', () => {
  it('T-17 T-6 T-18: guardians move the identity to a new device after the delay; the owner can cancel; the thief ends powerless', async () => {
    const patient = await init('patient');
    const [g1, g2, g3, outsider, doctor, cardio] = [
      await init('g1'),
      await init('g2'),
      await init('g3'),
      await init('outsider'),
      await init('doctor'),
      await init('cardio'),
    ];
    writeFileSync(join(root, 'b.json'), JSON.stringify(bundle));
    jsonOf(await run('patient', 'import', join(root, 'b.json'), '--json'));
    const before = jsonOf<Ls>(await run('patient', 'ls', '--json')).records;
    expect(before).toHaveLength(2);
    const shared = jsonOf<{ grantId?: Hex }>(
      await run('patient', 'share', '--all', '--with', doctor, '--expires', '1h', '--json'),
    );
    // A category share made before the theft: it must keep covering what the patient imports after it.
    jsonOf(
      await run(
        'patient',
        'share',
        '--category',
        'Observation',
        '--with',
        cardio,
        '--expires',
        '1h',
        '--json',
      ),
    );
    const oldKey = walletKeys(await unlockWalletSecrets(homeOf('patient'), PASS)).privateKey;

    // Shares for the lost-phone path, then stolen-phone recovery on chain with the same guardians.
    const set = jsonOf<{ guardians: { address: string; file: string }[] }>(
      await run('patient', 'guardians', 'setup', ...guardianArgs([g1, g2, g3], 2), '--json'),
    );
    for (const [who, g] of [
      ['g1', g1],
      ['g2', g2],
      ['g3', g3],
    ] as const) {
      const file = set.guardians.find((x) => x.address === g)?.file as string;
      jsonOf(await run(who, 'guardian', 'keep', file, '--for', patient, '--json'));
    }
    expect(await refused('outsider', 'guardian', 'approve', '--for', patient, '--key', outsider)).toContain(
      'has not turned on stolen-phone recovery',
    );
    const enabled = jsonOf<{ enabled: boolean; controller: string; threshold: number }>(
      await run('patient', 'guardians', 'enable', '--delay', `${DELAY}s`, '--json'),
    );
    expect(enabled).toMatchObject({ enabled: true, controller: patient, threshold: 2 });
    // Nothing changes in how the patient works: the old key still reads and shares, through the account (ERC-1271).
    expect(jsonOf<Ls>(await run('patient', 'ls', '--json')).records).toHaveLength(2);

    // Two guardians collude to hand the identity to an outsider's key; the patient sees it and cancels in time.
    const colluding = jsonOf<{ approval: RecoveryApproval }>(
      await run('g1', 'guardian', 'approve', '--for', patient, '--key', outsider, '--json'),
    ).approval;
    // A non-guardian's approval, and a second one by the same guardian, are refused and logged.
    expect(await refused('outsider', 'guardian', 'approve', '--for', patient, '--key', outsider)).toContain(
      'not a guardian',
    );
    expect(await refused('g1', 'guardian', 'approve', '--for', patient, '--key', outsider)).toContain(
      'already approved',
    );
    jsonOf(await run('g2', 'guardian', 'approve', '--for', patient, '--key', outsider, '--json'));
    const status = await run('patient', 'guardians', 'status');
    expect(status.stdout).toContain('RECOVERY UNDER WAY');
    expect(status.stdout).toContain('guardians cancel');
    jsonOf(await run('patient', 'guardians', 'cancel', '--json'));
    // The cancelled round's approval, replayed, counts for nothing; after the delay nothing executes.
    const replay = await sendRecoveryApproval(createNodeClient({ url: bed.node.url }), colluding).catch(
      (e: unknown) => e,
    );
    expect(replay).toBeInstanceOf(NodeProblemError);
    expect((replay as NodeProblemError).code).toBe('stale-round');
    await bed.advanceChainTime(DELAY + 1);
    const execute = await fetch(`${bed.node.url}/v1/recovery/execute`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identity: patient }),
    });
    expect(execute.status).toBe(409);
    expect(((await execute.json()) as { code: string }).code).toBe('nothing-pending');
    expect(
      jsonOf<{ controller: string }>(await run('patient', 'guardians', 'status', '--json')).controller,
    ).toBe(patient);

    // The phone is stolen: the thief has the wallet folder. The patient starts over on a new device.
    cpSync(join(root, 'patient'), join(root, 'thief'), { recursive: true });
    rmSync(join(root, 'patient'), { recursive: true, force: true });
    const started = jsonOf<{ recipient: string; newKey: `0x${string}` }>(
      await run(
        'patient',
        'recover',
        'start',
        '--new-key',
        '--for',
        patient,
        '--scrypt-log-n',
        '15',
        '--json',
      ),
    );
    expect(started.newKey).not.toBe(patient);
    jsonOf(await run('g1', 'guardian', 'approve', '--for', patient, '--key', started.newKey, '--json'));
    for (const [who, out] of [
      ['g1', 's1.age'],
      ['g3', 's3.age'],
    ] as const) {
      jsonOf(
        await run(
          who,
          'guardian',
          'release',
          '--for',
          patient,
          '--to',
          started.recipient,
          '--out',
          join(root, out),
          '--json',
        ),
      );
    }
    const shares = [join(root, 's1.age'), join(root, 's3.age')];
    // One guardian alone is not enough: nothing changes.
    expect(await refused('patient', 'recover', 'finish', ...shares)).toContain(
      '1 of 2 guardians approved so far',
    );
    jsonOf(await run('g3', 'guardian', 'approve', '--for', patient, '--key', started.newKey, '--json'));
    expect(await refused('patient', 'recover', 'finish', ...shares)).toMatch(
      /the delay runs \d+ s more: nothing was changed/u,
    );
    const stanzasBefore = await ownStanzas(patient);
    expect(stanzasBefore.size).toBe(2);
    await bed.advanceChainTime(DELAY + 1);

    // Through the real binary once: the recovery executes, the new key is published, the stanzas re-wrapped.
    const finished = jsonOf<{ identity: string; key: string; rewrapped: number }>(
      await bed.spawn('patient', 'recover', 'finish', ...shares, '--json'),
    );
    expect(finished).toMatchObject({ identity: patient, key: started.newKey, rewrapped: 2 });
    const stanzasAfter = await ownStanzas(patient);
    for (const [id, stanza] of stanzasBefore) expect(stanzasAfter.get(id), id).not.toBe(stanza);
    const whoami = jsonOf<{ address: string; key: string; ageRecipient: string }>(
      await run('patient', 'whoami', '--json'),
    );
    expect(whoami).toMatchObject({ address: patient, key: started.newKey });
    expect((await createNodeClient({ url: bed.node.url }).getDid(patient)).recipient).toBe(
      whoami.ageRecipient,
    );

    // The patient on the new device reads every record.
    const after = jsonOf<Ls>(await run('patient', 'ls', '--json')).records;
    expect(after.map((r) => r.recordId).sort()).toEqual(before.map((r) => r.recordId).sort());
    for (const r of after) expect((await run('patient', 'get', r.recordId)).code).toBe(0);
    const observation = after.find((r) => r.resourceType === 'Observation')?.recordId as Hex;
    expect((await run('patient', 'get', observation)).stdout).toContain('haemoglobin');
    // The doctor's grant and stanzas were not touched.
    expect((await run('doctor', 'get', observation)).stdout).toContain('haemoglobin');
    // The category key came along (escrowed on the node, opened with the shares' phrase, kept in the new wallet):
    // a record imported on the new device gets the same tag, and the category share made before the theft covers it.
    expect((await unlockWalletSecrets(homeOf('patient'), PASS)).categoryKey).toBe(
      categoryKeyToHex(categoryKey(oldKey)),
    );
    writeFileSync(join(root, 'b2.json'), another('6e3d2c1a', '9f8e7d6c', 'ferritin'));
    jsonOf(await run('patient', 'import', join(root, 'b2.json'), '--json'));
    const imported = jsonOf<Ls>(await run('patient', 'ls', '--json')).records.filter(
      (r) => r.resourceType === 'Observation' && r.recordId !== observation,
    );
    expect(imported).toHaveLength(1);
    const later = imported[0]?.recordId as Hex;
    expect(await tagOf(later)).toBe(await tagOf(observation));
    expect((await run('cardio', 'get', later)).stdout).toContain('ferritin');
    expect((await run('cardio', 'get', observation)).stdout).toContain('haemoglobin');

    // The thief's key is powerless: node requests, key requests, grants, revocations, publishes (T-6).
    expect(await refused('thief', 'ls')).toMatch(/not-owner|current owner|not signed/u);
    expect(await refused('thief', 'share', '--all', '--with', outsider, '--expires', '1h')).toMatch(
      /carekey: /u,
    );
    if (shared.grantId !== undefined)
      expect(await refused('thief', 'revoke', shared.grantId)).toMatch(/carekey: /u);
    expect(await refused('thief', 'import', join(root, 'b.json'))).toMatch(/carekey: /u);
    const thiefKey = walletKeys(await unlockWalletSecrets({ ...homeOf('thief') }, PASS)).privateKey;
    const thief = createNodeClient({
      url: bed.node.url,
      account: privateKeyToAccount(thiefKey),
      identity: patient,
    });
    const release = await thief
      .releaseKeys({ grantId: ZERO_BYTES32, recordIds: [observation] })
      .catch((e: unknown) => e);
    expect((release as NodeProblemError).status).toBe(403);
    const { rows } = await bed.node.node.sql.query<{ reason: string }>(
      "select reason from access_log where action = 'refusal' order by id desc limit 1",
    );
    expect(rows[0]?.reason).toBe('not-owner');
    // And the thief cannot cancel or undo: the key in control is the new device's.
    expect(await refused('thief', 'guardians', 'cancel')).toContain(
      'no recovery of your identity is under way',
    );
    expect(
      jsonOf<{ controller: string }>(await run('patient', 'guardians', 'status', '--json')).controller,
    ).toBe(started.newKey);
    // The new key grants.
    jsonOf(await run('patient', 'share', '--all', '--with', outsider, '--expires', '1h', '--json'));

    // The feed: the patient (new key) and each guardian the contract names saw the recovery, start to finish.
    const feed = await run('patient', 'notifications');
    expect(feed.stdout).toContain('RECOVERY STARTED');
    expect(feed.stdout).toContain('RECOVERY CANCELLED');
    expect(feed.stdout).toMatch(new RegExp(`RECOVERY FINISHED .* now answers to key ${started.newKey}`, 'u'));
    expect((await run('g2', 'notifications')).stdout).toContain(`patient ${patient} now answers to key`);
    expect((await run('outsider', 'notifications')).stdout).toContain('No notifications.');
    // Guardians come from the Recovery contract: naming others is refused with one line, nothing stored.
    expect(await refused('patient', 'notifications', '--guardian', outsider)).toContain(
      'your Recovery contract names the guardians',
    );

    // Re-share the new phrase: anchored in the contract at a higher epoch; the old (stolen) phrase's shares no
    // longer count — a guardian cannot keep or release one.
    const reshared = jsonOf<{
      epoch: number;
      anchored: boolean;
      guardians: { address: string; file: string }[];
    }>(await run('patient', 'guardians', 'setup', ...guardianArgs([g1, g2, g3], 2), '--json'));
    expect(reshared).toMatchObject({ epoch: 2, anchored: true });
    // The old files went with the stolen phone (the thief's copy of the folder).
    const oldFile = (set.guardians.find((x) => x.address === g1)?.file ?? '').replace(
      join(root, 'patient'),
      join(root, 'thief'),
    );
    expect(await refused('g1', 'guardian', 'keep', oldFile, '--for', patient)).toContain('not of the set');
    jsonOf(
      await run(
        'g1',
        'guardian',
        'keep',
        reshared.guardians.find((x) => x.address === g1)?.file as string,
        '--for',
        patient,
        '--json',
      ),
    );
    expect(
      jsonOf<{ shareEpoch: number }>(await run('patient', 'guardians', 'status', '--json')).shareEpoch,
    ).toBe(2);

    const attempts = await refusedAttempts();
    for (const reason of [
      'recovery-approve:not-guardian',
      'recovery-approve:already-approved',
      'recovery-approve:stale-round',
      'recovery-execute:nothing-pending',
    ]) {
      expect(attempts).toContain(reason);
    }
  }, 300_000);

  it('T-6: did rotate: the old key can no longer grant, publish or ask for keys in any contract; the new one can; delegates come and go', async () => {
    const alice = await init('alice');
    const bob = await init('bob');
    const [carol, dave, erin] = [await init('carol'), await init('dave'), await init('erin')];
    writeFileSync(join(root, 'a.json'), JSON.stringify(bundle));
    jsonOf(await run('alice', 'import', join(root, 'a.json'), '--json'));
    const records = jsonOf<Ls>(await run('alice', 'ls', '--json')).records;
    const haemoglobin = observationOf(records);
    jsonOf(
      await run('alice', 'share', '--category', 'Observation', '--with', carol, '--expires', '1h', '--json'),
    );
    // A wallet of before the escrow (migration): no category key kept on the node, none in the wallet file. It tags
    // with the key derived from its own phrase, as it always did, and the rotation carries that one.
    await bed.node.node.sql.query('delete from category_keys where identity = $1', [hexToBytes(alice)]);
    const aliceKey = walletKeys(await unlockWalletSecrets(homeOf('alice'), PASS)).privateKey;
    expect((await unlockWalletSecrets(homeOf('alice'), PASS)).categoryKey).toBeUndefined();

    expect(await refused('alice', 'did', 'delegate', 'add', bob, '--type', 'nope')).toContain(
      'unknown delegate type',
    );
    jsonOf(await run('alice', 'did', 'delegate', 'add', bob, '--validity', '1h', '--json'));
    const did = `did:ethr:0x${bed.node.node.chain.chainId.toString(16)}:${alice}`;
    const resolved = await run('alice', 'did', 'resolve', did);
    expect(resolved.stdout.toLowerCase()).toContain(bob.toLowerCase());

    cpSync(join(root, 'alice'), join(root, 'alice-old'), { recursive: true });
    const rotated = jsonOf<{
      address: string;
      key: string;
      previousKey: string;
      rewrapped: number;
      mnemonic: string;
    }>(await run('alice', 'did', 'rotate', '--scrypt-log-n', '15', '--json'));
    expect(rotated).toMatchObject({ address: alice, previousKey: alice, rewrapped: 2 });
    expect(rotated.key).not.toBe(alice);
    expect(rotated.mnemonic.split(' ')).toHaveLength(24);
    const after = await run('alice', 'did', 'resolve', did, '--json');
    expect(JSON.parse(after.stdout).owner.toLowerCase()).toBe(rotated.key.toLowerCase());

    // The old key: every contract and the vault refuse it (ConsentRegistry grants, RecordRegistry publishes, keys).
    expect(await refused('alice-old', 'share', '--all', '--with', bob, '--expires', '1h')).toMatch(
      /carekey: /u,
    );
    expect(await refused('alice-old', 'import', join(root, 'a.json'))).toMatch(/carekey: /u);
    expect(await refused('alice-old', 'ls')).toMatch(/carekey: /u);
    expect(await refused('alice-old', 'did', 'delegate', 'revoke', bob)).toMatch(/carekey: /u);
    // The new key does all of it.
    for (const r of records) expect((await run('alice', 'get', r.recordId)).code).toBe(0);
    jsonOf(await run('alice', 'share', '--all', '--with', bob, '--expires', '1h', '--json'));
    writeFileSync(join(root, 'a2.json'), another('5d2c1b0f', '8b9c0d1e', 'ferritin'));
    jsonOf(await run('alice', 'import', join(root, 'a2.json'), '--json'));
    // R-16 across the rotation: the new record has the old tag, the category share made before covers it, and a
    // category share made after covers the record imported before.
    expect((await unlockWalletSecrets(homeOf('alice'), PASS)).categoryKey).toBe(
      categoryKeyToHex(categoryKey(aliceKey)),
    );
    const ferritin = jsonOf<Ls>(await run('alice', 'ls', '--json')).records.find(
      (r) => r.resourceType === 'Observation' && r.recordId !== haemoglobin,
    )?.recordId as Hex;
    expect(await tagOf(ferritin)).toBe(await tagOf(haemoglobin));
    expect((await run('carol', 'get', ferritin)).stdout).toContain('ferritin');
    jsonOf(
      await run('alice', 'share', '--category', 'Observation', '--with', dave, '--expires', '1h', '--json'),
    );
    expect((await run('dave', 'get', haemoglobin)).stdout).toContain('haemoglobin');
    expect((await run('dave', 'get', ferritin)).stdout).toContain('ferritin');
    const { rows: kept } = await bed.node.node.sql.query<{ key_id: Uint8Array }>(
      'select key_id from category_keys where identity = $1',
      [hexToBytes(alice)],
    );
    expect(bytesToHex(kept[0]?.key_id as Uint8Array)).toBe(categoryKeyId(categoryKey(aliceKey)));
    jsonOf(await run('alice', 'did', 'delegate', 'revoke', bob, '--json'));
    // The new phrase restores the wallet elsewhere for the same identity (and only for an identity it acts for).
    const restore = (who: string, ...more: string[]) =>
      carekeyInProcess(['init', '--restore', '--scrypt-log-n', '15', '--json', ...more], {
        ...as(who),
        CAREKEY_MNEMONIC: rotated.mnemonic,
      });
    const wrong = await restore('alice-bad', '--for', bob);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`does not act for ${bob}`);
    expect(
      jsonOf<{ address: string; key: string }>(await restore('alice-restored', '--for', alice)),
    ).toMatchObject({
      address: alice,
      key: rotated.key,
    });
    expect(jsonOf<Ls>(await run('alice-restored', 'ls', '--json')).records.length).toBeGreaterThanOrEqual(3);
    // Restored from the new phrase on another machine: the same category key (from the node's escrow), the same tags.
    expect((await unlockWalletSecrets(homeOf('alice-restored'), PASS)).categoryKey).toBe(
      categoryKeyToHex(categoryKey(aliceKey)),
    );
    jsonOf(
      await run(
        'alice-restored',
        'share',
        '--category',
        'Observation',
        '--with',
        erin,
        '--expires',
        '1h',
        '--json',
      ),
    );
    expect((await run('erin', 'get', haemoglobin)).stdout).toContain('haemoglobin');
    expect((await run('erin', 'get', ferritin)).stdout).toContain('ferritin');
    expect(jsonOf<Ls>(await run('alice', 'ls', '--json')).records.length).toBeGreaterThanOrEqual(3);
  }, 240_000);
});

function homeOf(who: string) {
  const dir = join(root, who);
  return {
    dir,
    walletFile: join(dir, 'wallet.age'),
    publicFile: join(dir, 'wallet.json'),
    recordsDir: join(dir, 'records'),
  };
}
