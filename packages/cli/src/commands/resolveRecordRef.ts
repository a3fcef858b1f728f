import type { Hex } from 'viem';
import type { LocalRecord } from '../home/recordStore.ts';
import { CliError } from '../io/CliError.ts';

/**
 * Finds a record by its id (`0x` + 64 hex digits) or an unambiguous prefix of at least 8 hex digits (with or
 * without `0x`), as `carekey ls` prints them.
 *
 * @throws CliError for a malformed id, an unknown one, or an ambiguous prefix.
 */
export function resolveRecordRef(ref: string, records: readonly LocalRecord[]): LocalRecord {
  const hex = ref.trim().toLowerCase().replace(/^0x/u, '');
  if (!/^[0-9a-f]{8,64}$/u.test(hex)) {
    throw new CliError(`malformed record id '${ref.slice(0, 80)}'`, {
      hint: 'give the id `carekey ls` shows (at least 8 hex digits)',
    });
  }
  const matches = records.filter((r) => r.recordId.slice(2).startsWith(hex));
  if (matches.length === 0)
    throw new CliError(`unknown record ${ref.slice(0, 80)}`, { hint: 'see `carekey ls`' });
  if (matches.length > 1) throw new CliError(`record id ${ref} is ambiguous`, { hint: 'give more digits' });
  return matches[0] as LocalRecord;
}

/** A full record id from the command line (for records not in the local index, e.g. shared with me). */
export function parseRecordId(ref: string): Hex {
  const hex = ref.trim().toLowerCase();
  if (!/^0x[0-9a-f]{64}$/u.test(hex)) {
    throw new CliError(`malformed record id '${ref.slice(0, 80)}'`, {
      hint: 'a record id is 0x followed by 64 hex digits',
    });
  }
  return hex as Hex;
}
