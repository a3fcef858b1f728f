import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Observation, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleResources } from '../../../../sdk/src/clinical/testing/sharedData.ts';
import { GatewayStore, type StoredRecord } from '../store/openGatewayStore.ts';
import {
  type CdsCaller,
  type CdsContext,
  type CdsHttpRequest,
  createCdsHooksHandler,
} from './cdsHooksHandler.ts';
import type { CdsCard } from './findDuplicateOrders.ts';

const PATIENT = `0x${'a1'.repeat(20)}` as Address;
const HOSPITAL = `0x${'b2'.repeat(20)}`;
const LAB = `0x${'c3'.repeat(20)}`;
const fletcher = bundleResources('synthea/bundles/Fletcher_Hyatt_fe0562b5-f517-4951-8366-32fdab088930.json');
const patientId = (fletcher.find((r) => r.resourceType === 'Patient') as Resource).id as string;

let n = 0;
function stored(resource: Resource, custodian: string): StoredRecord {
  n++;
  return {
    recordId: `0x${n.toString(16).padStart(64, '0')}` as Hex,
    blobId: 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy',
    patient: PATIENT,
    custodian,
    resourceType: resource.resourceType,
    fhirId: resource.id as string,
    category: resource.resourceType,
    clinicalDate: null,
    grantId: `0x${'0'.repeat(64)}` as Hex,
    sha256: '0'.repeat(64),
    syncedAt: '2026-11-25T00:00:00Z',
    resource,
  };
}

// The hospital published Fletcher's whole record; the lab published one potassium result again (its own id).
const potassium = fletcher.find(
  (r) =>
    r.resourceType === 'Observation' &&
    r.code?.coding?.[0]?.code === '6298-4' &&
    r.effectiveDateTime === '1996-01-19T19:20:06+00:00',
) as Observation;
const labCopy: Observation = {
  ...potassium,
  id: 'lab-potassium-1',
  subject: { reference: 'Patient/lab-77' },
};
const store = new GatewayStore('/nonexistent/store.age', PATIENT, 'age1unused');
store.replace([...fletcher.map((r) => stored(r, HOSPITAL)), stored(labCopy, LAB)]);

const TOKENS: Record<string, CdsCaller> = {
  'ehr-token': {
    client: 'ehr',
    scopes: [{ context: 'user', resourceType: '*', read: true }],
    patient: undefined,
  },
  'conditions-only': {
    client: 'narrow-app',
    scopes: [{ context: 'user', resourceType: 'Condition', read: true }],
    patient: undefined,
  },
};
class Unauthorized extends Error {}
const logged: { client: string; status: number }[] = [];

let server: Server;
let base: string;
// Weeks after Fletcher's last visit (1996-01-19).
const handler = createCdsHooksHandler({ now: () => new Date('1996-01-24T12:00:00Z') });

beforeAll(async () => {
  // A loopback server that hands requests to the handler as the gateway does (parsed JSON body, bearer token).
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      res.writeHead(400).end('not JSON');
      return;
    }
    const request: CdsHttpRequest = {
      method: req.method ?? 'GET',
      url: new URL(req.url ?? '/', base),
      headers: req.headers,
      body,
    };
    const context: CdsContext = {
      store,
      baseUrl: base,
      async authorize(r) {
        const caller = TOKENS[(r.headers.authorization ?? '').replace(/^Bearer /u, '')];
        if (caller === undefined) throw new Unauthorized();
        return caller;
      },
      log: (entry) => logged.push(entry),
    };
    try {
      const answer = await handler(request, context);
      if (answer === undefined) res.writeHead(404).end();
      else
        res
          .writeHead(answer.status, answer.headers)
          .end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    } catch (error) {
      res.writeHead(error instanceof Unauthorized ? 401 : 500).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const HOOK_INSTANCE = 'd1577c69-dfbe-44ad-ba6d-3e05e953b2ea';
const draftLab = (id: string, loinc: string, display: string) => ({
  resourceType: 'ServiceRequest',
  id,
  status: 'draft',
  intent: 'order',
  category: [
    { coding: [{ system: 'http://snomed.info/sct', code: '108252007', display: 'Laboratory procedure' }] },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: loinc, display }] },
  subject: { reference: `Patient/${patientId}` },
});
const request = (
  hook: 'order-sign' | 'order-select',
  orders: unknown[],
  extra: Record<string, unknown> = {},
) => ({
  hook,
  hookInstance: HOOK_INSTANCE,
  fhirServer: 'http://127.0.0.1:9999/fhir',
  context: {
    userId: 'Practitioner/example',
    patientId,
    encounterId: 'enc-89284',
    draftOrders: {
      resourceType: 'Bundle',
      type: 'collection',
      entry: orders.map((resource) => ({ resource })),
    },
    ...extra,
  },
  prefetch: { patient: { resourceType: 'Patient', id: patientId } },
});

