import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { purposeOfUse, ScopeKind, toAccessRequestTypedData, toDenyTypedData } from '@carekey/sdk/chain';
import { createNodeClient, NodeProblemError } from '@carekey/sdk/client';
import { X25519Identity } from '@carekey/sdk/crypto';
import { type Hex, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { carekey, jsonOf } from './support/carekeyBin.ts';
import { oneLine, useCliTestBed } from './support/cliTestBed.ts';

// Issue 3: access requests end to end, untagged provider records tagged on sync, nonces from the node (a wallet
// restored on another device), share waiting for the ledger and revoking a grant still queued. One node.
const bed = useCliTestBed('requests-tags');
// In process (the binary's pass here is the restore on another device): the same commands, errors and exit codes.
const { run } = bed;
const P = '8b0f4c2e-1d5a-4a8e-9c1e-0f6f3e6b2a11';
const bundle = (value: number) => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: [
    { fullUrl: `urn:uuid:${P}`, resource: { resourceType: 'Patient', id: P, gender: 'female' } },
    {
      fullUrl: `urn:uuid:3c9d7a55-6e2b-4f0c-8a7d-2b1e9f4c6d2${value % 10}`,
      resource: {
        resourceType: 'Observation',
        id: `3c9d7a55-6e2b-4f0c-8a7d-2b1e9f4c6d2${value % 10}`,
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '2339-0', display: 'Glucose' }] },
        subject: { reference: `urn:uuid:${P}` },
        valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
      },
    },
  ],
});

let patient: { address: Hex; mnemonic: string };
let doctor: { address: Hex };
let hospital: { address: Hex };

