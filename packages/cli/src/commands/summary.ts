import { writeFile } from 'node:fs/promises';
import { buildIpsDocument, ClinicalError } from '@carekey/sdk/clinical';
import { validateFhir } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import type { Composition } from '@medplum/fhirtypes';
import type { Command } from 'commander';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { readPatientIndex } from './readPatientIndex.ts';

type SummaryOptions = { out?: string; patient?: string; offline?: boolean; json?: boolean };

/** `carekey summary [--out file]`: an International Patient Summary (FHIR document Bundle) built from the records. */
export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('an International Patient Summary (FHIR R4 document) of your records across institutions')
    .option('-o, --out <file>', 'write the IPS document to this file (default: stdout)')
    .option('--patient <address|did>', 'as a grantee: the patient whose shared records to summarise')
    .option('--offline', 'do not contact the node: use what this gateway already holds')
    .option('--json', 'with --out: print what was written as JSON')
    .action(async (options: SummaryOptions) => {
      const { index } = await readPatientIndex(options);
      let ips: ReturnType<typeof buildIpsDocument>;
      try {
        ips = buildIpsDocument({ index });
      } catch (error) {
        if (error instanceof ClinicalError)
          throw new CliError(error.shortMessage, {
            cause: error,
            hint: 'import your records first (carekey import <file>)',
          });
        throw error;
      }
      progress('validating the summary (FHIR R4)');
      await validateFhir({ input: ips, definitions: { sources: nodeR4DefinitionSources } });
      const text = `${JSON.stringify(ips, null, 2)}\n`;
      if (options.out === undefined) {
        process.stdout.write(text);
        return;
      }
      try {
        await writeFile(options.out, text, { mode: 0o600 });
      } catch (cause) {
        throw new CliError(`cannot write ${options.out}`, {
          cause,
          hint: 'check the folder exists and is writable',
        });
      }
      const sections = ((ips.entry?.[0]?.resource as Composition | undefined)?.section ?? []).map((s) => ({
        title: s.title,
        entries: s.entry?.length ?? 0,
      }));
      output(options, { out: options.out, entries: ips.entry?.length ?? 0, sections }, () =>
        [
          `Wrote a patient summary (IPS, ${ips.entry?.length ?? 0} entries) to ${options.out}`,
          ...sections.map((s) => `  ${String(s.entries).padStart(4)}  ${s.title}`),
        ].join('\n'),
      );
    });
}
