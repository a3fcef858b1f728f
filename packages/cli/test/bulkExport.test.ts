import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OperationOutcome } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSession, type Session } from '../src/commands/openSession.ts';
import { issueGatewayToken } from '../src/gateway/auth/gatewayToken.ts';
import { SHA256_EXTENSION } from '../src/gateway/bulk/BulkExportJobs.ts';
import { cdsHooksHandler } from '../src/gateway/cdsHooks/index.ts';
import { createGatewayServer, type GatewayServer } from '../src/gateway/server/createGatewayServer.ts';
import { type GatewayStore, openGatewayStore } from '../src/gateway/store/openGatewayStore.ts';
import { jsonOf } from './support/carekeyBin.ts';
import { carekeyInProcess } from './support/carekeyInProcess.ts';
import { startTestNode, type TestNode } from './support/startTestNode.ts';

const XSS_DIV =
  '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script><img src="x" onerror="alert(2)"/></div>';

// Bulk Data `$export` of the patient's gateway: `_since`, and the files behind ImagingStudy / DocumentReference
// (real ones: a NEMA CT slice and a PDF printed by Chromium, packages/sdk/src/fhir/testdata/files/README.md), then
// the import of that export on a second node. One node each, the CLI run in process.
const PASS = 'a long passphrase';
const FILES = join(import.meta.dirname, '../../sdk/src/fhir/testdata/files');
const CT = join(FILES, 'CT_small.dcm');
const PDF = join(FILES, 'discharge-letter.pdf');
const IPS = join(import.meta.dirname, '../../../../shared/data/ips/bundle-minimal.json');
const root = mkdtempSync(join(tmpdir(), 'carekey-bulk-'));
let nodeA: TestNode;
let nodeB: TestNode;
let nodeC: TestNode;
let mnemonic: string;
let patient: Session;
let store: GatewayStore;
let server: GatewayServer;
let token: string;
let ctRecord: string;
let pdfRecord: string;
let ctStudy: string;
let pdfDocument: string;

const as = (who: string, node: TestNode) => ({
  CAREKEY_HOME: join(root, who),
  CAREKEY_PASSPHRASE: PASS,
  CAREKEY_NODE: node.url,
});
const run = (who: string, node: TestNode, ...args: string[]) => carekeyInProcess(args, as(who, node));

type Manifest = {
  transactionTime: string;
  output: { type: string; url: string; count: number }[];
  extension: Record<string, Record<string, string>>;
};

/** A gateway and a bearer token of it (the patient's by default). */
type At = { url: string; token: string };
const patientGateway = (): At => ({ url: server.url, token });

async function get(path: string, headers: Record<string, string> = {}, at = patientGateway()) {
  return fetch(`${at.url}${path}`, { headers: { authorization: `Bearer ${at.token}`, ...headers } });
}

/** Kicks off an export, waits for its manifest, returns it with each file's text. */
async function exportOf(
  query = '',
  at = patientGateway(),
  path = '/$export',
): Promise<{ manifest: Manifest; files: Map<string, string> }> {
  const token = at.token;
  const kickOff = await get(`${path}${query}`, { prefer: 'respond-async' }, at);
  expect(kickOff.status).toBe(202);
  const status = kickOff.headers.get('content-location') as string;
  let answer = await fetch(status, { headers: { authorization: `Bearer ${token}` } });
  for (const deadline = Date.now() + 20_000; answer.status === 202 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    answer = await fetch(status, { headers: { authorization: `Bearer ${token}` } });
  }
  expect(answer.status, await answer.clone().text()).toBe(200);
  const manifest = (await answer.json()) as Manifest;
  const files = new Map<string, string>();
  for (const o of manifest.output) {
    const file = await fetch(o.url, { headers: { authorization: `Bearer ${token}` } });
    expect(file.status).toBe(200);
    files.set(o.type, await file.text());
  }
  return { manifest, files };
}

