import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateFhir } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import type { Bundle, Consent, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type Session } from '../src/commands/openSession.ts';
import { issueGatewayToken } from '../src/gateway/auth/gatewayToken.ts';
import { createGatewayServer, type GatewayServer } from '../src/gateway/server/createGatewayServer.ts';
import {
  type GatewayStore,
  gatewayStoreFile,
  openGatewayStore,
} from '../src/gateway/store/openGatewayStore.ts';
import { carekey, jsonOf } from './support/carekeyBin.ts';
import { startTestNode, type TestNode } from './support/startTestNode.ts';

const PASS = 'a long passphrase';
const BUNDLE = join(
  import.meta.dirname,
  '../../../../shared/data/synthea/bundles/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json',
);
const PATIENT_ID = 'd78af07c-9cb9-4f31-9b11-c45a28f2eec8';
const CONDITION_ID = '0c948634-9289-4c36-bcfc-6ffa49351290';
const ZERO = `0x${'0'.repeat(64)}`;
const root = mkdtempSync(join(tmpdir(), 'carekey-gateway-'));
let nodeA: TestNode;
let nodeB: TestNode | undefined;
let mnemonic: string;
let doctorAddress: string;
let patient: Session;
let store: GatewayStore;
let server: GatewayServer | undefined;

const as = (who: string, node: TestNode = nodeA) => ({
  CAREKEY_HOME: join(root, who),
  CAREKEY_PASSPHRASE: PASS,
  CAREKEY_NODE: node.url,
});
const run = (who: string, ...args: string[]) => carekey(args, as(who));
const oneLine = (stderr: string) => expect(stderr).toMatch(/^carekey: [^\n]+\n$/u);

/** The wallet of `who`, unlocked in this process (as the gateway process does). */
async function sessionOf(who: string, node: TestNode = nodeA): Promise<Session> {
  Object.assign(process.env, as(who, node));
  return openSession();
}

async function validFhir(resource: Resource): Promise<void> {
  await validateFhir({ input: resource, definitions: { sources: nodeR4DefinitionSources } });
}

