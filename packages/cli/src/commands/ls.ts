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
    .option('--offline', 'do not contact the node: list what this wallet folder holds')
    .option('--json', 'print JSON')
    .action(async (options: { sharedWithMe?: boolean; type?: string; offline?: boolean; json?: boolean }) => {
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
      // Sync with the node when it is reachable; the owner's list never depends on it (EHDS Art. 3).
      let sync: { added: number; updated: number; tagged: number } | null = null;
      if (!options.offline) {
        const { NodeUnreachableError } = await import('@carekey/sdk/client');
        const { syncRecords } = await import('./syncRecords.ts');
        const { tagUntaggedRecords } = await import('./tagUntaggedRecords.ts');
        try {
          const synced = await syncRecords(session);
          sync = { ...synced, tagged: await tagUntaggedRecords(session) };
        } catch (error) {
          if (!(error instanceof NodeUnreachableError)) throw error;
        }
      }
      const all = (await session.store.list(session.keys.identity)).filter(
        (r) => r.patient.toLowerCase() === session.keys.address.toLowerCase(),
      );
      const records = all.filter((r) => options.type === undefined || r.resourceType === options.type);
      output(options, { records, synced: sync }, () =>
        [
          ...(sync === null
            ? ['(offline: the node was not contacted)']
            : sync.added > 0
              ? [`${sync.added} new record(s) from providers`]
              : []),
          records.length === 0 ? 'No records yet: `carekey import <file>`.' : records.map(line).join('\n'),
        ].join('\n'),
      );
    });
}