describe('issue 3: untagged provider records, share --wait, nonces after a restore', () => {
  it('R-16 a hospital’s untagged lab result opens for a category grantee only after the patient’s sync tags it', async () => {
    patient = await jsonOf(await run('patient', 'init', '--json', '--scrypt-log-n', '15'));
    doctor = jsonOf(await run('doctor', 'init', '--json', '--scrypt-log-n', '15'));
    hospital = jsonOf(await run('hospital', 'init', '--json', '--scrypt-log-n', '15'));
    writeFileSync(join(bed.root, 'mine.json'), JSON.stringify(bundle(91)));
    jsonOf(await run('patient', 'import', join(bed.root, 'mine.json'), '--json'));

    // share waits until the grant is active on the ledger: no retry loop needed afterwards
    const shared = jsonOf<{ grantId?: string; scope: string }>(
      await run('patient', 'share', '--category', 'Observation', '--with', doctor.address, '--json'),
    );
    expect(shared.scope).toBe('categories');
    expect(shared.grantId).toMatch(/^0x[0-9a-f]{64}$/u);

    writeFileSync(join(bed.root, 'labs.json'), JSON.stringify(bundle(95)));
    const published = jsonOf<{ recordIds: Hex[] }>(
      await run('hospital', 'publish', '--for', patient.address, join(bed.root, 'labs.json'), '--json'),
    );
    const [hospitalPatient, hospitalLab] = published.recordIds as [Hex, Hex];

    // before the patient's sync: untagged and no stanza for the doctor — refused (fail closed)
    const before = await run('doctor', 'get', hospitalLab);
    expect(before.code).toBe(1);
    oneLine(before.stderr);

    const listed = jsonOf<{ synced: { added: number; tagged: number } }>(
      await run('patient', 'ls', '--json'),
    );
    expect(listed.synced).toMatchObject({ added: 2, tagged: 2 });
    // a second sync has nothing left to tag
    expect(jsonOf<{ synced: { tagged: number } }>(await run('patient', 'ls', '--json')).synced.tagged).toBe(
      0,
    );

    const after = await run('doctor', 'get', hospitalLab);
    expect(after.stderr).toBe('');
    expect(JSON.parse(after.stdout)).toMatchObject({
      resourceType: 'Observation',
      valueQuantity: { value: 95 },
    });
    // the hospital's Patient record is another category: still refused
    const other = await run('doctor', 'get', hospitalPatient);
    expect(other.code).toBe(1);
    oneLine(other.stderr);
  }, 900_000);

  it('POST /v1/records/tags: only the record’s patient, only untagged records, nothing changed on refusal', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url: bed.node.url, account: stranger });
    const hospitalRecord = jsonOf<{ records: { recordId: Hex; publisher: string }[] }>(
      await run('patient', 'ls', '--json', '--offline'),
    ).records.find((r) => r.publisher.toLowerCase() === hospital.address.toLowerCase())?.recordId as Hex;
    const refused = await client
      .tagRecords({ tags: [{ recordId: hospitalRecord, categoryTag: `0x${'11'.repeat(32)}` }] })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(NodeProblemError);
    expect(refused).toMatchObject({ status: 403, code: 'not-your-record' });
  });

  it('a wallet restored on another device signs with the node’s nonce (no local counter)', async () => {
    const restored = await carekey(
      ['init', '--restore', '--json', '--scrypt-log-n', '15'],
      bed.as('patient-laptop', { CAREKEY_MNEMONIC: patient.mnemonic }),
    );
    expect(jsonOf<{ address: string }>(restored).address).toBe(patient.address);
    const nonce = await createNodeClient({ url: bed.node.url }).call<{ nonce: string; chainNonce: string }>({
      method: 'GET',
      path: `/v1/nonces/${patient.address}?contract=ConsentRegistry`,
    });
    expect(Number(nonce.nonce)).toBeGreaterThan(0); // the first device already signed a grant
    const nurse = jsonOf<{ address: Hex }>(await run('nurse', 'init', '--json', '--scrypt-log-n', '15'));
    jsonOf(await run('patient-laptop', 'ls', '--json'));
    const shared = jsonOf<{ grantId?: string }>(
      await run('patient-laptop', 'share', '--all', '--with', nurse.address, '--json'),
    );
    expect(shared.grantId).toMatch(/^0x[0-9a-f]{64}$/u);
    const bad = await createNodeClient({ url: bed.node.url })
      .call({ method: 'GET', path: `/v1/nonces/${patient.address}?contract=Nope` })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400 });
  }, 600_000);

  it('revoke works on a grant still queued in the outbox (share --no-wait)', async () => {
    const nurse2 = jsonOf<{ address: Hex }>(await run('nurse2', 'init', '--json', '--scrypt-log-n', '15'));
    const shared = jsonOf<{ grantDigest: Hex; grantId?: string }>(
      await run('patient', 'share', '--all', '--with', nurse2.address, '--no-wait', '--json'),
    );
    expect(shared.grantId).toBeUndefined();
    const revoked = jsonOf<{ grantId: Hex; revoked: boolean }>(
      await run('patient', 'revoke', shared.grantDigest, '--json'),
    );
    expect(revoked.revoked).toBe(true);
    const { grants } = jsonOf<{ grants: { grantId: string; state: string }[] }>(
      await run('patient', 'grants', '--json'),
    );
    // the revocation is relayed after the grant; wait for the ledger to show it
    let state = grants.find((g) => g.grantId === revoked.grantId)?.state;
    for (let i = 0; i < 20 && state !== 'revoked'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      state = jsonOf<{ grants: { grantId: string; state: string }[] }>(
        await run('patient', 'grants', '--json'),
      ).grants.find((g) => g.grantId === revoked.grantId)?.state;
    }
    expect(state).toBe('revoked');
  }, 600_000);

  it('R-16 the patient’s sync tags a provider record for a category grant still queued in the outbox (share --no-wait): its grantee reads it once the grant lands', async () => {
    const nurse3 = jsonOf<{ address: Hex }>(await run('nurse3', 'init', '--json', '--scrypt-log-n', '15'));
    writeFileSync(join(bed.root, 'labs3.json'), JSON.stringify(bundle(93)));
    const published = jsonOf<{ recordIds: Hex[] }>(
      await run('hospital', 'publish', '--for', patient.address, join(bed.root, 'labs3.json'), '--json'),
    );
    const lab = published.recordIds[1] as Hex;
    await bed.node.node.outbox.stop(); // the grant stays queued while the patient's sync tags the record
    let shared: { grantDigest: Hex; grantId?: string };
    try {
      shared = jsonOf(
        await run(
          'patient',
          'share',
          '--category',
          'Observation',
          '--with',
          nurse3.address,
          '--no-wait',
          '--json',
        ),
      );
      expect(shared.grantId).toBeUndefined();
      const listed = jsonOf<{ synced: { tagged: number } }>(await run('patient', 'ls', '--json'));
      expect(listed.synced.tagged).toBe(2);
    } finally {
      bed.node.node.outbox.start();
    }
    const { rows } = await bed.node.node.sql.query(
      'select 1 from stanzas where record_id = $1 and reader = $2',
      [hexToBytes(lab), hexToBytes(nurse3.address)],
    );
    expect(rows).toHaveLength(1);
    let read = await run('nurse3', 'get', lab);
    for (let i = 0; i < 40 && read.code !== 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500)); // until the grant is mined and indexed
      read = await run('nurse3', 'get', lab);
    }
    expect(JSON.parse(read.stdout)).toMatchObject({
      resourceType: 'Observation',
      valueQuantity: { value: 93 },
    });
  }, 600_000);
});

