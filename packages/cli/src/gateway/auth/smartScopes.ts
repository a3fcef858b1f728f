import { FhirError } from '../fhir/FhirError.ts';

/**
 * One SMART App Launch scope on clinical data (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * v2 `patient/Observation.rs`, `user/*.rs`, `system/*.rs`, granular `patient/Observation.rs?category=laboratory`,
 * and v1 `.read` / `.*` (read + search). The gateway is read-only: `c`, `u`, `d` are accepted in a scope string but
 * grant nothing here.
 */
export type SmartScope = {
  /** `patient`: only the token's patient; `user` / `system`: everything the gateway's grants cover. */
  context: 'patient' | 'user' | 'system';
  /** A resource type, or `*`. */
  resourceType: string;
  read: boolean;
  search: boolean;
  /** Granular v2 restriction: a category token (`code` or `system|code`). */
  category?: string;
  /** The scope as written. */
  text: string;
};

const SCOPE = /^(patient|user|system)\/(\*|[A-Z][A-Za-z]{1,63})\.(read|write|\*|c?r?u?d?s?)(?:\?([^\s]*))?$/u;

/** Non-clinical scopes the gateway ignores (OpenID, launch context, refresh). */
const IGNORED = /^(openid|fhirUser|profile|offline_access|online_access|launch(\/patient|\/encounter)?)$/u;

/**
 * Parses a space-separated scope string. Unknown or malformed clinical scopes are refused (a typo must not
 * silently grant less, or more).
 *
 * @throws FhirError 400 naming the scope at fault.
 */
export function parseSmartScopes(text: string): SmartScope[] {
  const out: SmartScope[] = [];
  for (const item of text.split(/\s+/u).filter((s) => s.length > 0)) {
    if (IGNORED.test(item)) continue;
    const m = SCOPE.exec(item);
    if (m === null || m[3] === '') {
      throw new FhirError(400, 'invalid', `not a SMART scope: ${JSON.stringify(item.slice(0, 80))}`, [
        'scope',
      ]);
    }
    const [, context, resourceType, permissions, query] = m as unknown as [
      string,
      SmartScope['context'],
      string,
      string,
      string?,
    ];
    const read = permissions === 'read' || permissions === '*' || permissions.includes('r');
    const search = permissions === 'read' || permissions === '*' || permissions.includes('s');
    const scope: SmartScope = { context, resourceType, read, search, text: item };
    if (query !== undefined) {
      const params = new URLSearchParams(query);
      const names = [...params.keys()];
      const category = params.get('category');
      if (names.length !== 1 || category === null || category.length === 0) {
        throw new FhirError(
          400,
          'not-supported',
          `scope ${item}: only a ?category= restriction is supported`,
          ['scope'],
        );
      }
      scope.category = category;
    }
    out.push(scope);
  }
  return out;
}

/** Scopes that allow an interaction on a resource type. */
export function scopesFor(
  scopes: readonly SmartScope[],
  resourceType: string,
  interaction: 'read' | 'search',
) {
  return scopes.filter(
    (s) =>
      (s.resourceType === '*' || s.resourceType === resourceType) &&
      (interaction === 'read' ? s.read : s.search),
  );
}
