import type { Command } from 'commander';
import type { LocalRecord } from '../home/recordStore.ts';
import { output } from '../io/output.ts';
import { openSession } from './openSession.ts';

function line(r: LocalRecord): string {
  const date = (r.clinicalDate ?? '').slice(0, 10).padEnd(10);
  const state = r.state === 'active' ? '' : `  [${r.state.replace('_', ' ')}]`;
  return `${r.recordId.slice(0, 18)}  ${date}  ${r.category}${state}`;
}

/** `carekey ls`: my records (from my wallet folder); `--shared-with-me`: records others shared with me. */
export function registerLs(program: Command): void {
  program
    .command('ls')
    .description('list your records (or, with --shared-with-me, the records others shared with you)')
    .option('--shared-with-me', 'list records shared with you by others')
    .option('--type <resourceType>', 'only this FHIR resource type')
    .option('--json', 'print JSON')
    .action(async (options: { sharedWithMe?: boolean; type?: string; json?: boolean }) => {
      const session = await openSession();
      if (options.sharedWithMe) {
        const { listShared } = await import('./listShared.ts');
        const shared = await listShared(session);
        output(options, { shared }, () =>
          shared.length === 0
            ? 'Nothing is shared with you.'
            : shared
                .map((g) =>
                  [`grant ${g.grantId} from ${g.patient}:`, ...g.recordIds.map((id) => `  ${id}`)].join('\n'),
                )
                .join('\n'),
        );
        return;
      }
      const all = (await session.store.list(session.keys.identity)).filter(
        (r) => r.patient.toLowerCase() === session.keys.address.toLowerCase(),
      );
      const records = all.filter((r) => options.type === undefined || r.resourceType === options.type);
      output(options, { records }, () =>
        records.length === 0 ? 'No records yet: `carekey import <file>`.' : records.map(line).join('\n'),
      );
    });
}
