/**
 * Break-glass on a real node (embedded anvil, PGlite, the HTTP API, the outbox): the patient's policy on chain, the
 * summary wrapped to the node's emergency key, a credentialed clinician opening it without the patient, the
 * refusals logged with nothing released (T-16), a storm of requests rate limited and listed for review (F-15),
 * notifications in the feed and by signed webhook with retries, webhook targets (T-21).
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBlobId } from '@carekey/sdk/blobs';
import { buildRecordTree, toPublishTypedData } from '@carekey/sdk/chain';
import { createNodeClient, NodeProblemError } from '@carekey/sdk/client';
import {
  decodeStanza,
  decryptPayload,
  encodeStanza,
  encryptPayload,
  unwrapFileKey,
  wrapFileKey,
  X25519Identity,
  X25519Recipient,
} from '@carekey/sdk/crypto';
import {
  createEmergencyClient,
  deriveAccessId,
  type EmergencyClient,
  emergencyAbi,
  toBreakGlassTypedData,
  toPolicyChangeTypedData,
} from '@carekey/sdk/emergency';
import {
  createIdentityClient,
  IssuerAction,
  issueCredential,
  presentCredential,
  signStatusList,
  toApprovalTypedData,
  toDid,
} from '@carekey/sdk/identity';
import { type Address, bytesToHex, encodeAbiParameters, type Hex, keccak256, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { getContractEvents } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../startNode.ts';
import { emergencyKeyPath, loadEmergencyKey } from './loadEmergencyKey.ts';
import { nextEmergencyKeyPath } from './rotateEmergencyKey.ts';
import { checkWebhookTarget } from './webhooks.ts';

const key = () => generatePrivateKey();
const govKey = key();
const boardKey = key();
const doctorKey = key();
const doctor2Key = key();
const gov = privateKeyToAccount(govKey);
const board = privateKeyToAccount(boardKey);
const doctor = privateKeyToAccount(doctorKey);
const doctor2 = privateKeyToAccount(doctor2Key);
const guardian = privateKeyToAccount(key());
const outsider = privateKeyToAccount(key());
const doctorX = X25519Identity.generate();
const IPS = JSON.stringify({ resourceType: 'Bundle', type: 'document', entry: [{ allergy: 'penicillin' }] });

type Patient = { account: LocalAccount; x25519: X25519Identity; summaryId: Hex; otherId: Hex };

let node: CarekeyNode;
let dir: string;
let chainId: number;
let listUri: string;
let doctorCredential: string;
let doctor2Credential: string;
const patients: Patient[] = [];
const hooks: { body: string; signature: string }[] = [];
let hookFailuresLeft = 1;
let hookServer: Server;
let hookUrl: string;

const nodeOf = (account: LocalAccount) => createNodeClient({ url: node.api.url, account });
const emergencyOf = (account: LocalAccount): EmergencyClient =>
  createEmergencyClient({ node: nodeOf(account), account });

async function problem(promise: Promise<unknown>): Promise<{ status: number; code: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NodeProblemError);
  return { status: (error as NodeProblemError).status, code: (error as NodeProblemError).code };
}

/** Publishes plaintexts as the patient's own records (one batch); returns their ids and file keys. */
async function publish(account: LocalAccount, x25519: X25519Identity, plaintexts: string[]) {
  const client = nodeOf(account);
  const prepared = await Promise.all(
    plaintexts.map(async (text) => {
      const { fileKey, payload } = encryptPayload({ plaintext: new TextEncoder().encode(text) });
      const { cid } = await client.putBlob(payload);
      const recordId = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
      const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
      const stanza = encodeStanza(await wrapFileKey({ fileKey, recipient: x25519.recipient }));
      const patientCommitment = keccak256(
        encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [account.address, salt]),
      );
      const categoryTag = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
      return {
        fileKey,
        record: { recordId, blobId: cid, categoryTag, salt, stanzas: [{ reader: account.address, stanza }] },
        leaf: { recordId, blobId: bytesToHex(parseBlobId(cid).digest), categoryTag, patientCommitment },
      };
    }),
  );
  const tree = buildRecordTree(prepared.map((p) => p.leaf));
  const description = await client.describe();
  const { nonce } = await client.call<{ nonce: string }>({
    method: 'GET',
    path: `/v1/nonces/${account.address}?contract=RecordRegistry`,
  });
  const deadline = BigInt(Math.floor(Date.now() / 1000) + 600);
  const signature = await account.signTypedData(
    toPublishTypedData({
      chainId: description.chainId,
      verifyingContract: description.contracts.recordRegistry,
      message: {
        publisher: account.address,
        root: tree.root,
        count: prepared.length,
        nonce: BigInt(nonce),
        deadline,
      },
    }),
  );
  await client.publishRecords({
    patient: account.address,
    records: prepared.map((p) => p.record),
    publish: { root: tree.root, count: prepared.length, nonce, deadline: deadline.toString(), signature },
  });
  return prepared.map((p) => ({ recordId: p.record.recordId, fileKey: p.fileKey }));
}

