import type { Resource } from '@medplum/fhirtypes';

/**
 * The category of a record: `resourceType`, or `resourceType|code` with the first code of the resource's
 * `category` element (Observation `laboratory`, `vital-signs`…; Condition `encounter-diagnosis`;
 * AllergyIntolerance `food`; DocumentReference, DiagnosticReport, CarePlan, Procedure…). Category tags
 * (`categoryTag`) are computed from it, so grants can be scoped by it.
 *
 * @example
 * recordCategory(observation); // 'Observation|vital-signs'
 */
export function recordCategory(resource: Resource): string {
  const code = firstCode((resource as { category?: unknown }).category);
  return code === undefined ? resource.resourceType : `${resource.resourceType}|${code}`;
}

function firstCode(category: unknown): string | undefined {
  const first = Array.isArray(category) ? category[0] : category;
  if (typeof first === 'string') return first || undefined; // a code, like AllergyIntolerance.category
  if (first === null || typeof first !== 'object') return undefined;
  const codings = (first as { coding?: unknown }).coding;
  if (Array.isArray(codings)) {
    for (const coding of codings) {
      const code = (coding as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && code) return code;
    }
  }
  const code = (first as { code?: unknown }).code; // a Coding, like Composition.category in some profiles
  return typeof code === 'string' && code ? code : undefined;
}
