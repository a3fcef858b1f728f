/**
 * FHIR date arithmetic for search (https://hl7.org/fhir/R4/search.html#date): a FHIR `date`, `dateTime` or
 * `instant` stands for the whole interval its precision covers (`2020` is all of 2020). Values without a time zone
 * are read as UTC (FHIR leaves the zone of such values to the server; a gateway serves one person or one clinic).
 */

/** A half-open interval of epoch milliseconds `[start, end)`. */
export type DateRange = { start: number; end: number };

const FHIR_DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/u;

/**
 * The interval a FHIR date/dateTime/instant covers, or `undefined` when the text is not one (or names an
 * impossible day such as `2021-02-30`).
 *
 * @example
 * fhirDateRange('2020-03'); // { start: Date.UTC(2020, 2, 1), end: Date.UTC(2020, 3, 1) }
 */
export function fhirDateRange(value: string): DateRange | undefined {
  const m = FHIR_DATE.exec(value);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  if (mo === undefined) return { start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1) };
  const month = Number(mo) - 1;
  if (month < 0 || month > 11) return undefined;
  if (d === undefined) return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
  const day = Number(d);
  const dayStart = Date.UTC(year, month, day);
  if (day < 1 || new Date(dayStart).getUTCMonth() !== month) return undefined;
  if (h === undefined) return { start: dayStart, end: Date.UTC(year, month, day + 1) };
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  let offset = 0;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000;
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0${frac}`) * 1000);
  const start = Date.UTC(year, month, day, hour, minute, second, ms) - offset;
  const width = frac !== undefined ? 1 : s !== undefined ? 1000 : 60_000;
  return { start, end: start + width };
}

/** FHIR search prefixes for ordered values (https://hl7.org/fhir/R4/search.html#prefix). */
export const DATE_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'] as const;
export type DatePrefix = (typeof DATE_PREFIXES)[number];

/** A parsed `date` search value: its prefix (default `eq`) and the interval of its value. */
export type DateCriterion = { prefix: DatePrefix; range: DateRange; text: string };

/** Parses a date search value such as `ge2020-01-01`; `undefined` when it is not one. */
export function parseDateCriterion(text: string): DateCriterion | undefined {
  const prefix = DATE_PREFIXES.find((p) => text.startsWith(p));
  const value = prefix === undefined ? text : text.slice(2);
  const range = fhirDateRange(value);
  if (range === undefined) return undefined;
  return { prefix: prefix ?? 'eq', range, text };
}

/**
 * Whether a resource's date interval matches a criterion, by the R4 rules: `eq` the resource's interval lies
 * within the value's, `ne` it does not, `gt`/`lt` it overlaps after/before, `ge`/`le` likewise or equal, `sa`/`eb`
 * it starts after/ends before, `ap` within 10 % of the distance to now (at least a day).
 */
export function matchesDate(target: DateRange, criterion: DateCriterion): boolean {
  const { start, end } = criterion.range;
  switch (criterion.prefix) {
    case 'eq':
      return target.start >= start && target.end <= end;
    case 'ne':
      return !(target.start >= start && target.end <= end);
    case 'gt':
      return target.end > end;
    case 'lt':
      return target.start < start;
    case 'ge':
      return target.end > start;
    case 'le':
      return target.start < end;
    case 'sa':
      return target.start >= end;
    case 'eb':
      return target.end <= start;
    case 'ap': {
      const margin = Math.max(86_400_000, Math.abs(Date.now() - start) * 0.1);
      return target.end > start - margin && target.start < end + margin;
    }
  }
}
