import type { LabResult } from '@carekey/sdk/clinical';
import type { Command } from 'commander';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { readPatientIndex, sourcesLabel } from './readPatientIndex.ts';

type LabsOptions = { code?: string; patient?: string; offline?: boolean; json?: boolean };

/** `--code`: a LOINC code (`2339-0`, check digit verified) or `system|code`; returns the `system|code` key. */
export function labCodeKey(code: string): string {
  const bar = code.indexOf('|');
  if (bar > 0 && bar < code.length - 1) return code;
  if (!/^\d{1,7}-\d$/u.test(code))
    throw new CliError(`--code ${JSON.stringify(code.slice(0, 80))} is not a LOINC code`, {
      hint: 'write e.g. 2339-0, or system|code for another code system',
    });
  if (!loincCheckDigitOk(code))
    throw new CliError(`--code ${code}: wrong LOINC check digit`, { hint: 'check the code for a typo' });
  return `http://loinc.org|${code}`;
}

/** LOINC's mod-10 check digit (https://loinc.org/kb/users-guide/calculating-mod-10-check-digits/). */
function loincCheckDigitOk(code: string): boolean {
  const [body = '', check = ''] = code.split('-');
  const digits = [...body].map(Number).reverse();
  let sum = 0;
  digits.forEach((d, i) => {
    if (i % 2 === 0) {
      const doubled = d * 2;
      sum += Math.floor(doubled / 10) + (doubled % 10);
    } else sum += d;
  });
  return (10 - (sum % 10)) % 10 === Number(check);
}

function valueText(r: LabResult): string {
  return r.value === undefined ? '(no value)' : `${r.value}${r.unit ? ` ${r.unit}` : ''}`;
}

function rangeText(r: LabResult): string {
  const range = r.referenceRange;
  if (range === undefined) return '';
  if (range.text !== undefined) return ` [ref ${range.text}]`;
  return ` [ref ${range.low ?? ''}–${range.high ?? ''}${range.unit ? ` ${range.unit}` : ''}]`;
}

const ARROW = { up: '↑', down: '↓', same: '→' } as const;

/** `carekey labs [--code LOINC]`: lab results with unit, range, flag and trend, each result once with its sources. */
export function registerLabs(program: Command): void {
  program
    .command('labs')
    .description(
      'your lab results across institutions: value, unit, reference range, flag, trend (each result once, with its sources)',
    )
    .option('--code <loinc>', 'only this test (LOINC, e.g. 2339-0; or system|code)')
    .option('--patient <address|did>', 'as a grantee: the patient whose shared results to show')
    .option('--offline', 'do not contact the node: use what this gateway already holds')
    .option('--json', 'print JSON')
    .action(async (options: LabsOptions) => {
      const key = options.code === undefined ? undefined : labCodeKey(options.code);
      const { index, patient } = await readPatientIndex(options);
      const tests = index.trends.filter((t) => key === undefined || t.key === key);
      output(
        options,
        {
          patient,
          tests: tests.map((t) => ({
            code: t.code,
            direction: t.direction ?? null,
            results: t.results.map((r) => ({
              date: r.date ?? null,
              value: r.value ?? null,
              unit: r.unit ?? null,
              referenceRange: r.referenceRange ?? null,
              flag: r.flag ?? null,
              flagFrom: r.flagFrom ?? null,
              sources: r.sources,
            })),
          })),
        },
        () =>
          tests.length === 0
            ? options.code === undefined
              ? 'No lab results.'
              : `No results for ${options.code}.`
            : tests
                .map((t) => {
                  const latest = t.results[t.results.length - 1] as LabResult;
                  const trend = t.direction === undefined ? '' : ` ${ARROW[t.direction]}`;
                  return [
                    `${t.code.display} (${t.code.code ?? '?'}): ${valueText(latest)}${latest.flag ? ` ${latest.flag}` : ''}${trend}`,
                    ...t.results.map(
                      (r) =>
                        `  ${(r.date ?? '').slice(0, 10).padEnd(10)}  ${valueText(r)}${r.flag ? ` ${r.flag}` : ''}${rangeText(r)}  (${sourcesLabel(r.sources)})`,
                    ),
                  ].join('\n');
                })
                .join('\n'),
      );
    });
}