async function post(service: string, body: unknown, token = 'ehr-token') {
  const res = await fetch(`${base}/cds-services/${service}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    body: (await res.json()) as { cards: CdsCard[] } & Record<string, unknown>,
  };
}

describe('CDS Hooks: no duplicate tests', () => {
  it('discovery lists the order-select and order-sign services', async () => {
    const res = await fetch(`${base}/cds-services`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      services: { hook: string; id: string; title: string; description: string }[];
    };
    expect(body.services.map((s) => [s.hook, s.id])).toEqual([
      ['order-select', 'carekey-duplicate-order-select'],
      ['order-sign', 'carekey-duplicate-order-sign'],
    ]);
  });

  it('order-sign: a lab test done 4 days ago at two institutions → one card with where, when, result and links', async () => {
    const res = await post(
      'carekey-duplicate-order-sign',
      request('order-sign', [draftLab('sr-1', '6298-4', 'Potassium')]),
    );
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^application\/json/u);
    expect(res.body.cards).toHaveLength(1);
    const card = res.body.cards[0] as CdsCard;
    expect(card.summary).toBe('Potassium already done 4 days ago at 0xb2b2…b2b2 and 0xc3c3…c3c3');
    expect(card.summary.length).toBeLessThanOrEqual(140);
    expect(card.indicator).toBe('warning');
    expect(card.detail).toContain(
      `1996-01-19 at **0xb2b2…b2b2 and 0xc3c3…c3c3**: Potassium: ${potassium.valueQuantity?.value} mmol/L`,
    );
    const urls = card.links.map((l) => l.url);
    expect(urls).toContain(`${base}/Observation/${potassium.id}`);
    expect(urls).toContain(`${base}/Observation/lab-potassium-1`);
    expect(card.suggestions?.[0]?.actions[0]).toEqual({
      type: 'delete',
      description: 'Remove the draft ServiceRequest/sr-1',
      resourceId: ['ServiceRequest/sr-1'],
    });
  });

  it('order-sign: a panel code matches the DiagnosticReport; a test never done gets no card', async () => {
    const res = await post(
      'carekey-duplicate-order-sign',
      request('order-sign', [
        draftLab('sr-1', '51990-0', 'Basic metabolic panel'),
        draftLab('sr-2', '2093-3', 'Cholesterol'),
      ]),
    );
    expect(res.body.cards.map((c) => c.summary)).toEqual([
      'Basic metabolic panel already done 4 days ago at 0xb2b2…b2b2',
    ]);
  });

  it('the window is configurable: 40 days later the same order gets no card, unless the window is 60 days', async () => {
    const later = createCdsHooksHandler({ now: () => new Date('1996-02-28T12:00:00Z') });
    const wider = createCdsHooksHandler({
      now: () => new Date('1996-02-28T12:00:00Z'),
      windows: { labDays: 60 },
    });
    const context: CdsContext = {
      store,
      baseUrl: base,
      authorize: async () => TOKENS['ehr-token'] as CdsCaller,
    };
    const req = (body: unknown): CdsHttpRequest => ({
      method: 'POST',
      url: new URL(`${base}/cds-services/carekey-duplicate-order-sign`),
      headers: {},
      body,
    });
    const body = request('order-sign', [draftLab('sr-1', '6298-4', 'Potassium')]);
    expect(((await later(req(body), context))?.body as { cards: unknown[] } | undefined)?.cards).toHaveLength(
      0,
    );
    expect(((await wider(req(body), context))?.body as { cards: unknown[] } | undefined)?.cards).toHaveLength(
      1,
    );
  });

  it('order-select: only the selected draft orders are checked', async () => {
    const orders = [draftLab('sr-1', '6298-4', 'Potassium'), draftLab('sr-2', '6299-2', 'Urea nitrogen')];
    const res = await post(
      'carekey-duplicate-order-select',
      request('order-select', orders, { selections: ['ServiceRequest/sr-2'] }),
    );
    expect(res.status).toBe(200);
    expect(res.body.cards.map((c) => c.summary)).toEqual([
      'Urea nitrogen already done 4 days ago at 0xb2b2…b2b2',
    ]);
  });

  it('imaging by DICOM modality and body site; another body site gets no card', async () => {
    const study = fletcher.find(
      (r) => r.resourceType === 'ImagingStudy' && r.started === '1996-01-19T19:20:06+00:00',
    ) as {
      series: {
        modality: { code: string; display: string };
        bodySite: { system: string; code: string; display: string };
      }[];
    };
    const series = study.series[0] as (typeof study.series)[0];
    const imaging = (id: string, site: { system: string; code: string; display: string }) => ({
      resourceType: 'ServiceRequest',
      id,
      status: 'draft',
      intent: 'order',
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '363679005', display: 'Imaging' }] }],
      code: {
        coding: [
          {
            system: 'http://dicom.nema.org/resources/ontology/DCM',
            code: series.modality.code,
            display: series.modality.display,
          },
        ],
      },
      bodySite: [{ coding: [site] }],
      subject: { reference: `Patient/${patientId}` },
    });
    const same = await post(
      'carekey-duplicate-order-sign',
      request('order-sign', [imaging('img-1', series.bodySite)]),
    );
    expect(same.body.cards).toHaveLength(1);
    expect(same.body.cards[0]?.summary).toMatch(/already done 4 days ago at 0xb2b2…b2b2$/u);
    expect(same.body.cards[0]?.detail).toContain(series.bodySite.display);
    expect(same.body.cards[0]?.links[0]?.url).toMatch(new RegExp(`^${base}/ImagingStudy/`, 'u'));
    const other = await post(
      'carekey-duplicate-order-sign',
      request('order-sign', [
        imaging('img-2', { system: 'http://snomed.info/sct', code: '69536005', display: 'Head' }),
      ]),
    );
    expect(other.body.cards).toHaveLength(0);
  });

  it('a MedicationRequest for a medication the patient is already on → card', async () => {
    const draft = {
      resourceType: 'MedicationRequest',
      id: 'mr-1',
      status: 'draft',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [
          {
            system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
            code: '316672',
            display: 'Simvastatin 10 MG Oral Tablet',
          },
        ],
      },
      subject: { reference: `Patient/${patientId}` },
    };
    const res = await post('carekey-duplicate-order-sign', request('order-sign', [draft]));
    expect(res.body.cards.map((c) => c.summary)).toEqual([
      'Already on Simvastatin 10 MG Oral Tablet: active since 1995-11-08 (0xb2b2…b2b2)',
    ]);
  });

  it('answers only what the token can read; an unknown patient gets no cards; no token is refused', async () => {
    const body = request('order-sign', [draftLab('sr-1', '6298-4', 'Potassium')]);
    expect((await post('carekey-duplicate-order-sign', body, 'conditions-only')).body.cards).toEqual([]);
    const unknown = { ...body, context: { ...body.context, patientId: 'somebody-else' } };
    expect((await post('carekey-duplicate-order-sign', unknown)).body.cards).toEqual([]);
    const anonymous = await fetch(`${base}/cds-services/carekey-duplicate-order-sign`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(anonymous.status).toBe(401);
    expect(logged.some((e) => e.client === 'narrow-app' && e.status === 200)).toBe(true);
  });

  it('malformed requests: a clear 400 problem naming the field', async () => {
    const good = request('order-select', [draftLab('sr-1', '6298-4', 'Potassium')], {
      selections: ['ServiceRequest/sr-1'],
    });
    const cases: [unknown, string, RegExp][] = [
      [{ ...good, hook: 'patient-view' }, 'hook', /this service answers "order-select", got "patient-view"/u],
      [{ ...good, hookInstance: 'not-a-uuid' }, 'hookInstance', /is not a UUID/u],
      [
        { ...good, context: { ...good.context, patientId: undefined } },
        'context.patientId',
        /expected a non-empty string/u,
      ],
      [{ ...good, context: { ...good.context, userId: 'drwho' } }, 'context.userId', /not a reference/u],
      [
        { ...good, context: { ...good.context, draftOrders: [] } },
        'context.draftOrders',
        /expected a FHIR Bundle/u,
      ],
      [
        {
          ...good,
          context: { ...good.context, draftOrders: { resourceType: 'Bundle', entry: [{ resource: 'x' }] } },
        },
        'context.draftOrders.entry[0].resource',
        /expected a FHIR resource/u,
      ],
      [
        { ...good, context: { ...good.context, selections: ['ServiceRequest/nope'] } },
        'context.selections[0]',
        /not among the draft orders/u,
      ],
      [{ ...good, context: { ...good.context, selections: [] } }, 'context.selections', /non-empty array/u],
      [{ ...good, prefetch: 'x' }, 'prefetch', /expected an object/u],
      [[1, 2], '(body)', /expected a JSON object/u],
    ];
    for (const [body, path, message] of cases) {
      const res = await post('carekey-duplicate-order-select', body);
      expect(res.status, path).toBe(400);
      expect(res.type).toBe('application/problem+json');
      expect(res.body.path).toBe(path);
      expect(String(res.body.detail)).toMatch(message);
    }
    const unknown = await post('no-such-service', good);
    expect(unknown.status).toBe(404);
  });
});