/** A gateway of `session` at `url` and a bearer token of it for `client` with `scope`. */
async function gatewayOf(session: Session, url: string, client: string, scope = 'user/*.rs'): Promise<At> {
  const { privateKey, address } = session.keys;
  return {
    url,
    token: (await issueGatewayToken({ privateKey, owner: address, client, scope, expiresIn: 600 })).token,
  };
}

const count = (files: Map<string, string>) =>
  [...files.values()].reduce((n, text) => n + text.split('\n').filter((l) => l.length > 0).length, 0);

beforeAll(async () => {
  // The second node (the patient moves) and the third (the round trip of a grantee's export: file records keep
  // their ids, and node B holds the patient's after the move) start while the first one is used.
  const second = startTestNode().then((node) => {
    nodeB = node;
  });
  const third = startTestNode().then((node) => {
    nodeC = node;
  });
  nodeA = await startTestNode();
  mnemonic = jsonOf<{ mnemonic: string }>(
    await run('patient', nodeA, 'init', '--json', '--scrypt-log-n', '15'),
  ).mnemonic;
  expect(jsonOf<{ imported: number }>(await run('patient', nodeA, 'import', IPS, '--json')).imported).toBe(8);
  const ct = jsonOf<{ recordIds: string[] }>(await run('patient', nodeA, 'import', CT, '--json'));
  const pdf = jsonOf<{ recordIds: string[] }>(await run('patient', nodeA, 'import', PDF, '--json'));
  ctRecord = ct.recordIds[1] as string;
  pdfRecord = pdf.recordIds[1] as string;
  ctStudy = ct.recordIds[0] as string;
  pdfDocument = pdf.recordIds[0] as string;
  Object.assign(process.env, as('patient', nodeA));
  patient = await openSession();
  store = await openGatewayStore(patient);
  expect(await store.sync(patient)).toMatchObject({ total: 10, files: 2 });
  server = await createGatewayServer({
    session: patient,
    store,
    port: 0,
    syncIntervalMs: 0,
    handlers: [cdsHooksHandler],
  });
  token = (await gatewayOf(patient, server.url, 'bulk-client')).token;
  await second;
  await third;
}, 240_000);
afterAll(async () => {
  await server?.close();
  await nodeA?.stop();
  await nodeB?.stop();
  await nodeC?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('Bulk Data $export: _since and files', () => {
  it('R-14: _since gives what arrived strictly after the instant; transactionTime chains exports; bad values are a 400 naming _since', async () => {
    for (const bad of [
      '2024-01-01',
      '2024-01-01T00:00:00',
      '2024-02-30T00:00:00Z',
      '2024-01-01T25:00:00Z',
      'yesterday',
      '2024-01-01T00:00Z',
    ]) {
      const answer = await get(`/$export?_since=${encodeURIComponent(bad)}`, { prefer: 'respond-async' });
      const outcome = (await answer.json()) as OperationOutcome;
      expect({ bad, status: answer.status }).toEqual({ bad, status: 400 });
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue?.[0]).toMatchObject({ severity: 'error', expression: ['_since'] });
      expect(outcome.issue?.[0]?.diagnostics).toContain(`not ${JSON.stringify(bad)}`);
    }
    const first = await exportOf();
    expect(count(first.files)).toBe(12); // 8 IPS + ImagingStudy + DocumentReference + their 2 files
    const before = await exportOf('?_since=2000-01-01T00:00:00Z');
    expect(count(before.files)).toBe(12);

    // One more record arrives after the first export: an export _since its transactionTime holds only that one.
    const later = join(root, 'later.json');
    writeFileSync(
      later,
      JSON.stringify({
        resourceType: 'Observation',
        id: 'later-potassium',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '2823-3' }] },
        effectiveDateTime: '2024-03-04T08:00:00Z',
        text: { status: 'generated', div: XSS_DIV },
        valueQuantity: { value: 4.1, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      }),
    );
    expect(
      jsonOf<{ imported: number }>(await run('patient', nodeA, 'import', later, '--json')).imported,
    ).toBe(1);
    await server.sync();
    const arrived = store.get('Observation', 'later-potassium');
    expect(Date.parse(arrived?.syncedAt as string)).toBeGreaterThan(
      Date.parse(first.manifest.transactionTime),
    );
    const since = await exportOf(`?_since=${first.manifest.transactionTime}`);
    expect([...since.files.keys()]).toEqual(['Observation']);
    expect(JSON.parse(since.files.get('Observation') as string)).toMatchObject({ id: 'later-potassium' });
    // Strictly after: the record's own arrival instant excludes it, a millisecond earlier includes it.
    expect(count((await exportOf(`?_since=${arrived?.syncedAt}`)).files)).toBe(0);
    const justBefore = new Date(Date.parse(arrived?.syncedAt as string) - 1).toISOString();
    expect(count((await exportOf(`?_since=${justBefore}`)).files)).toBe(1);
    // The same instant written with another zone means the same thing.
    const zoned = first.manifest.transactionTime.replace('Z', '+00:00');
    expect(count((await exportOf(`?_since=${encodeURIComponent(zoned)}`)).files)).toBe(1);
  }, 120_000);

  it('R-14, R-15: the files behind ImagingStudy and DocumentReference are Binary resources with their own hash; _type picks them', async () => {
    const { manifest, files } = await exportOf();
    const lines = (files.get('Binary') as string).trim().split('\n');
    expect(lines).toHaveLength(2);
    const binaries = lines.map((l) => JSON.parse(l) as { id: string; contentType: string; data: string });
    const byRecord = new Map(binaries.map((b) => [`0x${b.id}`, b]));
    const ct = byRecord.get(ctRecord);
    const pdf = byRecord.get(pdfRecord);
    expect(ct?.contentType).toBe('application/dicom');
    expect(pdf?.contentType).toBe('application/pdf');
    expect(Buffer.from(ct?.data as string, 'base64').equals(readFileSync(CT))).toBe(true);
    expect(Buffer.from(pdf?.data as string, 'base64').equals(readFileSync(PDF))).toBe(true);
    const hashes = manifest.extension[SHA256_EXTENSION] as Record<string, string>;
    const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    expect(hashes[`Binary/${ctRecord.slice(2)}`]).toBe(sha256(CT));
    expect(hashes[`Binary/${pdfRecord.slice(2)}`]).toBe(sha256(PDF));
    // The describing resources point to the files as they are, so their hashes are unchanged.
    const study = JSON.parse(files.get('ImagingStudy') as string);
    expect(study.extension[0].valueAttachment.url).toBe(`urn:carekey:record:${ctRecord}`);
    expect(study).toMatchObject({ modality: [{ code: 'CT' }], started: '2004-01-19' });
    expect(hashes[`ImagingStudy/${study.id}`]).toBe(
      createHash('sha256')
        .update((files.get('ImagingStudy') as string).trim())
        .digest('hex'),
    );

    expect([...(await exportOf('?_type=DocumentReference')).files.keys()]).toEqual(['DocumentReference']);
    const onlyFiles = await exportOf('?_type=Binary');
    expect([...onlyFiles.files.keys()]).toEqual(['Binary']);
    expect(onlyFiles.manifest.output).toMatchObject([{ type: 'Binary', count: 2 }]);
  }, 120_000);

  it('R-14, R-15, T-19: imported on another node: the same records, the same hashes, the same file bytes; altered or orphaned files import nothing', async () => {
    const { manifest, files } = await exportOf();
    const dir = join(root, 'export');
    mkdirSync(dir);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    for (const [type, text] of files) writeFileSync(join(dir, `${type}.ndjson`), text);

    const moved = { ...as('moved', nodeB), CAREKEY_MNEMONIC: mnemonic };
    jsonOf(await carekeyInProcess(['init', '--restore', '--json', '--scrypt-log-n', '15'], moved));
    const recordsOnB = async () => (await nodeB.node.sql.query('select record_id from records')).rows.length;

    // One byte of the PDF changed: its SHA-256 is not the manifest's.
    const bad = join(root, 'bad');
    mkdirSync(bad);
    for (const name of readdirSync(dir)) writeFileSync(join(bad, name), readFileSync(join(dir, name)));
    const binaryText = files.get('Binary') as string;
    const pdfLine = binaryText.split('\n').findIndex((l) => l.includes(pdfRecord.slice(2)));
    const flip = (line: string) => {
      const at = line.indexOf('"data":"') + 8 + 2000; // inside the PDF, past its header
      return `${line.slice(0, at)}${line[at] === 'A' ? 'B' : 'A'}${line.slice(at + 1)}`;
    };
    const altered = binaryText
      .split('\n')
      .map((l, i) => (i === pdfLine ? flip(l) : l))
      .join('\n');
    writeFileSync(join(bad, 'Binary.ndjson'), altered);
    const refused = await carekeyInProcess(['import-export', bad], moved);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      new RegExp(`^carekey: Binary/${pdfRecord.slice(2)} does not match its SHA-256 in the manifest`, 'u'),
    );
    // Without the manifest, the DocumentReference's own SHA-1 and size still catch it.
    rmSync(join(bad, 'manifest.json'));
    const noManifest = await carekeyInProcess(['import-export', bad], moved);
    expect(noManifest.code).toBe(1);
    expect(noManifest.stderr).toMatch(
      /Binary\.ndjson line \d \(Binary\/[0-9a-f]{64}\): its SHA-1 is not the one DocumentReference\//u,
    );
    // A file whose describing resource is not in the export.
    writeFileSync(join(bad, 'Binary.ndjson'), binaryText);
    rmSync(join(bad, 'DocumentReference.ndjson'));
    const orphan = await carekeyInProcess(['import-export', bad], moved);
    expect(orphan.code).toBe(1);
    expect(orphan.stderr).toMatch(/is the file of no DocumentReference or ImagingStudy in the export/u);
    expect(await recordsOnB()).toBe(0);

    const imported = jsonOf<{ read: number; imported: number; files: number; manifestChecked: boolean }>(
      await carekeyInProcess(['import-export', dir, '--json'], moved),
    );
    expect(imported).toMatchObject({ read: 13, imported: 13, files: 2, manifestChecked: true });
    expect(
      jsonOf<{ imported: number; alreadyHere: number }>(
        await carekeyInProcess(['import-export', dir, '--json'], moved),
      ),
    ).toMatchObject({ imported: 0, alreadyHere: 13 });

    // Node B holds the same records: the FHIR ones with the same hashes, the files with the same record ids and bytes.
    Object.assign(process.env, as('moved', nodeB));
    const there = await openSession();
    const movedStore = await openGatewayStore(there);
    expect(await movedStore.sync(there)).toMatchObject({ total: 11, files: 2 });
    const hashes = (s: GatewayStore) =>
      s
        .all()
        .map((r) => `${r.resourceType}/${r.fhirId} ${r.sha256}`)
        .sort();
    expect(hashes(movedStore)).toEqual(hashes(store));
    for (const [record, original] of [
      [ctRecord, CT],
      [pdfRecord, PDF],
    ] as const) {
      const out = join(root, `back-${record.slice(2, 10)}`);
      jsonOf(await carekeyInProcess(['get', record, '-o', out, '--json'], moved));
      expect(readFileSync(out).equals(readFileSync(original))).toBe(true);
    }
    // Without -o, a file is not poured onto the terminal: one line saying what it is and how to save it.
    const onTerminal = await carekeyInProcess(['get', ctRecord], moved);
    expect(onTerminal.code).toBe(1);
    expect(onTerminal.stdout).toBe('');
    expect(onTerminal.stderr).toMatch(
      /^carekey: record 0x[0-9a-f]{64} is a DICOM file \(39206 bytes\), not shown on the terminal \(write it to a file: carekey get 0x[0-9a-f]{64} -o <file>/u,
    );
    const local = (await there.store.list(there.keys.identity)).filter((r) => r.resourceType === 'Binary');
    expect(local.map((r) => [r.recordId, r.category]).sort()).toEqual(
      [
        [ctRecord, 'Binary|application/dicom'],
        [pdfRecord, 'Binary|application/pdf'],
      ].sort(),
    );
    Object.assign(process.env, as('patient', nodeA));
  }, 180_000);

  it("R-14, R-17, R-2: a grantee's $export holds the file of the ImagingStudy shared with it (its key released once, one log row), not the PDF whose description alone was shared; the export imports elsewhere", async () => {
    // The doctor is shared the CT study and its file, and the letter's DocumentReference without its file.
    const doctorEnv = as('doctor', nodeA);
    const doctor = jsonOf<{ address: string }>(
      await carekeyInProcess(['init', '--json', '--scrypt-log-n', '15'], doctorEnv),
    );
    jsonOf(
      await run(
        'patient',
        nodeA,
        'share',
        ctStudy,
        ctRecord,
        pdfDocument,
        '--with',
        doctor.address,
        '--json',
      ),
    );
    Object.assign(process.env, doctorEnv);
    const session = await openSession();
    Object.assign(process.env, as('patient', nodeA));
    const doctorStore = await openGatewayStore(session);
    expect(await doctorStore.sync(session)).toMatchObject({ total: 2, files: 1 }); // the shared CT file is not kept in the store
    const gateway = await createGatewayServer({ session, store: doctorStore, port: 0, syncIntervalMs: 0 });
    try {
      const at = await gatewayOf(session, gateway.url, 'doctor-ehr');
      const releasesOfCt = async () =>
        (
          await nodeA.node.sql.query(
            "select 1 from access_log where action = 'release' and outcome = 'allowed' and $1 = any(record_ids)",
            [Buffer.from(ctRecord.slice(2), 'hex')],
          )
        ).rows.length;
      const releasedBefore = await releasesOfCt();
      const { manifest, files } = await exportOf('', at, '/Patient/$export');
      // The manifest's hash and the download read the file under one release (it was released, and logged, twice).
      expect((await releasesOfCt()) - releasedBefore).toBe(1);
      expect([...files.keys()]).toEqual(['Binary', 'DocumentReference', 'ImagingStudy']);
      expect(count(files)).toBe(3); // nothing of the patient's 8 IPS records, and not the PDF
      const binary = JSON.parse(files.get('Binary') as string) as {
        id: string;
        contentType: string;
        data: string;
      };
      expect(binary).toMatchObject({ id: ctRecord.slice(2), contentType: 'application/dicom' });
      expect(Buffer.from(binary.data, 'base64').equals(readFileSync(CT))).toBe(true);
      const hashes = manifest.extension[SHA256_EXTENSION] as Record<string, string>;
      expect(hashes[`Binary/${ctRecord.slice(2)}`]).toBe(
        createHash('sha256').update(readFileSync(CT)).digest('hex'),
      );
      expect(Object.keys(hashes).some((k) => k.includes(pdfRecord.slice(2)))).toBe(false);
      // A token whose scopes leave out Binary gets the descriptions only.
      const noFiles = await gatewayOf(
        session,
        gateway.url,
        'doctor-ehr',
        'user/ImagingStudy.rs user/DocumentReference.rs',
      );
      expect([...(await exportOf('', noFiles, '/Patient/$export')).files.keys()]).toEqual([
        'DocumentReference',
        'ImagingStudy',
      ]);

      // The round trip: the doctor's export imports on another node (a second opinion there), the CT file byte for byte;
      // the letter's file is reported missing, not invented.
      const dir = join(root, 'doctor-export');
      mkdirSync(dir);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
      for (const [type, text] of files) writeFileSync(join(dir, `${type}.ndjson`), text);
      const abroad = as('abroad', nodeC);
      jsonOf(await carekeyInProcess(['init', '--json', '--scrypt-log-n', '15'], abroad));
      const imported = jsonOf<{
        imported: number;
        files: number;
        missingFiles: string[];
        manifestChecked: boolean;
      }>(await carekeyInProcess(['import-export', dir, '--json'], abroad));
      expect(imported).toMatchObject({
        imported: 3,
        files: 1,
        missingFiles: [pdfRecord],
        manifestChecked: true,
      });
      const out = join(root, 'abroad-ct.dcm');
      jsonOf(await carekeyInProcess(['get', ctRecord, '-o', out, '--json'], abroad));
      expect(readFileSync(out).equals(readFileSync(CT))).toBe(true);
    } finally {
      await gateway.close();
    }
  }, 180_000);
});