async function newPatient(policy: 'off' | 'summary' | 'all'): Promise<Patient> {
  const account = privateKeyToAccount(key());
  const x25519 = X25519Identity.generate();
  const [summary, other] = await publish(account, x25519, [IPS, '{"resourceType":"Observation"}']);
  if (summary === undefined || other === undefined) throw new Error('publish failed');
  const api = emergencyOf(account);
  const { recipient } = await api.info();
  const to = new X25519Recipient(recipient);
  await api.putStanzas({
    summary: {
      recordId: summary.recordId,
      stanza: encodeStanza(await wrapFileKey({ fileKey: summary.fileKey, recipient: to })),
    },
    records:
      policy === 'all'
        ? [
            {
              recordId: other.recordId,
              stanza: encodeStanza(await wrapFileKey({ fileKey: other.fileKey, recipient: to })),
            },
          ]
        : [],
  });
  if (policy !== 'off') expect((await api.setPolicy({ policy })).status).toBe('mined');
  const patient = { account, x25519, summaryId: summary.recordId, otherId: other.recordId };
  patients.push(patient);
  return patient;
}

async function presentation(credential: string, clinicianKey: Hex): Promise<string> {
  const challenge = await createIdentityClient({ url: node.api.url }).challenge();
  return presentCredential({
    credential,
    disclose: ['role', 'specialty', 'organisation'],
    privateKey: clinicianKey,
    audience: challenge.audience,
    nonce: challenge.nonce,
  });
}

async function open(
  patient: Patient,
  overrides: Partial<Parameters<EmergencyClient['open']>[0]> = {},
  who = doctor,
) {
  const credential = who === doctor2 ? doctor2Credential : doctorCredential;
  const clinicianKey = who === doctor2 ? doctor2Key : doctorKey;
  return emergencyOf(who).open({
    patient: patient.account.address,
    reason: 'unconscious on arrival, no relatives reachable',
    recipient: doctorX.recipient.toString(),
    presentation: await presentation(credential, clinicianKey),
    ...overrides,
  });
}

async function breakGlassRows(patient: Address) {
  const { rows } = await node.sql.query<{ outcome: string; reason: string | null; n: number }>(
    `select outcome, reason, cardinality(record_ids) as n from access_log
      where action = 'break_glass' and patient = $1 order by id`,
    [Buffer.from(patient.slice(2), 'hex')],
  );
  return rows;
}

async function accessCount(): Promise<number> {
  const { rows } = await node.sql.query<{ n: number }>('select count(*)::int as n from emergency_accesses');
  return Number(rows[0]?.n);
}

