import type { Resource } from '@medplum/fhirtypes';

/**
 * Elements holding the clinically relevant date of a resource, best first. `[x]` elements are tried as
 * `dateTime`, `instant`, `date`, `Period.start`, `Timing.event[0]`.
 */
const CANDIDATES = [
  'effective[x]',
  'onset[x]',
  'performed[x]',
  'occurrence[x]',
  'period',
  'started',
  'date',
  'authoredOn',
  'recordedDate',
  'recorded',
  'issued',
  'billablePeriod',
  'created',
] as const;

/**
 * The best clinical date of a resource, as written in it (a FHIR date, dateTime or instant, precision and
 * time zone kept): `effective[x]`, `onset[x]`, `performed[x]`, `occurrence[x]`, `period.start`, `started` (ImagingStudy), `date`,
 * `authoredOn`, `recordedDate`, `recorded`, `issued`, `billablePeriod.start`, `created`,
 * whichever comes first; `undefined` if it has none.
 *
 * @example
 * clinicalDate({ resourceType: 'Observation', effectiveDateTime: '2020-01-02T10:00:00Z', ... }); // '2020-01-02T10:00:00Z'
 */
export function clinicalDate(resource: Resource): string | undefined {
  const r = resource as unknown as Record<string, unknown>;
  for (const name of CANDIDATES) {
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      const found =
        asDate(r[`${base}DateTime`]) ??
        asDate(r[`${base}Instant`]) ??
        asDate(r[`${base}Date`]) ??
        periodStart(r[`${base}Period`]) ??
        timingEvent(r[`${base}Timing`]);
      if (found) return found;
    } else {
      const found = asDate(r[name]) ?? periodStart(r[name]);
      if (found) return found;
    }
  }
  return undefined;
}

function asDate(value: unknown): string | undefined {
  return typeof value === 'string' && /^\d{4}/.test(value) ? value : undefined;
}

function periodStart(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  return asDate((value as { start?: unknown }).start);
}

function timingEvent(value: unknown): string | undefined {
  const events = (value as { event?: unknown } | null | undefined)?.event;
  return Array.isArray(events) ? asDate(events[0]) : undefined;
}
