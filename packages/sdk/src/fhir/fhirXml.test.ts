import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FhirImportError } from '../errors/fhir.ts';
import { fhirXmlToJson, isFhirXml } from './fhirXml.ts';
import { loadR4Definitions } from './loadR4Definitions.ts';
import { nodeR4DefinitionSources } from './node/nodeR4DefinitionSources.ts';
import { splitIntoRecords } from './splitIntoRecords.ts';

const IPS = join(import.meta.dirname, '../../../../../shared/data/ips');
const definitions = { sources: nodeR4DefinitionSources };
beforeAll(async () => {
  await loadR4Definitions(definitions);
});

/** The machine conversion shipped beside the XML, without what its converter got wrong (docs/fhir.md §7). */
function withoutConverterFaults(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutConverterFaults);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== 'fhir_comments' && k !== 'text')
      .map(([k, v]) => [k, withoutConverterFaults(v)]),
  );
}

const patient = (body: string) => `<Patient xmlns="http://hl7.org/fhir"><id value="p1"/>${body}</Patient>`;

describe('FHIR R4 XML (the HL7 IPS examples)', () => {
  it.each([
    ['IPS-bundle-01.xml', 20],
    ['IPS-bundle-with-immunization.xml', 21],
  ])('%s converts to valid R4 JSON and splits into %i records, narratives kept', async (file, count) => {
    const xml = readFileSync(join(IPS, file), 'utf8');
    expect(isFhirXml(xml)).toBe(true);
    const json = fhirXmlToJson(xml) as {
      entry: { resource: { text?: { div: string }; section?: { text: { div: string } }[] } }[];
    };
    // Same content as FHIR.js's conversion, plus the narratives it dropped, without its fhir_comments.
    const converted = JSON.parse(readFileSync(join(IPS, file.replace('.xml', '.converted.json')), 'utf8'));
    expect(withoutConverterFaults(json)).toEqual(withoutConverterFaults(converted));
    const divs = json.entry.flatMap((e) => [
      e.resource.text?.div,
      ...(e.resource.section ?? []).map((s) => s.text.div),
    ]);
    expect(divs.filter((d) => d !== undefined).length).toBeGreaterThan(5);
    for (const div of divs)
      if (div !== undefined) expect(div).toMatch(/^<div xmlns="http:\/\/www\.w3\.org\/1999\/xhtml"[ >]/u);
    expect(divs.join('')).not.toContain('xhtml:');
    const { records } = await splitIntoRecords({ input: json, definitions });
    expect(records).toHaveLength(count);
    expect(records[0]?.resourceType).toBe('Composition');
  });

  it('follows the R4 JSON rules: arrays by cardinality, numbers and booleans, _name for ids and extensions, contained resources', () => {
    const json = fhirXmlToJson(
      patient(
        '<active value="true"/>' +
          '<name><given value="Ann"/><given id="g2" value="Lee"><extension url="http://x/e"><valueString value="y"/></extension></given></name>' +
          '<birthDate value="1970-01-01"><extension url="http://hl7.org/fhir/StructureDefinition/patient-birthTime"><valueDateTime value="1970-01-01T10:00:00Z"/></extension></birthDate>' +
          '<multipleBirthInteger value="2"/>' +
          '<contained><Organization><id value="o1"/><name value="Clinic"/></Organization></contained>' +
          '<managingOrganization><reference value="#o1"/></managingOrganization>',
      ),
    );
    expect(json).toEqual({
      resourceType: 'Patient',
      id: 'p1',
      active: true,
      name: [
        {
          given: ['Ann', 'Lee'],
          _given: [null, { id: 'g2', extension: [{ url: 'http://x/e', valueString: 'y' }] }],
        },
      ],
      birthDate: '1970-01-01',
      _birthDate: {
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
            valueDateTime: '1970-01-01T10:00:00Z',
          },
        ],
      },
      multipleBirthInteger: 2,
      contained: [{ resourceType: 'Organization', id: 'o1', name: 'Clinic' }],
      managingOrganization: { reference: '#o1' },
    });
  });

  it.each([
    [
      'an element R4 does not define',
      patient('<favouriteColour value="blue"/>'),
      /Patient\.favouriteColour is not an element of Patient/u,
    ],
    [
      'a boolean that is not one',
      patient('<active value="yes"/>'),
      /Patient\.active: "yes" is not a boolean/u,
    ],
    [
      'a number that is not one',
      patient('<multipleBirthInteger value="two"/>'),
      /Patient\.multipleBirthInteger: "two" is not a number/u,
    ],
    [
      'an element given twice that may appear once',
      patient('<gender value="male"/><gender value="female"/>'),
      /Patient\.gender appears twice/u,
    ],
    [
      'an unknown resource type',
      '<Spaceship xmlns="http://hl7.org/fhir"><id value="s"/></Spaceship>',
      /unknown resource type "Spaceship"/u,
    ],
    ['a DOCTYPE (entities)', `<!DOCTYPE x [<!ENTITY a "b">]>${patient('')}`, /DOCTYPE/u],
    [
      'XML that is not well-formed',
      '<Patient xmlns="http://hl7.org/fhir"><id value="p1">',
      /not well-formed XML/u,
    ],
  ])('T-19 refuses %s, naming the path', (_what, xml, message) => {
    const error = (() => {
      try {
        fhirXmlToJson(xml);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FhirImportError);
    expect((error as Error).message).toMatch(message);
  });

  it('tells FHIR XML from C-CDA (another namespace)', () => {
    const ccda = readFileSync(
      new URL('./testdata/ccda/CCDA_Functional_Status_v1.xml', import.meta.url),
      'utf8',
    );
    expect(isFhirXml(ccda)).toBe(false);
    expect(
      isFhirXml('<?xml version="1.0"?>\n<!-- a comment -->\n<Bundle xmlns="http://hl7.org/fhir"/>'),
    ).toBe(true);
  });
});
