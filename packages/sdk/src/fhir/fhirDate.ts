/**
 * FHIR R4 date, dateTime and instant values that match their regular expression but name no real moment,
 * like `2023-02-30` or `2021-04-31T10:00:00Z` (Medplum checks only the regular expressions).
 * See https://hl7.org/fhir/R4/datatypes.html#dateTime: "Dates SHALL be valid dates".
 */
const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-](\d{2}):(\d{2}))?)?)?)?$/;

/**
 * Says why a FHIR date, dateTime or instant is impossible, or returns `undefined` when it is a real calendar
 * date and time (or when it is not date-shaped at all: the validator reports the format).
 *
 * @example
 * impossibleFhirDate('2023-02-30'); // 'February 2023 has 28 days'
 */
export function impossibleFhirDate(value: string): string | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const year = Number(m[1]);
  if (m[2] !== undefined) {
    const month = Number(m[2]);
    if (month < 1 || month > 12) return `month ${m[2]} does not exist`;
    if (m[3] !== undefined) {
      const day = Number(m[3]);
      const days = daysInMonth(year, month);
      if (day < 1 || day > days) {
        return `${MONTHS[month - 1]} ${m[1]} has ${days} days, not ${day}`;
      }
    }
  }
  if (m[4] !== undefined && Number(m[4]) > 23) return `hour ${m[4]} does not exist`;
  if (m[5] !== undefined && Number(m[5]) > 59) return `minute ${m[5]} does not exist`;
  // 60 is a leap second, which the FHIR regular expression allows.
  if (m[6] !== undefined && Number(m[6]) > 60) return `second ${m[6]} does not exist`;
  if (m[8] !== undefined && (Number(m[8]) > 14 || Number(m[9]) > 59))
    return `time zone offset ${m[7]} does not exist`;
  return undefined;
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