describe('the gateway HTTP edge: T-19 bad bodies and parameters, T-22 narrative served inert', () => {
  const post = async (body: string) => {
    const answer = await fetch(`${server.url}/cds-services/carekey-duplicate-order-sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    return {
      status: answer.status,
      type: answer.headers.get('content-type'),
      body: (await answer.json()) as { detail: string; status: number },
    };
  };
  const order = (i: number) => ({
    resource: {
      resourceType: 'ServiceRequest',
      id: `sr-${i}`,
      status: 'draft',
      intent: 'order',
      code: { coding: [{ system: 'http://loinc.org', code: '2823-3' }] },
      subject: { reference: 'Patient/x' },
    },
  });
  const hook = (entries: unknown[]) =>
    JSON.stringify({
      hook: 'order-sign',
      hookInstance: 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea',
      context: {
        userId: 'Practitioner/example',
        patientId: 'x',
        draftOrders: { resourceType: 'Bundle', type: 'collection', entry: entries },
      },
    });

  it('CDS Hooks bodies that are not JSON, too deep, with __proto__ or duplicate keys, too large or with too many orders: a 4xx problem naming what is wrong', async () => {
    const cases: [string, number, RegExp][] = [
      ['hello', 400, /not valid JSON/u],
      ['{"hook":"order-sign","__proto__":{"admin":true}}', 400, /forbidden key/u],
      [`{"hook":${'['.repeat(10_000)}${']'.repeat(10_000)}}`, 400, /nesting deeper than 64 levels/u],
      ['{"hook":"order-sign","hook":"order-select"}', 400, /duplicate key/u],
      [' '.repeat(2 * 1024 * 1024), 413, /request body over 1048576 bytes/u],
      [hook(Array.from({ length: 201 }, (_, i) => order(i))), 400, /201 orders, over the limit of 200/u],
    ];
    const before = server.accessLog.entries().length;
    for (const [body, status, detail] of cases) {
      const answer = await post(body);
      expect({ status: answer.status, type: answer.type }).toEqual({
        status,
        type: 'application/problem+json',
      });
      expect(answer.body.status).toBe(status);
      expect(answer.body.detail).toMatch(detail);
    }
    // A well-formed request still works, and none of the refused ones was answered as a success.
    expect((await post(hook([order(1)]))).status).toBe(200);
    expect(
      server.accessLog
        .entries()
        .slice(before)
        .filter((e) => e.status === 200),
    ).toHaveLength(1);
  }, 60_000);

  it('FHIR search with a __proto__ or unknown parameter is a 400 naming it; a narrative with <script> is served as FHIR JSON, byte for byte, never as HTML', async () => {
    for (const query of ['__proto__=1', 'constructor=x', 'unicorn=1', '_count=-1']) {
      const answer = await get(`/Observation?${query}`);
      const outcome = (await answer.json()) as OperationOutcome;
      expect({ query, status: answer.status }).toEqual({ query, status: 400 });
      expect(outcome.issue?.[0]?.expression?.[0]).toBe(query.split('=')[0]);
    }
    const answer = await get('/Observation/later-potassium');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/fhir+json; charset=utf-8');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(((await answer.json()) as { text: { div: string } }).text.div).toBe(XSS_DIV);
  });
});