describe('issue 3: access requests (docs/protocol.md flow 7)', () => {
  type Row = { requestId: Hex | null; status: string; categories?: string[]; reason?: string; role: string };
  const requestsOf = async (who: string) =>
    jsonOf<{ requests: Row[] }>(await run(who, 'requests', '--json')).requests;
  const until = async (who: string, id: Hex, status: string) => {
    let row = (await requestsOf(who)).find((r) => r.requestId === id);
    for (let i = 0; i < 20 && row?.status !== status; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      row = (await requestsOf(who)).find((r) => r.requestId === id);
    }
    return row;
  };

  it('a provider asks; the patient reads the sealed note, approves with a grant naming the request, denies another', async () => {
    // its own patient and provider, so this test also runs alone (-t)
    const patient = jsonOf<{ address: Hex }>(await run('patient7', 'init', '--json', '--scrypt-log-n', '15'));
    jsonOf(await run('doctor7', 'init', '--json', '--scrypt-log-n', '15'));
    writeFileSync(join(bed.root, 'mine7.json'), JSON.stringify(bundle(97)));
    jsonOf(await run('patient7', 'import', join(bed.root, 'mine7.json'), '--json'));
    const asked = jsonOf<{ requestId: Hex }>(
      await run(
        'doctor7',
        'request-access',
        '--patient',
        `did:ethr:0x7a69:${patient.address}`,
        '--category',
        'Observation',
        '--purpose',
        'TREAT',
        '--expires',
        '7d',
        '--reason',
        'follow-up of your glucose',
        '--json',
      ),
    );
    expect(asked.requestId).toMatch(/^0x[0-9a-f]{64}$/u);
    const row = (await until('patient7', asked.requestId, 'pending')) as Row;
    expect(row).toMatchObject({
      role: 'patient',
      status: 'pending',
      categories: ['Observation'],
      reason: 'follow-up of your glucose',
    });
    // the requester sees its request too, but cannot answer it
    const own = await run('doctor7', 'requests', 'approve', asked.requestId);
    expect(own.code).toBe(1);
    expect(own.stderr).toMatch(/not addressed to you/u);

    const approved = jsonOf<{ grantId?: Hex }>(
      await run('patient7', 'requests', 'approve', asked.requestId, '--json'),
    );
    expect(approved.grantId).toMatch(/^0x[0-9a-f]{64}$/u);
    expect((await until('patient7', asked.requestId, 'approved'))?.status).toBe('approved');
    const again = await run('patient7', 'requests', 'approve', asked.requestId);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is approved, not pending/u);

    const second = jsonOf<{ requestId: Hex }>(
      await run(
        'doctor7',
        'request-access',
        '--patient',
        patient.address,
        '--all',
        '--purpose',
        'HRESCH',
        '--expires',
        '1d',
        '--json',
      ),
    );
    await until('patient7', second.requestId, 'pending');
    jsonOf(await run('patient7', 'requests', 'deny', second.requestId, '--json'));
    expect((await until('patient7', second.requestId, 'denied'))?.status).toBe('denied');
    const denyAgain = await run('patient7', 'requests', 'deny', second.requestId);
    expect(denyAgain.code).toBe(1);
    oneLine(denyAgain.stderr);
  }, 900_000);

  it('bad input: unknown or malformed id, asking oneself, no --category/--all — a one-line error each', async () => {
    const unknown = await run('patient', 'requests', 'deny', `0x${'ab'.repeat(32)}`);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^carekey: unknown access request 0x(ab){32}/u);
    const malformed = await run('patient', 'requests', 'approve', '0x1234');
    expect(malformed.code).toBe(1);
    oneLine(malformed.stderr);
    const self = await run(
      'patient',
      'request-access',
      '--patient',
      patient.address,
      '--all',
      '--purpose',
      'TREAT',
      '--expires',
      '1d',
    );
    expect(self.code).toBe(1);
    expect(self.stderr).toMatch(/cannot ask yourself/u);
    const nothing = await run(
      'doctor',
      'request-access',
      '--patient',
      patient.address,
      '--purpose',
      'TREAT',
      '--expires',
      '1d',
    );
    expect(nothing.code).toBe(1);
    oneLine(nothing.stderr);
  }, 300_000);

  it('the node refuses a replayed, expired, forged or mis-sent request, someone else’s denial, a key-less requester; nothing changed', async () => {
    const d = await createNodeClient({ url: bed.node.url }).describe();
    const domain = { chainId: d.chainId, verifyingContract: d.contracts.consentRegistry };
    const provider = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url: bed.node.url, account: provider });
    const nonceOf = async (who: Hex) =>
      BigInt(
        (
          await client.call<{ nonce: string }>({
            method: 'GET',
            path: `/v1/nonces/${who}?contract=ConsentRegistry`,
          })
        ).nonce,
      );
    const now = BigInt(Math.floor(Date.now() / 1000));
    const sign = async (over: Partial<{ nonce: bigint; deadline: bigint; expiresAt: bigint }> = {}) => {
      const message = {
        requester: provider.address,
        patient: patient.address,
        scopeKind: ScopeKind.All,
        scopeData: [] as Hex[],
        purpose: purposeOfUse('TREAT'),
        expiresAt: over.expiresAt ?? now + 86_400n,
        nonce: over.nonce ?? (await nonceOf(provider.address)),
        deadline: over.deadline ?? now + 600n,
      };
      const signature = await provider.signTypedData(toAccessRequestTypedData({ ...domain, message }));
      return {
        request: {
          ...message,
          expiresAt: message.expiresAt.toString(),
          nonce: message.nonce.toString(),
          deadline: message.deadline.toString(),
          signature,
        },
      };
    };
    const refusal = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e);
    // no X25519 key on its DID: a grant could not be wrapped to it
    expect(await refusal(client.createAccessRequest(await sign()))).toMatchObject({
      status: 400,
      code: 'no-encryption-key',
    });
    await client.publishEncryptionKey({ recipient: X25519Identity.generate().recipient.toString() });

    const expired = await sign({ deadline: now - 10n });
    expect(await refusal(client.createAccessRequest(expired))).toMatchObject({
      status: 400,
      code: 'signature-expired',
    });
    const forged = await sign();
    forged.request.signature = (await privateKeyToAccount(generatePrivateKey()).signTypedData(
      toAccessRequestTypedData({
        ...domain,
        message: {
          ...forged.request,
          scopeData: [],
          expiresAt: BigInt(forged.request.expiresAt),
          nonce: BigInt(forged.request.nonce),
          deadline: BigInt(forged.request.deadline),
        },
      }),
    )) as Hex;
    expect(await refusal(client.createAccessRequest(forged))).toMatchObject({
      status: 403,
      code: 'not-owner',
    });
    // sent by someone who is not the requester
    const other = createNodeClient({ url: bed.node.url, account: privateKeyToAccount(generatePrivateKey()) });
    expect(await refusal(other.createAccessRequest(await sign()))).toMatchObject({
      status: 403,
      code: 'not-requester',
    });

    const good = await sign();
    const receipt = (await client.createAccessRequest(good)) as { requestDigest: Hex };
    expect(receipt.requestDigest).toMatch(/^0x[0-9a-f]{64}$/u);
    // the same signed request again: one write
    expect(await refusal(client.createAccessRequest(good))).toMatchObject({
      status: 409,
      code: 'request-exists',
    });

    // wait until the chain has it, then: a replayed nonce is refused before any gas is spent
    let requestId: Hex | null = null;
    for (let i = 0; i < 40 && requestId === null; i++) {
      const { requests } = await client.listAccessRequests();
      requestId = ((requests as { requestDigest: string; requestId: Hex | null }[]).find(
        (r) => r.requestDigest === receipt.requestDigest,
      )?.requestId ?? null) as Hex | null;
      if (requestId === null) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(requestId).toMatch(/^0x[0-9a-f]{64}$/u);
    // a used nonce on new terms (a replay of the nonce): refused before any gas is spent
    const replay = await sign({ nonce: BigInt(good.request.nonce), expiresAt: now + 90_000n });
    expect(await refusal(client.createAccessRequest(replay))).toMatchObject({
      status: 409,
      code: 'nonce-used',
    });
    // someone else (the provider itself) denying the patient's request: not the patient's owner
    const pNonce = await nonceOf(patient.address);
    const notMine = await provider.signTypedData(
      toDenyTypedData({
        ...domain,
        message: {
          patient: patient.address,
          requestId: requestId as Hex,
          nonce: pNonce,
          deadline: now + 600n,
        },
      }),
    );
    expect(
      await refusal(
        client.denyAccessRequest(requestId as Hex, {
          requestId,
          nonce: pNonce.toString(),
          deadline: (now + 600n).toString(),
          signature: notMine,
        }),
      ),
    ).toMatchObject({ status: 403, code: 'not-owner' });
    expect(
      await refusal(
        client.denyAccessRequest(`0x${'cd'.repeat(32)}`, {
          requestId: `0x${'cd'.repeat(32)}`,
          nonce: '0',
          deadline: (now + 600n).toString(),
          signature: notMine,
        }),
      ),
    ).toMatchObject({ status: 404, code: 'unknown-request' });
    // nothing changed: the request is still pending for the patient
    const rows = (await requestsOf('patient')).filter((r) => r.requestId === requestId);
    expect(rows.map((r) => r.status)).toEqual(['pending']);
  }, 600_000);
});
