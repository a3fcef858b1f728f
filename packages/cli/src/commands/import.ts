import type { Command } from 'commander';
import { output } from '../io/output.ts';
import { openSession } from './openSession.ts';
import { publishFhir } from './publishFhir.ts';

/** `carekey import <file>`: a patient imports FHIR R4 (a Bundle or one resource) as its own records. */
export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'import FHIR R4 (a Bundle or one resource): validate, encrypt each record, publish one batch',
    )
    .argument('<file>', 'FHIR R4 JSON file, e.g. a Synthea patient bundle')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      const session = await openSession();
      const result = await publishFhir({ session, file, patient: session.keys.address });
      const byType = countBy(result.records.map((r) => r.resourceType));
      output(
        options,
        {
          patient: result.patient,
          imported: result.records.length,
          batches: result.batches,
          resourceTypes: byType,
          recordIds: result.records.map((r) => r.recordId),
        },
        () =>
          [
            `Imported ${result.records.length} records from ${file} in ${result.batches.length} batch(es).`,
            ...Object.entries(byType).map(([type, n]) => `  ${String(n).padStart(5)}  ${type}`),
          ].join('\n'),
      );
    });
}

/** Counts of each value, most frequent first. */
export function countBy(values: readonly string[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
}
