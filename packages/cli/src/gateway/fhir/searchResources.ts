import type { SearchRequest } from '@medplum/core';
import {
  evalFhirPath,
  getSearchParameters,
  isResourceType,
  matchesSearchRequest,
  parseSearchRequest,
} from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import {
  type DateCriterion,
  type DateRange,
  fhirDateRange,
  matchesDate,
  parseDateCriterion,
} from '../store/fhirDates.ts';
import { FhirError } from './FhirError.ts';

/** Default and largest page size. */
export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;

/** Control parameters the gateway understands (anything else starting with `_` is refused). */
const CONTROL = new Set(['_count', '_offset', '_sort', '_format', '_summary']);
/** Modifiers evaluated faithfully in memory, by parameter type. */
const MODIFIERS: Record<string, readonly string[]> = {
  token: ['', 'not', 'missing'],
  reference: ['', 'missing'],
  string: ['', 'exact', 'contains', 'missing'],
  uri: [''],
  date: ['', 'missing'],
  number: [''],
  quantity: [''],
};

/** A parsed FHIR search: which resources match, how many per page, from where, in which order. */
export type ParsedSearch = {
  resourceType: string;
  /** Non-date filters, as a query for `@medplum/core`'s in-memory matcher. */
  query: Record<string, string[]>;
  /** Date filters: every parameter must match; within one parameter, any of its comma-separated values. */
  dates: { param: SearchParameter; values: DateCriterion[] }[];
  count: number;
  offset: number;
  /** `date` ascending (default: the store's clinical-date order), or descending. */
  sort: 'asc' | 'desc' | undefined;
  summaryCount: boolean;
  /** The non-date filters parsed once for `matchesSearchRequest` (undefined when there are none). */
  request: SearchRequest | undefined;
};

/** Whether `type` is an R4 resource type. */
export function isKnownResourceType(type: string): boolean {
  return /^[A-Z][A-Za-z]{1,63}$/u.test(type) && isResourceType(type) === true;
}

function integer(name: string, value: string, min: number, max: number): number {
  if (!/^\d{1,9}$/u.test(value) || Number(value) < min || Number(value) > max) {
    throw new FhirError(
      400,
      'invalid',
      `${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(value.slice(0, 40))}`,
      [name],
    );
  }
  return Number(value);
}

/**
 * Parses and checks the search parameters of `GET /{type}?…` (https://hl7.org/fhir/R4/search.html): each name
 * must be an R4 search parameter of the type (or a supported control parameter), each modifier one evaluated
 * here, each date a FHIR date with an optional prefix. Strict: a parameter the gateway would ignore is an error
 * (`Prefer: handling=strict` semantics), so an app never mistakes a partial answer for a full one.
 *
 * @throws FhirError 400 naming the parameter and the value at fault.
 */
