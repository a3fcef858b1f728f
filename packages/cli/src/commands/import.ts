import type { Command } from 'commander';
import { output } from '../io/output.ts';
import { openSession, type Session } from './openSession.ts';
import { publishFhir } from './publishFhir.ts';

/**
 * `carekey import <file>`: a patient imports FHIR R4 (a Bundle or one resource), a C-CDA document, a DICOM file or
 * a PDF as its own records (docs/fhir.md).
 */
export function registerImport(program: Command): void {
  program
    .command('import')
    .description(
      'import FHIR R4 JSON, a C-CDA document, a DICOM file or a PDF: validate, encrypt each record, publish',
    )
    .argument('<file>', 'FHIR R4 JSON (e.g. a Synthea bundle), C-CDA XML, DICOM (.dcm) or PDF')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      const session = await openSession();
      const result = await publishFhir({ session, file, patient: session.keys.address });
      // Keep the emergency summary current (docs/emergency.md) when the patient allows break-glass.
      const emergency = await refreshAfterImport(session);
      const byType = countBy(result.records.map((r) => r.resourceType));
      output(
        options,
        {
          patient: result.patient,
          format: result.format,
          imported: result.records.length,
          batches: result.batches,
          resourceTypes: byType,
          recordIds: result.records.map((r) => r.recordId),
          ...(result.repairs === undefined ? {} : { repairs: result.repairs }),
          ...(emergency === undefined ? {} : { emergency }),
        },
        () =>
          [
            `Imported ${result.records.length} records from ${file} in ${result.batches.length} batch(es).`,
            ...Object.entries(byType).map(([type, n]) => `  ${String(n).padStart(5)}  ${type}`),
            ...(emergency === undefined
              ? []
              : [
                  `Emergency summary refreshed (policy ${emergency.policy}): record ${emergency.summaryRecordId}`,
                ]),
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

/** After an import: rebuild the emergency summary if the patient's policy is not off (nothing otherwise). */
async function refreshAfterImport(session: Session) {
  const { emergencyClientOf, refreshEmergency } = await import('./emergency.ts');
  try {
    const state = await emergencyClientOf(session).policy(session.keys.address);
    return state.policy === 'off' ? undefined : await refreshEmergency(session);
  } catch (error) {
    // The import itself is done: say so, and how to finish, rather than fail it.
    const { progress } = await import('../io/progress.ts');
    progress(
      `the emergency summary was not refreshed (${(error as Error).message.split('\n')[0]}); run \`carekey emergency refresh\``,
    );
    return undefined;
  }
}
