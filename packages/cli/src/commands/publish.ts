import { parseIdentityRef } from '@carekey/sdk/identity';
import type { Command } from 'commander';
import { output } from '../io/output.ts';
import { countBy } from './import.ts';
import { openSession } from './openSession.ts';
import { publishFhir } from './publishFhir.ts';

/**
 * `carekey publish --for <patient> <file>`: a provider publishes FHIR for a patient. Stanzas go to the patient and to
 * the provider (which keeps access); records arrive untagged and the patient's gateway tags them.
 */
export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description(
      'as a provider: publish FHIR, C-CDA, DICOM or PDF records for a patient (theirs; you keep read access)',
    )
    .argument('<file>', 'FHIR R4 JSON (a Bundle or one resource), C-CDA XML, DICOM (.dcm) or PDF')
    .requiredOption('--for <address|did>', 'the patient')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { for: string; json?: boolean }) => {
      parseIdentityRef(options.for); // a malformed address fails before anything else
      const session = await openSession();
      const description = await session.node.describe();
      const patient = parseIdentityRef(options.for, { chainId: description.chainId });
      const result = await publishFhir({ session, file, patient });
      output(
        options,
        {
          patient,
          publisher: result.publisher,
          format: result.format,
          published: result.records.length,
          batches: result.batches,
          recordIds: result.records.map((r) => r.recordId),
        },
        () =>
          [
            `Published ${result.records.length} records for ${patient} in ${result.batches.length} batch(es).`,
            ...Object.entries(countBy(result.records.map((r) => r.resourceType))).map(
              ([t, n]) => `  ${String(n).padStart(5)}  ${t}`,
            ),
          ].join('\n'),
      );
    });
}
