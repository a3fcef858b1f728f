import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';

/**
 * The codes of the R4 ValueSets that required bindings of `code` elements point to (Observation.status,
 * Patient.gender, Bundle.type…), expanded from the R4 `valuesets.json`. Medplum 4.5 does not check
 * bindings; we check those whose ValueSet can be enumerated from FHIR's own CodeSystems (include whole
 * systems or listed concepts). ValueSets built on filters or external systems (MIME types, languages, UCUM)
 * are not enumerable: `codes` returns `undefined` and the element is not checked.
 */
export class RequiredCodes {
  readonly #valueSets = new Map<string, ValueSet>();
  readonly #codeSystems = new Map<string, CodeSystem>();
  readonly #expanded = new Map<string, Set<string> | undefined>();

  constructor(bundle: Bundle) {
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType === 'ValueSet' && resource.url) this.#valueSets.set(resource.url, resource);
      if (resource?.resourceType === 'CodeSystem' && resource.url)
        this.#codeSystems.set(resource.url, resource);
    }
  }

  /** The allowed codes of a ValueSet (`url` or `url|version`), or `undefined` when it cannot be enumerated. */
  codes(valueSetUrl: string): Set<string> | undefined {
    const url = valueSetUrl.split('|')[0] as string;
    if (this.#expanded.has(url)) return this.#expanded.get(url);
    this.#expanded.set(url, undefined); // guards against include cycles
    const codes = this.#expand(url);
    this.#expanded.set(url, codes);
    return codes;
  }

  #expand(url: string): Set<string> | undefined {
    const valueSet = this.#valueSets.get(url);
    const compose = valueSet?.compose;
    if (!compose?.include?.length || compose.exclude?.length) return undefined;
    const codes = new Set<string>();
    for (const include of compose.include) {
      if (include.filter?.length || (include.valueSet?.length && include.system)) return undefined;
      for (const nested of include.valueSet ?? []) {
        const more = this.codes(nested);
        if (!more) return undefined;
        for (const code of more) codes.add(code);
      }
      if (!include.system) continue;
      if (include.concept?.length) {
        for (const concept of include.concept) codes.add(concept.code);
        continue;
      }
      const system = this.#codeSystems.get(include.system);
      if (!system?.concept?.length || system.content !== 'complete') return undefined;
      addConcepts(system.concept, codes);
    }
    return codes.size > 0 ? codes : undefined;
  }
}

function addConcepts(concepts: CodeSystemConcept[], codes: Set<string>): void {
  for (const concept of concepts) {
    codes.add(concept.code);
    if (concept.concept) addConcepts(concept.concept, codes);
  }
}