beforeAll(async () => {
  nodeA = await startTestNode();
  const init = jsonOf<{ mnemonic: string }>(await run('patient', 'init', '--json', '--scrypt-log-n', '15'));
  mnemonic = init.mnemonic;
  doctorAddress = jsonOf<{ address: string }>(
    await run('doctor', 'init', '--json', '--scrypt-log-n', '15'),
  ).address;
  expect(jsonOf<{ imported: number }>(await run('patient', 'import', BUNDLE, '--json')).imported).toBe(70);
  patient = await sessionOf('patient');
  store = await openGatewayStore(patient);
}, 600_000);
afterAll(async () => {
  await server?.close();
  await nodeA?.stop();
  await nodeB?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('gateway store', () => {
  it('R-16, T-4, R-5: the patient and a grantee sync, verify and decrypt what they may read; a revoked grant empties the grantee store; nothing in clear at rest', async () => {
    expect(await store.sync(patient)).toEqual({ added: 70, removed: 0, total: 70, files: 0 });
    expect(store.search({ resourceType: 'Observation' })).toHaveLength(48);
    const hemoglobin = store.search({ code: 'http://loinc.org|718-7' });
    expect(hemoglobin.map((r) => r.clinicalDate?.slice(0, 4))).toEqual(['2012', '2018']);
    expect(hemoglobin.every((r) => r.grantId === ZERO && r.patient === patient.keys.address)).toBe(true);
    expect(hemoglobin[0]?.custodian).toMatch(/^did:ethr:0x[0-9a-f]+:0x[0-9a-fA-F]{40}$/u);
    expect(store.search({ category: 'laboratory' })).toHaveLength(30);
    expect(store.search({ category: 'Observation|vital-signs' })).toHaveLength(15);
    expect(
      store.search({ dateFrom: '2015', dateTo: '2015' }).every((r) => r.clinicalDate?.startsWith('2015')),
    ).toBe(true);
    const dated = store
      .all()
      .filter((r) => r.clinicalDate !== null)
      .map((r) => Date.parse(r.clinicalDate as string));
    expect(dated).toEqual([...dated].sort((a, b) => a - b));
    expect(store.get('Patient', PATIENT_ID)?.resourceType).toBe('Patient');
    expect(() => store.search({ dateFrom: '2019-02-30' })).toThrow(/not a FHIR date/u);
    expect(await store.sync(patient)).toEqual({ added: 0, removed: 0, total: 70, files: 0 });
    const reopened = await openGatewayStore(patient);
    expect(reopened.all().map((r) => r.sha256)).toEqual(store.all().map((r) => r.sha256));
    const atRest = readFileSync(gatewayStoreFile(patient.home));
    expect(new TextDecoder().decode(atRest.subarray(0, 22))).toBe('age-encryption.org/v1\n');
    expect(atRest.includes(Buffer.from('Kreiger'))).toBe(false);
    expect(atRest.includes(Buffer.from('718-7'))).toBe(false);

    jsonOf(await run('patient', 'share', '--category', 'Observation', '--with', doctorAddress, '--json'));
    const doctor = await sessionOf('doctor');
    const theirs = await openGatewayStore(doctor);
    expect((await theirs.sync(doctor)).total).toBe(48);
    expect(
      theirs.all().every((r) => r.resourceType === 'Observation' && r.patient === patient.keys.address),
    ).toBe(true);
    const grantId = theirs.all()[0]?.grantId as string;
    expect(grantId).toMatch(/^0x[0-9a-f]{64}$/u);
    expect(grantId).not.toBe(ZERO);
    const mine = new Map(store.search({ resourceType: 'Observation' }).map((r) => [r.recordId, r.sha256]));
    for (const r of theirs.all()) expect(r.sha256).toBe(mine.get(r.recordId));
    // Each key release of the sync is in the patient's access log.
    const audit = jsonOf<{ entries: { actor: string; action: string; recordIds: string[] }[] }>(
      await run('patient', 'audit', '--json'),
    );
    const released = audit.entries.filter(
      (e) => e.action === 'release' && e.actor.toLowerCase() === doctorAddress.toLowerCase(),
    );
    expect(released.flatMap((e) => e.recordIds)).toHaveLength(48);

    jsonOf(await run('patient', 'revoke', grantId, '--json'));
    expect(await theirs.sync(doctor)).toMatchObject({ added: 0, removed: 48, total: 0 });
    expect((await openGatewayStore(doctor)).all()).toHaveLength(0);
    // Another wallet cannot open the doctor's store.
    await expect(openGatewayStore({ home: doctor.home, keys: patient.keys })).rejects.toThrow(
      /cannot be read/u,
    );
    patient = await sessionOf('patient');
  }, 600_000);
});

describe('gateway FHIR API', () => {
  let user: string;
  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${server?.url}${path}`, {
      headers: { ...(token === undefined ? {} : { authorization: `Bearer ${token}` }), ...headers },
    });
  const json = async <value>(response: Response, status = 200): Promise<value> => {
    const body = (await response.json()) as value;
    expect({ status: response.status, body }).toMatchObject({ status });
    return body;
  };
  const token = async (
    scope: string,
    extra: { patient?: string; client?: string; expiresIn?: number } = {},
  ) =>
    (
      await issueGatewayToken({
        privateKey: patient.keys.privateKey,
        owner: patient.keys.address,
        client: extra.client ?? 'test-app',
        scope,
        patient: extra.patient,
        expiresIn: extra.expiresIn ?? 600,
      })
    ).token;

  beforeAll(async () => {
    server = await createGatewayServer({ session: patient, store, port: 0, syncIntervalMs: 0 });
    const cli = jsonOf<{ token: string }>(
      await run('patient', 'gateway', 'token', '--scope', 'user/*.rs', '--client', 'ehr', '--json'),
    );
    user = cli.token;
  }, 240_000);

  it('T-8, T-21: serves a valid CapabilityStatement; refuses missing, malformed, alg=none, altered, foreign and expired tokens (401, logged) and foreign Host headers', async () => {
    const metadata = await json<Resource>(await get('/metadata'));
    expect(metadata).toMatchObject({
      resourceType: 'CapabilityStatement',
      fhirVersion: '4.0.1',
      kind: 'instance',
    });
    await validFhir(metadata);

    const none = await get('/Observation');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/u);
    expect((await json<OperationOutcome>(none, 401)).issue[0]?.code).toBe('login');
    expect((await json<OperationOutcome>(await get('/Observation', 'not.a.jwt'), 401)).issue[0]?.code).toBe(
      'login',
    );
    expect(
      (await json<OperationOutcome>(await get('/Observation', undefined, { authorization: 'Basic x' }), 401))
        .issue[0]?.code,
    ).toBe('login');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const claims = JSON.parse(Buffer.from(user.split('.')[1] as string, 'base64url').toString()) as object;
    const algNone = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    expect((await json<OperationOutcome>(await get('/Observation', algNone), 401)).issue[0]?.code).toBe(
      'login',
    );
    const widened = `${user.split('.')[0]}.${b64({ ...claims, scope: 'system/*.rs' })}.${user.split('.')[2]}`;
    await json<OperationOutcome>(await get('/Observation', widened), 401);
    const doctor = await sessionOf('doctor');
    patient = await sessionOf('patient');
    const foreign = await issueGatewayToken({
      privateKey: doctor.keys.privateKey,
      owner: patient.keys.address,
      client: 'forger',
      scope: 'user/*.rs',
      expiresIn: 600,
    });
    expect((await json<OperationOutcome>(await get('/Observation', foreign.token), 401)).issue[0]?.code).toBe(
      'login',
    );
    const short = await token('user/*.rs', { expiresIn: 1 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await json<OperationOutcome>(await get('/Observation', short), 401)).issue[0]?.code).toBe(
      'expired',
    );
    // A page elsewhere reaching 127.0.0.1 under its own host name (DNS rebinding) is refused.
    const rebound = await new Promise<number>((resolve, reject) => {
      const url = new URL(`${server?.url}/metadata`);
      httpRequest(
        { host: url.hostname, port: url.port, path: url.pathname, headers: { host: 'evil.example' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
        .on('error', reject)
        .end();
    });
    expect(rebound).toBe(403);
    const logins = server?.accessLog.entries().filter((e) => e.status === 401) ?? [];
    expect(logins.length).toBeGreaterThanOrEqual(5);
    // Bad token requests at the CLI: one line, exit 1.
    const bad = await run('patient', 'gateway', 'token', '--scope', 'patient/Observation.rs');
    expect(bad.code).toBe(1);
    oneLine(bad.stderr);
    expect(bad.stderr).toMatch(/--patient/u);
    const badScope = await run('patient', 'gateway', 'token', '--scope', 'everything please');
    expect(badScope.code).toBe(1);
    oneLine(badScope.stderr);
  }, 120_000);

  it('searches by code, category and date with FHIR prefixes, pages, sorts; strict about bad parameters', async () => {
    const hb = await json<Bundle>(await get('/Observation?code=http://loinc.org|718-7', user));
    expect(hb).toMatchObject({ resourceType: 'Bundle', type: 'searchset', total: 2 });
    expect(await json<Bundle>(await get('/Observation?code=718-7&date=ge2015', user))).toMatchObject({
      total: 1,
    });
    expect(await json<Bundle>(await get('/Observation?code=718-7&date=2012-09', user))).toMatchObject({
      total: 1,
    });
    expect(await json<Bundle>(await get('/Observation?code=718-7&date=lt2012-09-10', user))).toMatchObject({
      total: 0,
    });
    expect(await json<Bundle>(await get('/Observation?code=718-7&date=le2012-09-10', user))).toMatchObject({
      total: 1,
    });
    expect(
      await json<Bundle>(await get(`/Observation?patient=${PATIENT_ID}&code=718-7,2093-3`, user)),
    ).toMatchObject({
      total: 4,
    });
    expect(await json<Bundle>(await get('/Condition?patient=Patient/nobody', user))).toMatchObject({
      total: 0,
    });
    const labs = await json<Bundle>(await get('/Observation?category=laboratory&_count=10', user));
    expect(labs.total).toBe(30);
    expect(labs.entry).toHaveLength(10);
    const next = labs.link?.find((l) => l.relation === 'next')?.url as string;
    const page2 = await json<Bundle>(await fetch(next, { headers: { authorization: `Bearer ${user}` } }));
    expect(page2.entry).toHaveLength(10);
    const ids = new Set([...(labs.entry ?? []), ...(page2.entry ?? [])].map((e) => e.resource?.id));
    expect(ids.size).toBe(20);
    const desc = await json<Bundle>(await get('/Observation?code=718-7&_sort=-date', user));
    expect(
      desc.entry?.map((e) => (e.resource as { effectiveDateTime: string }).effectiveDateTime.slice(0, 4)),
    ).toEqual(['2018', '2012']);
    expect(await json<Bundle>(await get('/Observation?_summary=count', user))).toMatchObject({ total: 48 });
    const read = await json<Resource>(await get(`/Condition/${CONDITION_ID}`, user));
    // Served exactly as stored (same bytes as the record's plaintext).
    expect(read).toEqual(store.get('Condition', CONDITION_ID)?.resource);

    const badParam = await json<OperationOutcome>(await get('/Observation?colour=blue', user), 400);
    expect(badParam.issue[0]).toMatchObject({ code: 'not-supported', expression: ['colour'] });
    const badDate = await json<OperationOutcome>(await get('/Observation?date=ge2021-02-30', user), 400);
    expect(badDate.issue[0]?.diagnostics).toMatch(/2021-02-30/u);
    await json<OperationOutcome>(await get('/Observation?_count=many', user), 400);
    await json<OperationOutcome>(await get('/Observation?code:above=x', user), 400);
    await json<OperationOutcome>(await get('/Observation?_sort=value', user), 400);
    expect((await json<OperationOutcome>(await get('/Unicorn', user), 404)).issue[0]?.code).toBe(
      'not-supported',
    );
    await json<OperationOutcome>(await get('/Observation/no-such-id', user), 404);
    await json<OperationOutcome>(await get('/Observation/bad%20id', user), 404);
    const post = await fetch(`${server?.url}/Observation`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user}`, 'content-type': 'application/fhir+json' },
      body: '{"resourceType":"Observation"}',
    });
    await json<OperationOutcome>(post, 405);
  }, 120_000);

  it('R-1, T-15: SMART scopes narrow what a token sees: patient/ compartment, resource types, granular category; out of scope is a logged 403', async () => {
    const obsOnly = await token('patient/Observation.rs', { patient: PATIENT_ID, client: 'obs-app' });
    expect(await json<Bundle>(await get('/Observation', obsOnly))).toMatchObject({ total: 48 });
    const condition = await json<OperationOutcome>(await get(`/Condition/${CONDITION_ID}`, obsOnly), 403);
    expect(condition.issue[0]?.code).toBe('forbidden');
    await json<OperationOutcome>(await get('/Condition', obsOnly), 403);
    await json<OperationOutcome>(await get(`/Patient/${PATIENT_ID}`, obsOnly), 403);
    const refused =
      server?.accessLog.entries().filter((e) => e.client === 'obs-app' && e.status === 403) ?? [];
    expect(refused.map((e) => e.request)).toEqual([
      `GET /Condition/${CONDITION_ID}`,
      'GET /Condition',
      `GET /Patient/${PATIENT_ID}`,
    ]);
    // Another patient's compartment is empty, not someone else's data.
    const other = await token('patient/*.rs', { patient: 'someone-else' });
    expect(await json<Bundle>(await get('/Observation', other))).toMatchObject({ total: 0 });
    const elsewhere = await json<OperationOutcome>(
      await get(`/Observation/${store.search({ resourceType: 'Observation' })[0]?.fhirId}`, other),
      404,
    );
    // The same answer as for a resource that is not there (T-15); the log keeps why.
    expect(server?.accessLog.entries().at(-1)?.reason).toMatch(/outside the token's patient/u);
    const absent = await json<OperationOutcome>(await get('/Observation/not-there', other), 404);
    expect(elsewhere.issue[0]?.code).toBe(absent.issue[0]?.code);
    const vitals = await token('patient/Observation.rs?category=vital-signs', { patient: PATIENT_ID });
    const seen = await json<Bundle>(await get('/Observation', vitals));
    expect(seen.total).toBe(15);
    const readOnly = await token('user/Observation.r');
    await json<OperationOutcome>(await get('/Observation', readOnly), 403);

    const everything = await json<Bundle>(await get(`/Patient/${PATIENT_ID}/$everything?_count=100`, user));
    expect(everything.total).toBe(70);
    expect(everything.entry?.[0]?.resource?.resourceType).toBe('Patient');
    const limited = await token('patient/Patient.rs patient/Condition.rs', { patient: PATIENT_ID });
    const some = await json<Bundle>(await get(`/Patient/${PATIENT_ID}/$everything`, limited));
    expect(new Set(some.entry?.map((e) => e.resource?.resourceType))).toEqual(
      new Set(['Patient', 'Condition']),
    );
    await json<OperationOutcome>(await get(`/Patient/${PATIENT_ID}/$everything?start=2012`, user), 400);
  }, 120_000);

  it('R-10, R-17: grants are Consent and the access log AuditEvent (IHE BALP style), valid R4, searchable', async () => {
    const consents = await json<Bundle>(await get('/Consent', user));
    expect(consents.total).toBe(1);
    const consent = consents.entry?.[0]?.resource as Consent;
    expect(consent).toMatchObject({
      resourceType: 'Consent',
      status: 'inactive', // revoked in the store test
      scope: { coding: [{ code: 'patient-privacy' }] },
      patient: { reference: `Patient/${PATIENT_ID}` },
      provision: { type: 'permit', purpose: [{ code: 'TREAT' }] },
    });
    expect(consent.provision?.actor?.[0]?.reference?.identifier?.value).toMatch(
      new RegExp(`^did:ethr:0x[0-9a-f]+:${doctorAddress}$`, 'iu'),
    );
    // The patient's gateway names the categories behind the grant's salted tags.
    expect(consent.provision?.class).toEqual([
      { system: 'http://hl7.org/fhir/resource-types', code: 'Observation' },
    ]);
    expect(consent.provision?.code?.map((c) => c.text).sort()).toEqual([
      'laboratory',
      'survey',
      'vital-signs',
    ]);
    await validFhir(consent);
    expect(await json<Bundle>(await get('/Consent?status=active', user))).toMatchObject({ total: 0 });
    expect(await json<Resource>(await get(`/Consent/${consent.id}`, user))).toEqual(consent);

    const events = await json<Bundle>(await get('/AuditEvent?_count=1000', user));
    const all = (events.entry ?? []).map((e) => e.resource as Resource & Record<string, unknown>);
    const release = all.find(
      (e) => e.id?.startsWith('node-') && (e.subtype as { code: string }[])[0]?.code === 'read',
    );
    expect(release).toMatchObject({ type: { code: 'rest' }, action: 'R', outcome: '0' });
    await validFhir(release as Resource);
    const refusal = all.find((e) => e.id?.startsWith('gateway-') && String(e.outcomeDesc).includes('403'));
    expect(refusal).toMatchObject({ outcome: '4' });
    await validFhir(refusal as Resource);
    const reads = await json<Bundle>(await get('/AuditEvent?action=R&outcome=4', user));
    expect(reads.total).toBeGreaterThanOrEqual(3);
    // A patient/ token sees no gateway log, and no Consent of others.
    const obsOnly = await token('patient/Observation.rs', { patient: PATIENT_ID });
    await json<OperationOutcome>(await get('/AuditEvent', obsOnly), 403);

    const exported = await run('patient', 'audit', '--fhir');
    expect(exported.code).toBe(0);
    const bundle = JSON.parse(exported.stdout) as Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    expect(bundle.entry?.length).toBeGreaterThan(3);
    await validFhir(bundle);
  }, 120_000);

  it('R-14, R-15: Bulk $export of what the patient owns, imported on another node: the same records, the same hashes', async () => {
    await json<OperationOutcome>(await get('/$export', user), 400);
    await json<OperationOutcome>(await get('/$export?_type=Unicorn', user, { prefer: 'respond-async' }), 400);
    await json<OperationOutcome>(await get('/$export?_elements=id', user, { prefer: 'respond-async' }), 400);
    const kickOff = await get('/$export', user, { prefer: 'respond-async' });
    expect(kickOff.status).toBe(202);
    const status = kickOff.headers.get('content-location') as string;
    let answer = await fetch(status, { headers: { authorization: `Bearer ${user}` } });
    for (let i = 0; i < 20 && answer.status === 202; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      answer = await fetch(status, { headers: { authorization: `Bearer ${user}` } });
    }
    const manifest = await json<{
      output: { type: string; url: string; count: number }[];
      requiresAccessToken: boolean;
    }>(answer);
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.output.reduce((n, o) => n + o.count, 0)).toBe(70);
    const other = await token('user/*.rs', { client: 'someone-else' });
    expect((await fetch(status, { headers: { authorization: `Bearer ${other}` } })).status).toBe(404);
    expect((await fetch(manifest.output[0]?.url as string)).status).toBe(401);
    const dir = join(root, 'export');
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    for (const o of manifest.output) {
      const file = await fetch(o.url, { headers: { authorization: `Bearer ${user}` } });
      expect(file.headers.get('content-type')).toBe('application/fhir+ndjson');
      const text = await file.text();
      expect(text.trim().split('\n')).toHaveLength(o.count);
      writeFileSync(join(dir, `${o.type}.ndjson`), text);
    }

    // The patient moves: the same wallet, restored on another node (its own chain and data folder).
    nodeB = await startTestNode();
    const moved = { ...as('moved', nodeB), CAREKEY_MNEMONIC: mnemonic };
    jsonOf(await carekey(['init', '--restore', '--json', '--scrypt-log-n', '15'], moved));
    // Altered or duplicated files are refused with one line, nothing imported.
    const bad = join(root, 'bad');
    mkdirSync(bad);
    writeFileSync(join(bad, 'manifest.json'), JSON.stringify(manifest));
    for (const o of manifest.output)
      writeFileSync(join(bad, `${o.type}.ndjson`), readFileSync(join(dir, `${o.type}.ndjson`)));
    const obs = readFileSync(join(dir, 'Observation.ndjson'), 'utf8').replace('"final"', '"amended"');
    writeFileSync(join(bad, 'Observation.ndjson'), obs);
    const altered = await carekey(['import-export', bad], moved);
    expect(altered.code).toBe(1);
    oneLine(altered.stderr);
    expect(altered.stderr).toMatch(/SHA-256/u);
    rmSync(join(bad, 'manifest.json'));
    writeFileSync(join(bad, 'Observation.ndjson'), `${obs}${obs.split('\n')[0]}\n`);
    const duplicated = await carekey(['import-export', bad], moved);
    expect(duplicated.code).toBe(1);
    expect(duplicated.stderr).toMatch(/appears twice/u);

    const imported = jsonOf<{ read: number; imported: number; manifestChecked: boolean }>(
      await carekey(['import-export', dir, '--json'], moved),
    );
    expect(imported).toMatchObject({ read: 70, imported: 70, manifestChecked: true });
    const again = jsonOf<{ imported: number; alreadyHere: number }>(
      await carekey(['import-export', dir, '--json'], moved),
    );
    expect(again).toMatchObject({ imported: 0, alreadyHere: 70 });

    const there = await sessionOf('moved', nodeB);
    expect(there.keys.address).toBe(patient.keys.address);
    expect((await there.node.listRecords()).records.filter((r) => r.state === 'active')).toHaveLength(70);
    const movedStore = await openGatewayStore(there);
    await movedStore.sync(there);
    const hashes = (s: GatewayStore) =>
      s
        .all()
        .map((r) => `${r.resourceType}/${r.fhirId} ${r.sha256}`)
        .sort();
    expect(hashes(movedStore)).toEqual(hashes(store));
    patient = await sessionOf('patient');
  }, 600_000);

  it('carekey gateway serves on loopback until stopped, CDS Hooks mounted; refuses a non-loopback host', async () => {
    const refused = await run('patient', 'gateway', '--host', '0.0.0.0');
    expect(refused.code).toBe(1);
    oneLine(refused.stderr);
    const bin = join(import.meta.dirname, '..', 'bin', 'carekey.js');
    const child = spawn(process.execPath, [bin, 'gateway', '--port', '0', '--json', '--sync-every', '30m'], {
      env: { PATH: process.env.PATH ?? '', ...as('patient') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const ready = await new Promise<{ url: string; records: number }>((resolve, reject) => {
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
      });
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        err += d;
      });
      void exited.then((code) => reject(new Error(`gateway exited ${code}: ${err}`)));
    });
    expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/u);
    expect(ready.records).toBe(70);
    expect((await fetch(`${ready.url}/metadata`)).status).toBe(200);
    const discovery = await fetch(`${ready.url}/cds-services`, {
      headers: { authorization: `Bearer ${user}` },
    });
    expect(discovery.status).toBe(200);
    expect(((await discovery.json()) as { services: unknown[] }).services.length).toBeGreaterThan(0);
    const obs = await fetch(`${ready.url}/Observation?_summary=count`, {
      headers: { authorization: `Bearer ${user}` },
    });
    expect(((await obs.json()) as Bundle).total).toBe(48);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 300_000);
});
