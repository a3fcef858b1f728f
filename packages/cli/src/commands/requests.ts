import { toDenyTypedData } from '@carekey/sdk/chain';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { purposeText } from './grants.ts';
import { openSession, type Session } from './openSession.ts';
import { share } from './share.ts';
import { signatureContext } from './signatureContext.ts';

type AccessRequestRow = {
  requestId: Hex;
  requester: string;
  patient: string;
  purpose?: string;
  expiresAt?: string;
  state?: string;
  [key: string]: unknown;
};

function parseRequestId(ref: string): Hex {
  const id = ref.trim().toLowerCase();
  if (!/^0x[0-9a-f]{64}$/u.test(id)) {
    throw new CliError(`malformed request id '${ref.slice(0, 80)}'`, { hint: 'see `carekey requests`' });
  }
  return id as Hex;
}

async function findRequest(session: Session, requestId: Hex): Promise<AccessRequestRow> {
  const { requests } = await session.node.listAccessRequests();
  const row = (requests as AccessRequestRow[]).find((r) => r.requestId.toLowerCase() === requestId);
  if (row === undefined)
    throw new CliError(`unknown access request ${requestId}`, { hint: 'see `carekey requests`' });
  return row;
}

/** `carekey requests [approve|deny <id>]`: access requests providers sent me (flow 7). */
export function registerRequests(program: Command): void {
  const requests = program
    .command('requests')
    .description('list access requests sent to you; approve or deny them')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      const { requests: rows } = await session.node.listAccessRequests();
      output(options, { requests: rows }, () =>
        rows.length === 0
          ? 'No access requests.'
          : (rows as AccessRequestRow[])
              .map(
                (r) =>
                  `${r.requestId}  from ${r.requester}  ${purposeText(r.purpose).padEnd(6)}  ${r.state ?? ''}`,
              )
              .join('\n'),
      );
    });
  requests
    .command('approve')
    .description('approve a request: share with the requester (all records unless --category or record ids)')
    .argument('<requestId>')
    .argument('[records...]', 'only these records')
    .option('--category <category>', 'only this category')
    .option('--expires <duration>', 'how long the grant lasts', '7d')
    .option('--json', 'print JSON')
    .action(
      async (
        ref: string,
        records: string[],
        options: { category?: string; expires: string; json?: boolean },
      ) => {
        const requestId = parseRequestId(ref);
        const session = await openSession();
        const row = await findRequest(session, requestId);
        const result = await share(session, {
          records,
          category: options.category,
          all: records.length === 0 && options.category === undefined,
          with: row.requester,
          purpose: purposeText(row.purpose) || 'TREAT',
          expires: options.expires,
          requestId,
        });
        output(
          options,
          { requestId, ...result },
          () => `Approved ${requestId}: shared with ${result.grantee} until ${result.expiresAt}.`,
        );
      },
    );
  requests
    .command('deny')
    .description('deny a request (signed, recorded on the ledger)')
    .argument('<requestId>')
    .option('--json', 'print JSON')
    .action(async (ref: string, options: { json?: boolean }) => {
      const requestId = parseRequestId(ref);
      const session = await openSession();
      await findRequest(session, requestId);
      const description = await session.node.describe();
      const context = await signatureContext({
        session,
        contract: 'ConsentRegistry',
        identity: session.keys.address,
      });
      const signature = await session.account.signTypedData(
        toDenyTypedData({
          chainId: description.chainId,
          verifyingContract: description.contracts.consentRegistry,
          message: {
            patient: session.keys.address,
            requestId,
            nonce: context.nonce,
            deadline: context.deadline,
          },
        }),
      );
      const answer = await session.node.denyAccessRequest(requestId, {
        nonce: context.nonce.toString(),
        deadline: context.deadline.toString(),
        signature,
      });
      await context.commit();
      output(options, { requestId, denied: true, node: answer }, () => `Denied ${requestId}.`);
    });
}
