import type { Command } from 'commander';
import { type DateRange, fhirDateRange } from '../gateway/store/fhirDates.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { readPatientIndex, sourcesLabel } from './readPatientIndex.ts';

type TimelineOptions = {
  from?: string;
  to?: string;
  type?: string;
  patient?: string;
  offline?: boolean;
  json?: boolean;
};

function dateOption(name: string, value: string | undefined): DateRange | undefined {
  if (value === undefined) return undefined;
  const range = fhirDateRange(value);
  if (range === undefined)
    throw new CliError(`--${name} ${JSON.stringify(value)} is not a date`, {
      hint: 'write e.g. 2024, 2024-05 or 2024-05-31',
    });
  return range;
}

/** `--type`: a resource type (`Observation`), a category (`Observation|laboratory`) or a category code (`laboratory`). */
export function typeFilter(
  type: string | undefined,
): ((e: { resourceType: string; category: string }) => boolean) | undefined {
  if (type === undefined) return undefined;
  if (/^[A-Z][A-Za-z]{1,63}$/u.test(type)) return (e) => e.resourceType === type;
  if (/^[A-Z][A-Za-z]{1,63}\|[\w.-]{1,64}$/u.test(type)) return (e) => e.category === type;
  if (/^[\w.-]{1,64}$/u.test(type)) return (e) => e.category.endsWith(`|${type}`);
  throw new CliError(`--type ${JSON.stringify(type.slice(0, 80))} is not a resource type or category`, {
    hint: 'write e.g. Observation, Observation|laboratory or laboratory',
  });
}

/** `carekey timeline`: the patient's clinical history across institutions, by clinical date, each fact once. */
export function registerTimeline(program: Command): void {
  program
    .command('timeline')
    .description(
      'your clinical history across institutions, oldest first, by clinical date (each fact once, with its sources)',
    )
    .option('--from <date>', 'only from this date (2024, 2024-05 or 2024-05-31)')
    .option('--to <date>', 'only up to this date, inclusive')
    .option(
      '--type <type>',
      'only this resource type (Observation), category (Observation|laboratory) or category code (laboratory)',
    )
    .option('--patient <address|did>', 'as a grantee: the patient whose shared records to show')
    .option('--offline', 'do not contact the node: use what this gateway already holds')
    .option('--json', 'print JSON')
    .action(async (options: TimelineOptions) => {
      const from = dateOption('from', options.from);
      const to = dateOption('to', options.to);
      if (from !== undefined && to !== undefined && to.end <= from.start)
        throw new CliError(`--to ${options.to} is before --from ${options.from}`);
      const byType = typeFilter(options.type);
      const { index, patient } = await readPatientIndex(options);
      const entries = index.timeline.filter((e) => {
        if (byType !== undefined && !byType(e)) return false;
        const range = fhirDateRange(e.date);
        if (range === undefined) return from === undefined && to === undefined;
        return (from === undefined || range.end > from.start) && (to === undefined || range.start < to.end);
      });
      output(
        options,
        {
          patient,
          entries: entries.map((e) => ({
            date: e.date,
            resourceType: e.resourceType,
            category: e.category,
            display: e.display,
            id: e.resource.id,
            sources: e.sources,
          })),
        },
        () =>
          entries.length === 0
            ? 'Nothing on the timeline for these filters.'
            : entries
                .map(
                  (e) =>
                    `${e.date.slice(0, 10).padEnd(10)}  ${e.resourceType.padEnd(20)}  ${e.display}  (${sourcesLabel(e.sources)})`,
                )
                .join('\n'),
      );
    });
}