export function parseSearch(resourceType: string, params: URLSearchParams): ParsedSearch {
  const definitions = getSearchParameters(resourceType) ?? {};
  const parsed: ParsedSearch = {
    resourceType,
    query: {},
    dates: [],
    count: DEFAULT_COUNT,
    offset: 0,
    sort: undefined,
    summaryCount: false,
    request: undefined,
  };
  for (const [key, value] of params) {
    if (CONTROL.has(key)) {
      if (key === '_count') parsed.count = integer('_count', value, 0, MAX_COUNT);
      else if (key === '_offset') parsed.offset = integer('_offset', value, 0, 1_000_000_000);
      else if (key === '_format') {
        if (!['json', 'application/json', 'application/fhir+json'].includes(value)) {
          throw new FhirError(
            400,
            'not-supported',
            `_format ${JSON.stringify(value.slice(0, 40))}: only JSON is served`,
            ['_format'],
          );
        }
      } else if (key === '_summary') {
        if (value !== 'count' && value !== 'false') {
          throw new FhirError(
            400,
            'not-supported',
            `_summary=${value.slice(0, 40)}: only count and false are supported`,
            ['_summary'],
          );
        }
        parsed.summaryCount = value === 'count';
      } else if (key === '_sort') {
        if (value !== 'date' && value !== '-date') {
          throw new FhirError(
            400,
            'not-supported',
            `_sort=${value.slice(0, 40)}: only date and -date are supported`,
            ['_sort'],
          );
        }
        parsed.sort = value === 'date' ? 'asc' : 'desc';
      }
      continue;
    }
    const [name = '', modifier = '', ...rest] = key.split(':');
    const param = definitions[name];
    if (param === undefined || rest.length > 0) {
      throw new FhirError(
        400,
        'not-supported',
        `unknown search parameter ${JSON.stringify(key.slice(0, 60))} for ${resourceType}`,
        [key],
      );
    }
    const allowed = MODIFIERS[param.type ?? ''];
    if (allowed === undefined || !allowed.includes(modifier)) {
      throw new FhirError(
        400,
        'not-supported',
        `search parameter ${JSON.stringify(key.slice(0, 60))}: ${modifier === '' ? `${param.type} parameters are` : `the :${modifier} modifier is`} not supported here`,
        [key],
      );
    }
    if (value.length === 0 || value.length > 1000) {
      throw new FhirError(400, 'invalid', `search parameter ${key}: empty or overlong value`, [key]);
    }
    if (modifier === 'missing' && value !== 'true' && value !== 'false') {
      throw new FhirError(400, 'invalid', `${key} must be true or false`, [key]);
    }
    if (param.type === 'date' && modifier === '') {
      const values = value.split(',').map((v) => {
        const criterion = parseDateCriterion(v);
        if (criterion === undefined) {
          throw new FhirError(
            400,
            'invalid',
            `${key}: not a FHIR date with an optional prefix (eq, ne, gt, lt, ge, le, sa, eb, ap): ${JSON.stringify(v.slice(0, 40))}`,
            [key],
          );
        }
        return criterion;
      });
      parsed.dates.push({ param, values });
      continue;
    }
    let normalised = value;
    // A bare id for a reference parameter with one target type (patient=123) means Type/123.
    if (param.type === 'reference' && param.target?.length === 1) {
      normalised = value
        .split(',')
        .map((v) => (v.includes('/') ? v : `${param.target?.[0]}/${v}`))
        .join(',');
    }
    parsed.query[key] = [...(parsed.query[key] ?? []), normalised];
  }
  if (Object.keys(parsed.query).length > 0) {
    try {
      parsed.request = parseSearchRequest(resourceType, parsed.query);
    } catch (cause) {
      throw new FhirError(
        400,
        'invalid',
        `cannot parse the search: ${cause instanceof Error ? cause.message : String(cause)}`,
      );
    }
  }
  return parsed;
}

/** The intervals a date search parameter's expression yields on a resource (dates, Periods, instants). */
export function dateRangesOf(resource: Resource, param: SearchParameter): DateRange[] {
  const out: DateRange[] = [];
  for (const value of evalFhirPath(param.expression ?? '', resource)) {
    if (typeof value === 'string') {
      const r = fhirDateRange(value);
      if (r !== undefined) out.push(r);
    } else if (value !== null && typeof value === 'object') {
      const { start, end } = value as { start?: unknown; end?: unknown };
      const from = typeof start === 'string' ? fhirDateRange(start) : undefined;
      const to = typeof end === 'string' ? fhirDateRange(end) : undefined;
      if (from !== undefined || to !== undefined) {
        out.push({
          start: from?.start ?? Number.NEGATIVE_INFINITY,
          end: to?.end ?? Number.POSITIVE_INFINITY,
        });
      }
    }
  }
  return out;
}

/** Whether a resource matches a parsed search. */
export function matchesSearch(resource: Resource, search: ParsedSearch): boolean {
  if (resource.resourceType !== search.resourceType) return false;
  for (const { param, values } of search.dates) {
    const ranges = dateRangesOf(resource, param);
    if (!values.some((v) => ranges.some((r) => matchesDate(r, v)))) return false;
  }
  return search.request === undefined || matchesSearchRequest(resource, search.request);
}

/**
 * Terms a matching resource must hold, for narrowing candidates with `GatewayStore.withTerm` before the exact
 * matcher: one list per token or reference parameter without a modifier, any of whose terms will do (its
 * comma-separated values). Parameters and values it cannot narrow safely (modifiers, `|code`, `system|`, URLs,
 * other types) give no list: they are left to the exact matcher alone.
 */
export function narrowingTerms(search: ParsedSearch): string[][] {
  const lists: string[][] = [];
  const definitions = getSearchParameters(search.resourceType) ?? {};
  for (const [key, values] of Object.entries(search.query)) {
    const param = definitions[key];
    if (param === undefined || (param.type !== 'token' && param.type !== 'reference')) continue;
    for (const value of values) {
      const terms = value.split(',');
      const safe = terms.every((t) =>
        param.type === 'token'
          ? t.length > 0 && !t.startsWith('|') && !t.endsWith('|')
          : t.length > 0 && !t.includes('|') && !t.includes('://'),
      );
      if (safe) lists.push(terms);
    }
  }
  return lists;
}
