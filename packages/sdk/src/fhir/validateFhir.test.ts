import { type OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { FhirParseError, FhirValidationError } from '../errors/fhir.ts';
import { loadR4Definitions } from './loadR4Definitions.ts';
import { nodeR4DefinitionSources } from './node/nodeR4DefinitionSources.ts';
import { validateFhir } from './validateFhir.ts';

beforeAll(async () => {
  await loadR4Definitions({ sources: nodeR4DefinitionSources });
});

const observation = {
  resourceType: 'Observation',
  id: 'obs-1',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  effectiveDateTime: '2023-02-28T10:00:00Z',
};

async function refusal(
  input: unknown,
  options = {},
): Promise<{ error: FhirValidationError; issues: OperationOutcomeIssue[] }> {
  try {
    await validateFhir({ input: input as object, ...options });
  } catch (error) {
    if (!(error instanceof FhirValidationError)) throw error;
    return { error, issues: error.outcome.issue ?? [] };
  }
  throw new Error('validated without error');
}

const bundle = (type: string, entry: unknown[]) => ({ resourceType: 'Bundle', id: 'b1', type, entry });

describe('validateFhir', () => {
  it('accepts a valid resource and returns it with its warnings as an OperationOutcome', async () => {
    const { resources, outcome } = await validateFhir({ input: JSON.stringify(observation) });
    expect(resources).toEqual([{ resource: observation, entryIndex: undefined }]);
    expect(outcome.resourceType).toBe('OperationOutcome');
  });

  it('gives a resource without an id a fresh UUID', async () => {
    const { id: _id, ...noId } = observation;
    const { resources } = await validateFhir({ input: noId });
    expect(resources[0]?.resource.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('takes a missing id from a PUT request url, else from the urn:uuid fullUrl', async () => {
    const { resources } = await validateFhir({
      input: bundle('transaction', [
        { resource: { resourceType: 'Patient' }, request: { method: 'PUT', url: 'Patient/p-7' } },
        {
          fullUrl: 'urn:uuid:9B0C4A4E-0000-4000-8000-000000000001',
          resource: { resourceType: 'Patient' },
          request: { method: 'POST', url: 'Patient' },
        },
      ]),
    });
    expect(resources.map((r) => r.resource.id)).toEqual(['p-7', '9b0c4a4e-0000-4000-8000-000000000001']);
  });

  it('does not modify an object given as input', async () => {
    const input = structuredClone(
      bundle('collection', [{ fullUrl: 'urn:uuid:1', resource: { resourceType: 'Patient' } }]),
    );
    const before = JSON.stringify(input);
    await validateFhir({ input });
    expect(JSON.stringify(input)).toBe(before);
  });

  it('refuses malformed JSON with a FhirParseError', async () => {
    await expect(validateFhir({ input: '{"resourceType":"Patient",' })).rejects.toBeInstanceOf(
      FhirParseError,
    );
  });

  it.each([
    ['{"hello":1}', 'not a FHIR resource: no "resourceType" in {"hello":1}'],
    ['{"resourceType":42}', '"resourceType" is 42'],
  ])('refuses JSON that is not FHIR: %s', async (text, message) => {
    const { error, issues } = await refusal(text);
    expect(error.message).toContain(message);
    expect(issues[0]?.expression).toEqual(['resourceType']);
  });

  it('refuses an array or a string root (not a resource)', async () => {
    await expect(validateFhir({ input: '[{"resourceType":"Patient"}]' })).rejects.toThrow(/got an array/);
    await expect(validateFhir({ input: '"Patient"' })).rejects.toThrow(/got a string/);
  });

  it('refuses an unknown resourceType, at the root and in an entry', async () => {
    const root = await refusal({ resourceType: 'Pateint' });
    expect(root.error.message).toContain('unknown resourceType "Pateint"');
    const entry = await refusal(
      bundle('collection', [{ resource: observation }, { resource: { resourceType: 'Foo' } }]),
    );
    expect(entry.issues[0]?.expression).toEqual(['Bundle.entry[1].resource.resourceType']);
    expect(entry.issues[0]?.details?.text).toContain('unknown resourceType "Foo" in entry 1');
  });

  it('refuses a wrong JSON type, naming the resource and the FHIRPath', async () => {
    const { error, issues } = await refusal({ resourceType: 'Patient', id: 'p1', birthDate: 12 });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      expression: ['Patient.birthDate'],
      details: { text: 'Patient/p1: Invalid JSON type: expected string, but got number' },
    });
    expect(error.message).toContain(
      'Patient/p1: Invalid JSON type: expected string, but got number at Patient.birthDate',
    );
  });

  it('refuses missing required elements, each with its path in the Bundle', async () => {
    const { issues } = await refusal(
      bundle('collection', [
        { resource: observation },
        { resource: { resourceType: 'Observation', id: 'bad' } },
      ]),
    );
    expect(issues.map((i) => i.expression?.[0])).toEqual([
      'Bundle.entry[1].resource.status',
      'Bundle.entry[1].resource.code',
    ]);
    expect(issues[0]?.details?.text).toBe('Observation/bad (entry 1): Missing required property');
  });

  it('refuses codes outside a required binding (Medplum 4.5 lets them through)', async () => {
    const { issues } = await refusal({ ...observation, status: 'bogus' });
    expect(issues[0]).toMatchObject({ code: 'code-invalid', expression: ['Observation.status'] });
    expect(issues[0]?.details?.text).toContain(
      'code "bogus" is not in the required value set http://hl7.org/fhir/ValueSet/observation-status|4.0.1',
    );
    const gender = await refusal({ resourceType: 'Patient', gender: 'xx', name: [{ use: 'nick-name' }] });
    expect(gender.issues.map((i) => i.expression?.[0])).toEqual(['Patient.gender', 'Patient.name[0].use']);
    const bundleType = await refusal({ resourceType: 'Bundle', type: 'pile', entry: [] });
    expect(bundleType.error.message).toContain('a Bundle of type "pile" cannot be imported');
  });

  it('refuses impossible dates in any date, dateTime or instant element (Medplum checks only their format)', async () => {
    const { issues } = await refusal({
      resourceType: 'Patient',
      id: 'p1',
      meta: { lastUpdated: '2021-06-31T00:00:00Z' },
      birthDate: '2023-02-30',
      deceasedDateTime: '2021-04-31T10:00:00Z',
    });
    expect(issues.map((i) => [i.expression?.[0], i.details?.text])).toEqual([
      [
        'Patient.meta.lastUpdated',
        'Patient/p1: impossible instant "2021-06-31T00:00:00Z": June 2021 has 30 days, not 31',
      ],
      ['Patient.birthDate', 'Patient/p1: impossible date "2023-02-30": February 2023 has 28 days, not 30'],
      [
        'Patient.deceasedDateTime',
        'Patient/p1: impossible dateTime "2021-04-31T10:00:00Z": April 2021 has 30 days, not 31',
      ],
    ]);
    await expect(
      validateFhir({ input: { resourceType: 'Patient', birthDate: '2024-02-29' } }),
    ).resolves.toBeDefined();
    const format = await refusal({ resourceType: 'Patient', birthDate: '2021-13-01' });
    expect(format.issues.map((i) => i.expression?.[0])).toContain('Patient.birthDate');
  });

  it('T-20 refuses a resource id that is not a FHIR id (Medplum 4.5 does not check it)', async () => {
    const { issues } = await refusal({ resourceType: 'Patient', id: '../../etc/passwd' });
    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'value',
        details: {
          text: 'Patient/../../etc/passwd: id "../../etc/passwd" is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)',
        },
        expression: ['Patient.id'],
      },
    ]);
    const contained = await refusal({
      ...observation,
      contained: [{ resourceType: 'Practitioner', id: 'x'.repeat(65) }],
    });
    expect(contained.issues[0]?.expression).toEqual(['Observation.contained[0].id']);
  });

  it('refuses a broken urn:uuid reference, and allows references outside the Bundle', async () => {
    const input = bundle('transaction', [
      {
        fullUrl: 'urn:uuid:9b0c4a4e-0000-4000-8000-000000000001',
        resource: { resourceType: 'Patient' },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        fullUrl: 'urn:uuid:9b0c4a4e-0000-4000-8000-000000000002',
        resource: {
          ...observation,
          subject: { reference: 'urn:uuid:9b0c4a4e-0000-4000-8000-00000000dead' },
          performer: [
            { reference: 'Practitioner/123' },
            { reference: 'https://other.example/fhir/Organization/9' },
          ],
        },
        request: { method: 'POST', url: 'Observation' },
      },
    ]);
    const { issues } = await refusal(input);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      code: 'not-found',
      expression: ['Bundle.entry[1].resource.subject.reference'],
    });
    expect(issues[0]?.details?.text).toContain(
      'Observation/obs-1 (entry 1): broken reference "urn:uuid:9b0c4a4e-0000-4000-8000-00000000dead"',
    );
  });

  it('refuses a reference to a contained resource that is not there', async () => {
    const { issues } = await refusal({ ...observation, subject: { reference: '#nope' } });
    expect(issues[0]?.details?.text).toContain('broken reference "#nope": no contained resource has this id');
  });

  it('refuses duplicate resourceType/id and duplicate fullUrl', async () => {
    const dup = await refusal(
      bundle('collection', [{ resource: observation }, { resource: { ...observation } }]),
    );
    expect(dup.issues).toEqual([
      {
        severity: 'error',
        code: 'duplicate',
        details: { text: 'Bundle/b1: Observation/obs-1 appears twice, in entries 0 and 1' },
        expression: ['Bundle.entry[1].resource.id'],
        diagnostics: 'each resource may appear once in a Bundle; give each its own id',
      },
    ]);
    const urls = await refusal(
      bundle('collection', [
        { fullUrl: 'urn:uuid:x', resource: { resourceType: 'Patient', id: 'a' } },
        { fullUrl: 'urn:uuid:x', resource: { resourceType: 'Patient', id: 'b' } },
      ]),
    );
    expect(urls.issues.map((i) => i.details?.text)).toContain(
      'Bundle/b1: fullUrl "urn:uuid:x" appears twice (entry 1)',
    );
  });

  it('T-19 names every entry of a fault Medplum finds in entries alike (each kind of entry is checked once)', async () => {
    const patient = (id: string) => ({ resourceType: 'Patient', id });
    const entries = [
      {
        fullUrl: 'urn:uuid:1',
        request: { method: 'POST', url: 'Patient', bogus: 1 },
        resource: patient('a'),
      },
      { fullUrl: 'urn:uuid:2', request: { method: 'POST', url: 'Patient' }, resource: patient('b') },
      {
        fullUrl: 'urn:uuid:3',
        request: { method: 'POST', url: 'Patient', bogus: 1 },
        resource: patient('c'),
      },
      { fullUrl: 'urn:uuid:4 5', request: { method: 'POST', url: 'Patient' }, resource: patient('d') },
      {
        fullUrl: 'http://x.org/Patient/e/_history/1',
        request: { method: 'POST', url: 'Patient' },
        resource: patient('e'),
      },
      {
        fullUrl: 'urn:uuid:6',
        request: { method: 'POST', url: 'Patient', bogus: 1 },
        resource: patient('f'),
      },
      {
        fullUrl: 'urn:uuid:7',
        request: { method: 'POST', url: 'Patient' },
        timestamp: 1,
        resource: patient('g'),
      },
    ];
    const input = bundle('transaction', entries);
    const { issues } = await refusal(input);
    const found = issues.map((i) => `${i.expression?.[0]} ${i.details?.text}`);
    // What Medplum says of the whole shell, entry by entry (the oracle): the same faults at the same paths.
    const shell = { ...input, entry: entries.map(({ resource: _r, ...rest }) => rest) };
    let oracle: OperationOutcomeIssue[] = [];
    try {
      validateResource(shell as unknown as Resource);
    } catch (error) {
      oracle = (error as OperationOutcomeError).outcome.issue ?? [];
    }
    const expected = oracle
      .filter((i) => i.severity === 'error')
      .map((i) => `${i.expression?.[0]} Bundle/b1: ${i.details?.text}`);
    expect(expected.length).toBeGreaterThanOrEqual(6);
    expect([...found].sort()).toEqual([...expected].sort());
    for (const at of [0, 2, 5])
      expect(found).toContain(
        `Bundle.entry[${at}].request.bogus Bundle/b1: Invalid additional property "bogus"`,
      );
    expect(found.some((f) => f.startsWith('Bundle.entry[3].fullUrl '))).toBe(true);
    expect(found.some((f) => f.startsWith('Bundle.entry[4] ') && f.includes('bdl-8'))).toBe(true);
    expect(found.some((f) => f.startsWith('Bundle.entry[6].timestamp '))).toBe(true);
    expect(found.every((f) => !f.includes('urn:carekey:entry-shell:'))).toBe(true);
  });

  it('refuses a Bundle entry without a resource', async () => {
    const { issues } = await refusal(
      bundle('transaction', [{ request: { method: 'DELETE', url: 'Patient/1' } }]),
    );
    expect(issues[0]).toMatchObject({ code: 'required', expression: ['Bundle.entry[0].resource'] });
    expect(issues[0]?.details?.text).toBe(
      'Bundle/b1: entry 0 has no resource (request "DELETE" "Patient/1")',
    );
  });

  it('refuses a document Bundle that does not start with a Composition', async () => {
    const { issues } = await refusal({
      ...bundle('document', [{ resource: observation }]),
      identifier: { value: '1' },
      timestamp: '2020-01-01T00:00:00Z',
    });
    expect(issues.map((i) => i.details?.text)).toContain(
      'Bundle/b1: a document Bundle must start with a Composition (bdl-11)',
    );
  });

  it('T-19 refuses a Bundle of 50,000 entries at the entry limit (10,000), before validating any', async () => {
    const entries = Array.from({ length: 50_000 }, (_, i) => ({
      resource: { resourceType: 'Basic', id: `b${i}`, code: { text: 'x' } },
    }));
    const text = JSON.stringify(bundle('collection', entries));
    const start = performance.now();
    const { error, issues } = await refusal(text);
    expect(performance.now() - start).toBeLessThan(8_000); // validating 50,000 entries would take > 20 s
    expect(issues[0]?.code).toBe('too-costly');
    expect(error.message).toContain('Bundle/b1 has 50000 entries, over the limit of 10000');
  });

  it('T-19 refuses a Bundle of 50,000 entries held as an entry of another Bundle, before validating any', async () => {
    const entries = Array.from({ length: 50_000 }, (_, i) => ({
      resource: { resourceType: 'Basic', id: `b${i}`, code: { text: 'x' } },
    }));
    const inner = { ...bundle('collection', entries), id: 'inner' };
    const text = JSON.stringify(
      bundle('collection', [{ resource: { resourceType: 'Patient', id: 'p' } }, { resource: inner }]),
    );
    const start = performance.now();
    const { error, issues } = await refusal(text);
    expect(performance.now() - start).toBeLessThan(8_000); // validating them would take > 20 s
    expect(issues[0]).toMatchObject({ code: 'too-costly', expression: ['Bundle.entry[1].resource.entry'] });
    expect(error.message).toContain('the Bundle in entry 1 has 50000 entries, over the limit of 10000');
  });

  it('stops after maxIssues faults', async () => {
    const entries = Array.from({ length: 500 }, (_, i) => ({
      resource: { resourceType: 'Observation', id: `o${i}` },
    }));
    const { issues } = await refusal(bundle('collection', entries), { maxIssues: 10 });
    expect(issues).toHaveLength(10);
  });

  it('T-22 accepts an XSS payload in text.div as data, byte for byte', async () => {
    const div =
      '<div xmlns="http://www.w3.org/1999/xhtml"><script>globalThis.pwned=1</script><img src="x" onerror="globalThis.pwned=1"/>&lt;b&gt;</div>';
    const { resources } = await validateFhir({
      input: { resourceType: 'Patient', id: 'p', text: { status: 'generated', div } },
    });
    const patient = resources[0]?.resource as unknown as { text: { div: string } };
    expect(patient.text.div).toBe(div);
    expect((globalThis as { pwned?: number }).pwned).toBeUndefined();
  });
});