async function waitFor<value>(read: () => Promise<value | undefined>, ms = 30_000): Promise<value> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carekey-emergency-'));
  hookServer = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => {
      body += d.toString('utf8');
    });
    req.on('end', () => {
      if (hookFailuresLeft > 0) {
        hookFailuresLeft--;
        res.writeHead(500).end();
        return;
      }
      hooks.push({ body, signature: String(req.headers['carekey-signature']) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
  const address = hookServer.address();
  hookUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/hook`;
  node = await startNode({
    dataDir: dir,
    shredDelay: 0,
    chain: { port: 0, governance: { governors: [gov.address], threshold: 1 } } as NonNullable<
      StartNodeParameters['chain']
    >,
    api: { port: 0, portalDir: null },
    emergency: { perClinician: 4, flagAfter: 3, allowPrivateWebhooks: true, webhookRetryMs: 200 },
  });
  chainId = node.chain.chainId;
  const identity = createIdentityClient({ url: node.api.url });
  const config = await identity.resolverConfig();
  const standing = await identity.getIssuer(board.address, gov.address);
  const message = {
    governor: gov.address,
    action: IssuerAction.Add,
    issuer: board.address,
    epoch: BigInt(standing.epoch),
    nonce: BigInt(standing.governorNonce ?? '0'),
    deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
  };
  const signature = await gov.signTypedData(
    toApprovalTypedData({ chainId, verifyingContract: config.trustedIssuers, message }),
  );
  await identity.approveIssuer({
    ...message,
    epoch: message.epoch.toString(),
    nonce: message.nonce.toString(),
    deadline: message.deadline.toString(),
    signature,
  });
  listUri = `${node.api.url}/v1/status-lists/${board.address}/main`;
  await identity.publishStatusList(
    signStatusList({
      issuerDid: toDid({ address: board.address, chainId }),
      privateKey: boardKey,
      uri: listUri,
      statuses: [0, 0],
      iat: Math.floor(Date.now() / 1000) - 5,
    }),
  );
  const issue = (subject: Address, idx: number) =>
    issueCredential({
      issuerDid: toDid({ address: board.address, chainId }),
      privateKey: boardKey,
      issuerName: 'Medical Board Y',
      subjectDid: toDid({ address: subject, chainId }),
      claims: {
        role: 'physician',
        licence: 'MB-1',
        specialty: 'emergency medicine',
        organisation: 'Hospital X',
      },
      status: { uri: listUri, idx },
      expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    });
  doctorCredential = await issue(doctor.address, 0);
  doctor2Credential = await issue(doctor2.address, 1);
}, 240_000);

afterAll(async () => {
  await node?.stop();
  await new Promise((resolve) => hookServer?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('emergency key and policy', () => {
  it('T-10 T-11: the emergency key is created once in the data folder (0600), kept, and only its recipient is served', async () => {
    const info = await emergencyOf(outsider).info();
    expect(info.recipient).toMatch(/^age1[0-9a-z]+$/u);
    expect(info.contract).toBe(node.chain.deployment.contracts.emergency.address);
    expect(statSync(emergencyKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(loadEmergencyKey(dir).recipient.toString()).toBe(info.recipient);
    const openapi = await (await fetch(`${node.api.url}/openapi.json`)).text();
    expect(openapi).not.toContain('AGE-SECRET-KEY');
    expect(openapi).toContain('/v1/emergency/access');
  });

  it('T-6: the patient sets its policy by a relayed signature; a replay, another signer and bad stanzas are refused, nothing changed', async () => {
    const patient = await newPatient('summary');
    const api = emergencyOf(patient.account);
    const state = await api.policy(patient.account.address);
    expect(state).toMatchObject({
      policy: 'summary',
      nonce: '1',
      summary: { recordId: patient.summaryId },
      records: 0,
    });
    const chainPolicy = await node.chain.client.readContract({
      abi: emergencyAbi,
      address: node.chain.deployment.contracts.emergency.address,
      functionName: 'policyOf',
      args: [patient.account.address],
    });
    expect(chainPolicy).toBe(1);
    // The same signed change relayed again: its nonce is used.
    const info0 = await api.info();
    const change = {
      patient: patient.account.address,
      policy: 1,
      nonce: 1n,
      deadline: BigInt(Math.floor(Date.now() / 1000) + 600),
    };
    const body = {
      patient: change.patient,
      policy: 'summary',
      nonce: '1',
      deadline: change.deadline.toString(),
      signature: await patient.account.signTypedData(
        toPolicyChangeTypedData({ chainId, verifyingContract: info0.contract, message: change }),
      ),
    };
    const post = () =>
      fetch(`${node.api.url}/v1/emergency/policies`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(
        async (r) =>
          [r.status, ((await r.json()) as { code?: string; status?: string }).code ?? 'ok'] as const,
      );
    expect(await post()).toEqual([200, 'ok']);
    expect(await post()).toEqual([409, 'nonce-used']);
    // Another key signs for the patient: refused before anything is queued.
    const forged = createEmergencyClient({ node: nodeOf(outsider), account: outsider });
    expect(await problem(forged.setPolicy({ patient: patient.account.address, policy: 'off' }))).toEqual({
      status: 403,
      code: 'not-owner',
    });
    // A stanza not wrapped to the emergency key, and another patient's record.
    const wrong = encodeStanza(
      await wrapFileKey({ fileKey: new Uint8Array(16), recipient: X25519Identity.generate().recipient }),
    );
    expect(
      await problem(api.putStanzas({ summary: { recordId: patient.summaryId, stanza: wrong }, records: [] })),
    ).toEqual({
      status: 400,
      code: 'not-for-emergency-key',
    });
    const other = await newPatient('off');
    const info = await api.info();
    const foreign = encodeStanza(
      await wrapFileKey({ fileKey: new Uint8Array(16), recipient: new X25519Recipient(info.recipient) }),
    );
    expect(
      await problem(api.putStanzas({ summary: { recordId: other.summaryId, stanza: foreign }, records: [] })),
    ).toEqual({
      status: 403,
      code: 'not-your-record',
    });
    expect(await api.policy(patient.account.address)).toMatchObject({
      policy: 'summary',
      nonce: '2',
      summary: { recordId: patient.summaryId },
    });
  }, 120_000);
});

describe('emergency key rotation', () => {
  const stanzaRows = async () =>
    (
      await node.sql.query<{ record_id: Uint8Array; stanza: string }>(
        'select record_id, stanza from emergency_stanzas order by record_id',
      )
    ).rows;
  const opens = async (stanza: string, identity: X25519Identity) =>
    unwrapFileKey({ stanzas: [decodeStanza(stanza)], identities: [identity] }).then(
      () => true,
      () => false,
    );

  it('T-11 R-3: the node rotates its emergency key: every emergency stanza re-wrapped, the old key gone, break-glass works after it, a stanza for the old key refused; an interrupted rotation is finished first', async () => {
    const patient = await newPatient('all');
    const oldKey = loadEmergencyKey(dir);
    const before = await stanzaRows();
    expect(before.length).toBeGreaterThanOrEqual(2);
    const rotated = await node.rotateEmergencyKey();
    expect(rotated).toMatchObject({
      previousRecipient: oldKey.recipient.toString(),
      rewrapped: before.length,
      unreadable: 0,
    });
    const newKey = loadEmergencyKey(dir);
    expect(newKey.recipient.toString()).toBe(rotated.recipient);
    expect((await emergencyOf(outsider).info()).recipient).toBe(rotated.recipient);
    expect(readdirSync(join(dir, 'emergency'))).toEqual(['identity.key']);
    expect(statSync(emergencyKeyPath(dir)).mode & 0o777).toBe(0o600);
    for (const row of await stanzaRows()) {
      expect(await opens(row.stanza, oldKey)).toBe(false);
      expect(await opens(row.stanza, newKey)).toBe(true);
    }
    // A break-glass after the rotation opens the whole record set of an `all` patient.
    const access = await open(patient, { scope: 2 }, doctor2);
    expect(access.records).toHaveLength(2);
    const summary = access.records.find((r) => r.summary);
    if (summary === undefined) throw new Error('no summary');
    const fileKey = await unwrapFileKey({ stanzas: [decodeStanza(summary.stanza)], identities: [doctorX] });
    const payload = await nodeOf(doctor2).getBlob(summary.blobId);
    expect(new TextDecoder().decode(decryptPayload({ fileKey, payload }))).toBe(IPS);
    // A client still wrapping to the old key is refused; nothing changes.
    const stale = encodeStanza(await wrapFileKey({ fileKey, recipient: oldKey.recipient }));
    expect(
      await problem(
        emergencyOf(patient.account).putStanzas({
          summary: { recordId: patient.summaryId, stanza: stale },
          records: [],
        }),
      ),
    ).toEqual({ status: 400, code: 'not-for-emergency-key' });

    // A crash mid-rotation: the next key written, one stanza already re-wrapped to it. The next rotation (as the
    // next start would) finishes that one first, then rotates again; a half-written key file is just dropped.
    const crashed = X25519Identity.generate();
    writeFileSync(nextEmergencyKeyPath(dir), `${crashed.toString()}\n`, { mode: 0o600 });
    const first = (await stanzaRows())[0];
    if (first === undefined) throw new Error('no stanza');
    const firstKey = await unwrapFileKey({ stanzas: [decodeStanza(first.stanza)], identities: [newKey] });
    await node.sql.query('update emergency_stanzas set stanza = $2 where record_id = $1', [
      first.record_id,
      encodeStanza(await wrapFileKey({ fileKey: firstKey, recipient: crashed.recipient })),
    ]);
    const again = await node.rotateEmergencyKey();
    expect(again.previousRecipient).toBe(crashed.recipient.toString());
    const latest = loadEmergencyKey(dir);
    for (const row of await stanzaRows()) expect(await opens(row.stanza, latest)).toBe(true);
    writeFileSync(nextEmergencyKeyPath(dir), 'AGE-SECRET-KEY-1TRUNCATED', { mode: 0o600 });
    const third = await node.rotateEmergencyKey();
    expect(third.unreadable).toBe(0);
    expect(readdirSync(join(dir, 'emergency'))).toEqual(['identity.key']);
    for (const row of await stanzaRows()) expect(await opens(row.stanza, loadEmergencyKey(dir))).toBe(true);
  }, 120_000);
});

describe('break-glass', () => {
  it('R-3: a credentialed clinician opens the summary without the patient: re-wrapped to it, logged first, on chain, notified at once (feed + signed webhook, retried)', async () => {
    const patient = await newPatient('summary');
    const settings = await emergencyOf(patient.account).putNotificationSettings({
      guardians: [guardian.address],
      webhook: { url: hookUrl },
    });
    expect(settings.webhookSecret).toMatch(/^whsec_/u);
    const secret = settings.webhookSecret as string;
    const started = Date.now();
    const access = await open(patient);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(access.scope).toBe('summary');
    expect(new Date(access.expiresAt).getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
    expect(access.records).toHaveLength(1);
    const record = access.records[0];
    if (record === undefined) throw new Error('no record');
    expect(record).toMatchObject({ recordId: patient.summaryId, summary: true });
    const fileKey = await unwrapFileKey({ stanzas: [decodeStanza(record.stanza)], identities: [doctorX] });
    const payload = await nodeOf(doctor).getBlob(record.blobId);
    expect(new TextDecoder().decode(decryptPayload({ fileKey, payload }))).toBe(IPS);

    // Audit: one allowed break_glass row naming the record, visible to the patient.
    const audit = await nodeOf(patient.account).audit();
    const row = (
      audit as { entries: { action: string; outcome: string; actor: string; recordIds: string[] }[] }
    ).entries.find((e) => e.action === 'break_glass');
    expect(row).toMatchObject({ outcome: 'allowed', actor: doctor.address, recordIds: [patient.summaryId] });

    // On chain (through the outbox): one BreakGlass event with addresses, the random id, scope, expiry.
    const events = await waitFor(async () => {
      const logs = await getContractEvents(node.chain.client, {
        abi: emergencyAbi,
        address: node.chain.deployment.contracts.emergency.address,
        eventName: 'BreakGlass',
        fromBlock: 0n,
        args: { accessId: access.accessId },
      });
      return logs.length > 0 ? logs : undefined;
    });
    expect(events[0]?.args).toMatchObject({
      patient: patient.account.address,
      clinician: doctor.address,
      scope: 1,
    });

    // Feed: the patient and its guardian; nobody else.
    const mine = await emergencyOf(patient.account).notifications();
    expect(mine.notifications).toHaveLength(1);
    expect(mine.notifications[0]).toMatchObject({
      role: 'patient',
      accessId: access.accessId,
      clinician: doctor.address,
      issuerName: 'Medical Board Y',
      clinicianClaims: { specialty: 'emergency medicine', organisation: 'Hospital X' },
    });
    expect((await emergencyOf(guardian).notifications()).notifications[0]).toMatchObject({
      role: 'guardian',
      patient: patient.account.address,
    });
    expect((await emergencyOf(outsider).notifications()).notifications).toHaveLength(0);
    expect((await fetch(`${node.api.url}/v1/notifications`)).status).toBe(401);

    // Webhook: first attempt answered 500, retried, then delivered; signed; no reason, no claims, no record id.
    const hook = await waitFor(async () => hooks[0]);
    const [t, v1] = hook.signature.split(',').map((p) => p.split('=')[1]);
    expect(createHmac('sha256', secret).update(`${t}.${hook.body}`).digest('hex')).toBe(v1);
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'emergency.access', accessId: access.accessId });
    expect(hook.body).not.toContain('unconscious');
    expect(hook.body).not.toContain('Hospital');
    expect(hook.body).not.toContain(patient.summaryId.slice(2));
    const { rows } = await node.sql.query<{ attempts: number; status: string }>(
      'select attempts, status from webhook_deliveries',
    );
    expect(rows[0]).toMatchObject({ attempts: 2, status: 'delivered' });

    // Re-read by the clinician while it lasts (logged); nobody else may.
    expect((await emergencyOf(doctor).access(access.accessId)).records).toHaveLength(1);
    expect(await problem(emergencyOf(doctor2).access(access.accessId))).toEqual({
      status: 404,
      code: 'unknown-access',
    });
  }, 120_000);

  it('T-16: no credential, a revoked credential, policy off, purpose not ETREAT, scope beyond the policy, a replay: refused, logged, nothing released', async () => {
    const patient = await newPatient('summary');
    const before = await accessCount();
    const api = emergencyOf(doctor);
    const recipient = doctorX.recipient.toString();
    expect(await problem(api.open({ patient: patient.account.address, reason: 'x', recipient }))).toEqual({
      status: 403,
      code: 'no-credential',
    });
    expect(await problem(open(patient, { purpose: 'TREAT' }))).toEqual({
      status: 403,
      code: 'wrong-purpose',
    });
    expect(await problem(open(patient, { scope: 2 }))).toEqual({ status: 403, code: 'scope-not-allowed' });
    const off = await newPatient('off');
    expect(await problem(open(off))).toEqual({ status: 403, code: 'policy-off' });
    // A replayed request: the same signed body and presentation again.
    const body = {
      presentation: await presentation(doctor2Credential, doctor2Key),
      salt: bytesToHex(crypto.getRandomValues(new Uint8Array(32))),
    };
    await open(patient, body, doctor2);
    expect(await problem(open(patient, body, doctor2))).toEqual({ status: 409, code: 'replayed' });
    // doctor2's credential revoked by the board: refused.
    await createIdentityClient({ url: node.api.url }).publishStatusList(
      signStatusList({
        issuerDid: toDid({ address: board.address, chainId }),
        privateKey: boardKey,
        uri: listUri,
        statuses: [0, 1],
        iat: Math.floor(Date.now() / 1000),
      }),
    );
    expect(await problem(open(patient, {}, doctor2))).toEqual({ status: 403, code: 'credential-refused' });
    // An untrusted issuer's credential (the outsider issues one to the doctor).
    const rogue = await issueCredential({
      issuerDid: toDid({ address: outsider.address, chainId }),
      privateKey: generatePrivateKey(),
      issuerName: 'Nobody',
      subjectDid: toDid({ address: doctor.address, chainId }),
      claims: { role: 'physician', licence: 'X', specialty: 'any', organisation: 'None' },
      status: { uri: listUri, idx: 0 },
      expiresAt: Math.floor(Date.now() / 1000) + 3600,
    });
    expect(await problem(open(patient, { presentation: await presentation(rogue, doctorKey) }))).toEqual({
      status: 403,
      code: 'credential-refused',
    });
    expect(await accessCount()).toBe(before + 1); // only the one that was not a replay
    const rows = await breakGlassRows(patient.account.address);
    expect(rows.map((r) => [r.outcome, r.reason])).toEqual([
      ['denied', 'no-credential'],
      ['denied', 'wrong-purpose'],
      ['denied', 'scope-not-allowed'],
      ['allowed', 'emergency'],
      ['denied', 'replayed'],
      ['denied', 'credential:revoked'],
      ['denied', 'credential:untrusted-issuer'],
    ]);
    expect(rows.filter((r) => r.outcome === 'denied').every((r) => Number(r.n) === 0)).toBe(true);
    expect((await breakGlassRows(off.account.address)).map((r) => r.reason)).toEqual(['policy-off']);
    // Signed by another key than the clinician's: refused before anything (no verified actor to log).
    const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(32)));
    const now = BigInt(Math.floor(Date.now() / 1000));
    const forged = {
      clinician: doctor.address,
      patient: patient.account.address,
      scope: 1 as const,
      accessId: deriveAccessId({ salt, purpose: 'ETREAT', reason: 'x', recipient }),
      expiresAt: now + 3600n,
      deadline: now + 600n,
    };
    const signature = await outsider.signTypedData(
      toBreakGlassTypedData({
        chainId,
        verifyingContract: node.chain.deployment.contracts.emergency.address,
        message: forged,
      }),
    );
    const rowsBefore = (await breakGlassRows(patient.account.address)).length;
    const response = await fetch(`${node.api.url}/v1/emergency/access`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        clinician: doctor.address,
        patient: patient.account.address,
        scope: 'summary',
        purpose: 'ETREAT',
        reason: 'x',
        recipient,
        salt,
        expiresAt: forged.expiresAt.toString(),
        deadline: forged.deadline.toString(),
        signature,
      }),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { code: string }).code).toBe('bad-signature');
    expect((await breakGlassRows(patient.account.address)).length).toBe(rowsBefore);
  }, 120_000);

  it('F-15: a clinician scripting break-glass across patients is rate limited; every use is flagged for review and shown to each patient; none survive expiry', async () => {
    const targets = [await newPatient('all'), await newPatient('summary'), await newPatient('summary')];
    // doctor has used 1 of 4 so far; an `all` patient gets both records.
    const all = await open(targets[0] as Patient, { scope: 2, durationSeconds: 3 });
    expect(all.records.map((r) => r.summary)).toEqual([true, false]);
    const storm = await Promise.allSettled([1, 2, 1, 2, 1, 2].map((i) => open(targets[i] as Patient)));
    const granted = storm.filter((s) => s.status === 'fulfilled');
    const limited = storm.filter(
      (s) => s.status === 'rejected' && (s.reason as NodeProblemError).code === 'emergency-rate-limited',
    );
    const why = storm.map((s) =>
      s.status === 'fulfilled' ? 'granted' : String((s.reason as NodeProblemError).code ?? s.reason),
    );
    expect(granted, why.join(', ')).toHaveLength(2);
    expect(limited).toHaveLength(4);
    // Reviews: only governors; every use and refusal listed, the later uses and the limited refusals flagged.
    expect(await problem(emergencyOf(doctor).reviews())).toEqual({ status: 403, code: 'not-reviewer' });
    const { reviews } = await emergencyOf(gov).reviews();
    const ofDoctor = reviews.filter((r) => r.clinician === doctor.address);
    expect(ofDoctor.filter((r) => r.outcome === 'allowed')).toHaveLength(4);
    expect(ofDoctor.filter((r) => r.code === 'emergency-rate-limited' && r.flagged)).toHaveLength(4);
    expect(
      ofDoctor
        .filter((r) => r.outcome === 'allowed' && r.flagged)
        .map((r) => r.usesInWindow)
        .sort(),
    ).toEqual([3, 4]);
    const flagged = await emergencyOf(gov).reviews('?flagged=1');
    expect(flagged.reviews.every((r) => r.flagged)).toBe(true);
    // Each patient sees each use of its records (1 + the 2 granted in the storm).
    const seen = await Promise.all(
      targets.map(async (t) => (await emergencyOf(t.account).notifications()).notifications.length),
    );
    expect(seen.reduce((a, b) => a + b, 0)).toBe(3);
    // The short access expires: its re-read is refused and logged.
    await new Promise((r) =>
      setTimeout(r, Math.max(0, new Date(all.expiresAt).getTime() - Date.now() + 1_000)),
    );
    expect(await problem(emergencyOf(doctor).access(all.accessId))).toEqual({
      status: 403,
      code: 'access-expired',
    });
    expect((await breakGlassRows((targets[0] as Patient).account.address)).at(-1)?.reason).toBe(
      'access-expired',
    );
  }, 120_000);
});

describe('webhook targets (T-21)', () => {
  it('refuses private, loopback, link-local and non-https targets unless allowed for tests', async () => {
    for (const url of [
      'http://169.254.169.254/latest/meta-data',
      'https://169.254.169.254/',
      'https://localhost/hook',
      'https://127.0.0.1/hook',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://10.1.2.3/hook',
      'https://192.168.0.10/hook',
      'https://[fe80::1]/hook',
      'https://user:pass@example.org/hook',
      'ftp://example.org/hook',
      'not a url',
    ]) {
      await expect(checkWebhookTarget(url, false), url).rejects.toThrow(/webhook/u);
    }
    await expect(checkWebhookTarget('http://127.0.0.1:9/hook', true)).resolves.toMatchObject({
      address: '127.0.0.1',
    });
    await expect(checkWebhookTarget('https://93.184.215.14/hook', false)).resolves.toMatchObject({
      family: 4,
    });
  });
});
