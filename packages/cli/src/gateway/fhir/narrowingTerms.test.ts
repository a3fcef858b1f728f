import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitIntoRecords } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { GatewayStore, OWN_RECORD_GRANT, type StoredRecord } from '../store/openGatewayStore.ts';
import { loadGatewayDefinitions } from './loadGatewayDefinitions.ts';
import { matchesSearch, narrowingTerms, parseSearch } from './searchResources.ts';

const SYNTHEA = join(
  import.meta.dirname,
  '../../../../../../shared/data/synthea/bundles/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json',
);
const OWNER = '0x00000000000000000000000000000000000000aa';
let store: GatewayStore;
let patientId: string;

beforeAll(async () => {
  await loadGatewayDefinitions();
  const { records } = await splitIntoRecords({
    input: readFileSync(SYNTHEA),
    definitions: { sources: nodeR4DefinitionSources },
  });
  const stored: StoredRecord[] = records.map((r, i) => ({
    recordId: `0x${i.toString(16).padStart(64, '0')}`,
    blobId: 'bafkreia',
    patient: OWNER,
    custodian: null,
    resourceType: r.resourceType,
    fhirId: r.id,
    category: r.category,
    clinicalDate: r.clinicalDate ?? null,
    grantId: OWN_RECORD_GRANT,
    sha256: r.sha256,
    syncedAt: '2026-01-01T00:00:00Z',
    resource: r.resource,
  }));
  store = new GatewayStore('/nonexistent', OWNER, 'age1unused', {
    kind: 'carekey-gateway-store',
    version: 1,
    owner: OWNER,
    syncedAt: null,
    records: stored,
  });
  patientId = records.find((r) => r.resourceType === 'Patient')?.id as string;
}, 120_000);

/** What the gateway answers (narrowed by the term index first) and what the exact matcher alone finds. */
function both(type: string, query: string): { narrowed: Resource[]; exact: Resource[]; lists: number } {
  const parsed = parseSearch(type, new URLSearchParams(query));
  const all = store.search({ resourceType: type });
  let candidates = all;
  const lists = narrowingTerms(parsed);
  for (const terms of lists) {
    const holders = terms.map((t) => store.withTerm(t));
    candidates = candidates.filter((r) => holders.some((h) => h.has(r)));
  }
  return {
    narrowed: candidates.filter((r) => matchesSearch(r.resource, parsed)).map((r) => r.resource),
    exact: all.filter((r) => matchesSearch(r.resource, parsed)).map((r) => r.resource),
    lists: lists.length,
  };
}

describe('gateway search: the term index narrows candidates without changing an answer', () => {
  it('the same resources for token, reference and combined searches, with and without the index', () => {
    const observation = store.search({ resourceType: 'Observation' })[0]?.resource as {
      id: string;
      code: { coding: { system: string; code: string }[] };
    };
    const coding = observation.code.coding[0] as { system: string; code: string };
    const cases: [string, string, number][] = [
      ['Observation', `patient=${patientId}`, 1],
      ['Observation', `subject=Patient/${patientId}`, 1],
      ['Observation', `code=${coding.system}|${coding.code}`, 1],
      ['Observation', `code=${coding.code.toUpperCase()}`, 1],
      ['Observation', `code=${coding.code},29463-7`, 1],
      ['Observation', `patient=${patientId}&category=laboratory`, 2],
      ['Observation', 'category=http://terminology.hl7.org/CodeSystem/observation-category|vital-signs', 1],
      ['Observation', 'status=final', 1],
      ['Observation', `_id=${observation.id}`, 1],
      ['Observation', `code:not=${coding.code}`, 0],
      ['Observation', `code=${coding.system}|`, 0],
      ['Condition', `patient=${patientId}&clinical-status=active`, 2],
      ['Immunization', `patient=Patient/${patientId}`, 1],
      ['Patient', 'gender=male', 1],
      ['Encounter', 'patient=nobody', 1],
    ];
    for (const [type, query, lists] of cases) {
      const { narrowed, exact, lists: used } = both(type, query);
      expect(narrowed, `${type}?${query}`).toEqual(exact);
      expect(used, `${type}?${query} narrowing lists`).toBe(lists);
    }
    expect(both('Observation', `patient=${patientId}`).exact.length).toBeGreaterThan(20);
    expect(both('Observation', `code=${coding.system}|${coding.code}`).narrowed.length).toBeGreaterThan(0);
  });
});
