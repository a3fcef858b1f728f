import type { Command } from 'commander';
import { output } from '../io/output.ts';
import { openSession } from './openSession.ts';

/** `carekey audit`: who opened (or was refused) which of my records, when, under which grant (flow 6). */
export function registerAudit(program: Command): void {
  program
    .command('audit')
    .description('show the access history of your records: who, when, what, under which grant, outcome')
    .option('--limit <n>', 'most entries per page (default 100)')
    .option('--json', 'print JSON')
    .option('--fhir', 'print the whole log as a FHIR R4 Bundle of AuditEvent (IHE BALP style)')
    .action(async (options: { limit?: string; json?: boolean; fhir?: boolean }) => {
      const session = await openSession();
      if (options.fhir) {
        const { auditEventBundle } = await import('../gateway/fhir/auditEventBundle.ts');
        process.stdout.write(`${JSON.stringify(await auditEventBundle(session))}\n`);
        return;
      }
      const query = options.limit === undefined ? '' : `?limit=${encodeURIComponent(options.limit)}`;
      const log = await session.node.audit(query);
      const me = session.keys.address.toLowerCase();
      output(options, log, () =>
        log.entries.length === 0
          ? 'No access yet.'
          : log.entries
              .map((e) => {
                const actor = String(e.actor ?? '');
                const who = actor.toLowerCase() === me ? 'you' : actor;
                const records = Array.isArray(e.recordIds) ? e.recordIds.length : 0;
                const reason = e.reason ? ` (${String(e.reason)})` : '';
                return `${String(e.at ?? '')
                  .slice(0, 19)
                  .replace(
                    'T',
                    ' ',
                  )}  ${String(e.action ?? '').padEnd(13)} ${String(e.outcome ?? '').padEnd(7)} ${who}  ${records} record(s)${e.grantId ? `  grant ${String(e.grantId).slice(0, 10)}…` : ''}${reason}`;
              })
              .join('\n'),
      );
    });
}
