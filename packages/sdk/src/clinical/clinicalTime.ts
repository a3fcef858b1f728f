/**
 * A FHIR date, dateTime or instant normalised for comparison: with a time, the instant in UTC as an ISO string
 * (`2015-08-23T01:16:09+00:00` and `2015-08-22T21:16:09-04:00` are equal); a date without time is kept as
 * written (`2015`, `2015-08`, `2015-08-23`: its precision is part of the fact). `''` for no date.
 */
export function normalizeTime(value: string | undefined): string {
  if (value === undefined) return '';
  if (!value.includes('T')) return value;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? value : new Date(ms).toISOString();
}

/**
 * Milliseconds since 1970 of a FHIR date, dateTime or instant, for sorting: a partial date counts from its start
 * (UTC). `undefined` for no or an unparsable date.
 */
export function timeOf(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = Date.parse(value.length === 4 ? `${value}-01-01` : value.length === 7 ? `${value}-01` : value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The calendar date (`YYYY-MM-DD` or less) of a FHIR date or dateTime, as written. */
export function dayOf(value: string | undefined): string {
  return value === undefined ? '' : value.slice(0, 10);
}
