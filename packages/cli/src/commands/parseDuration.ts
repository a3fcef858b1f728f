import { CliError } from '../io/CliError.ts';

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** Seconds in a duration like `30m`, `12h`, `7d`, `2w` (a share always has a finite expiry). */
export function parseDuration(text: string): number {
  const match = /^([1-9][0-9]{0,5})([smhdw])$/u.exec(text.trim());
  if (match === null) {
    throw new CliError(`malformed duration '${text.slice(0, 40)}'`, { hint: 'use e.g. 30m, 12h, 7d or 2w' });
  }
  return Number(match[1]) * (UNITS[match[2] as string] as number);
}
