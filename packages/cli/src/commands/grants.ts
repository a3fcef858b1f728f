import type { Command } from 'commander';
import { hexToString, isHex } from 'viem';
import { output } from '../io/output.ts';
import { openSession } from './openSession.ts';

/** A bytes32 PurposeOfUse code as text (`TREAT`), or the value as given. */
export function purposeText(purpose: unknown): string {
  if (typeof purpose !== 'string') return '';
  return isHex(purpose) ? hexToString(purpose, { size: 32 }).replace(/\0+$/u, '') : purpose;
}

/** `carekey grants`: grants I gave (as patient) and grants I received (as grantee), with their state. */
export function registerGrants(program: Command): void {
  program
    .command('grants')
    .description('list the grants you gave and received, with their state')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      const listed = (await session.node.listGrants()) as Awaited<
        ReturnType<typeof session.node.listGrants>
      > & {
        queued?: { grantDigest: string; patient: string; grantee: string; state: string }[];
      };
      const { grants } = listed;
      const queued = listed.queued ?? [];
      const me = session.keys.address.toLowerCase();
      const waiting = queued.map((q) =>
        q.patient.toLowerCase() === me
          ? `${q.grantDigest}  to   ${q.grantee}  ${q.state} (signed; not on the ledger yet)`
          : `${q.grantDigest}  from ${q.patient}  ${q.state} (signed; not on the ledger yet)`,
      );
      output(options, { grants, queued }, () =>
        grants.length === 0 && queued.length === 0
          ? 'No grants.'
          : [
              ...waiting,
              ...grants.map((g) => {
                const given = g.patient.toLowerCase() === me;
                const until = new Date(Number(g.expiresAt) * 1000)
                  .toISOString()
                  .slice(0, 16)
                  .replace('T', ' ');
                return `${g.grantId}  ${given ? `to   ${g.grantee}` : `from ${g.patient}`}  ${purposeText(g.purpose).padEnd(6)}  ${g.state.padEnd(7)}  until ${until}`;
              }),
            ].join('\n'),
      );
    });
}
