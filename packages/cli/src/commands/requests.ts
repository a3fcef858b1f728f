import { signDenyForRelay } from '@carekey/sdk/chain';
import { decrypt } from '@carekey/sdk/crypto';
import type { Command } from 'commander';
import { type Hex, isAddressEqual, keccak256 } from 'viem';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { identityLine } from './credentialTrust.ts';
import { openSession, type Session } from './openSession.ts';
import type { AccessRequestNote } from './requestAccess.ts';
import { share } from './share.ts';
import { signatureContext } from './signatureContext.ts';

/** A row of `GET /v1/requests`, with the requester's note opened (for the patient). */
type AccessRequestRow = {
  requestId: Hex | null;
  requestDigest: Hex | null;
  role: 'patient' | 'requester';
  status: string;
  patient: Hex;
  requester: Hex;
  scope: 'all' | 'categories' | 'records';
  scopeData: Hex[];
  purpose: string;
  expiresAt: string | null;
  grantId: Hex | null;
  sealed: string | null;
  categories?: string[];
  reason?: string;
};

function parseRequestId(ref: string): Hex {
  const id = ref.trim().toLowerCase();
  if (!/^0x[0-9a-f]{64}$/u.test(id)) {
    throw new CliError(`malformed request id '${ref.slice(0, 80)}'`, { hint: 'see `carekey requests`' });
  }
  return id as Hex;
}

/**
 * Opens the requester's sealed note (the patient's key decrypts it). A category request's note must hash to the
 * commitment the chain carries, or the categories shown would not be the ones asked for: such a note is dropped.
 */
async function openNote(session: Session, row: AccessRequestRow): Promise<AccessRequestRow> {
  const { sealed: _sealed, ...rest } = row;
  if (row.sealed === null || row.role !== 'patient') return rest as AccessRequestRow;
  try {
    const bytes = await decrypt({
      identities: [session.keys.identity],
      ciphertext: new Uint8Array(Buffer.from(row.sealed, 'base64')),
    });
    if (row.scope === 'categories' && keccak256(bytes) !== row.scopeData[0]?.toLowerCase())
      return rest as AccessRequestRow;
    const note = JSON.parse(new TextDecoder().decode(bytes)) as AccessRequestNote;
    return {
      ...(rest as AccessRequestRow),
      categories: Array.isArray(note.categories) ? note.categories.map(String) : [],
      reason: typeof note.reason === 'string' ? note.reason : '',
    };
  } catch {
    return rest as AccessRequestRow;
  }
}

async function listRequests(session: Session): Promise<AccessRequestRow[]> {
  const { requests } = await session.node.listAccessRequests();
  const rows: AccessRequestRow[] = [];
  for (const r of requests as AccessRequestRow[]) rows.push(await openNote(session, r));
  return rows;
}

/** The pending request `requestId` addressed to me, or a one-line error saying why not. */
async function findMyPendingRequest(session: Session, requestId: Hex): Promise<AccessRequestRow> {
  const row = (await listRequests(session)).find((r) => r.requestId?.toLowerCase() === requestId);
  if (row === undefined)
    throw new CliError(`unknown access request ${requestId}`, { hint: 'see `carekey requests`' });
  if (row.role !== 'patient' || !isAddressEqual(row.patient, session.keys.address)) {
    throw new CliError(`access request ${requestId} is not addressed to you`, {
      hint: 'only the patient asked can answer it',
    });
  }
  if (row.status !== 'pending')
    throw new CliError(`access request ${requestId} is ${row.status}, not pending`);
  return row;
}

const describeRow = (r: AccessRequestRow): string => {
  const what =
    r.scope === 'all'
      ? 'all records'
      : r.categories !== undefined
        ? r.categories.join(', ')
        : `${r.scope} (sealed)`;
  const until =
    r.expiresAt === null
      ? ''
      : `until ${new Date(Number(r.expiresAt) * 1000).toISOString().slice(0, 16).replace('T', ' ')}`;
  const who = r.role === 'patient' ? `from ${r.requester}` : `to   ${r.patient}`;
  const id = r.requestId ?? `(queued ${r.requestDigest?.slice(0, 18)}…)`;
  const reason = r.reason ? `\n    reason: ${r.reason}` : '';
  return `${id}  ${who}  ${r.purpose.padEnd(6)}  ${r.status.padEnd(8)}  ${what}  ${until}${reason}`;
};

/** `carekey requests [approve|deny <id>]`: access requests providers sent me, and mine to patients (flow 7). */
export function registerRequests(program: Command): void {
  const requests = program
    .command('requests')
    .description('list access requests sent to you (and yours to patients); approve or deny them')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const session = await openSession();
      const rows = await listRequests(session);
      // Who each requester verifiably is (docs/identity.md), or a plain warning.
      const identities: Record<string, string> = {};
      for (const r of rows)
        if (r.role === 'patient') identities[r.requester] ??= await identityLine(r.requester);
      output(options, { requests: rows, identities }, () =>
        rows.length === 0
          ? 'No access requests.'
          : rows
              .map(
                (r) =>
                  `${describeRow(r)}${identities[r.requester] ? `\n    who: ${identities[r.requester]}` : ''}`,
              )
              .join('\n'),
      );
    });
  requests
    .command('approve')
    .description('approve a request: share what it asks for with the requester (a grant naming the request)')
    .argument('<requestId>')
    .option('--expires <duration>', 'how long the grant lasts (default: what the request asks for)')
    .option('--no-wait', 'return once the node has queued the grant, without waiting for the ledger')
    .option('--json', 'print JSON')
    .action(
      async (ref: string, own: { expires?: string; wait?: boolean; json?: boolean }, command: Command) => {
        // `--json` may land on `requests` itself (commander parses parent options anywhere): read both.
        const options = { ...own, ...command.optsWithGlobals() } as typeof own;
        const requestId = parseRequestId(ref);
        const session = await openSession();
        const row = await findMyPendingRequest(session, requestId);
        if (row.scope === 'records') {
          throw new CliError(
            'this request names records by a root only its requester knows: share them yourself',
          );
        }
        if (row.scope === 'categories' && (row.categories === undefined || row.categories.length === 0)) {
          throw new CliError(`the categories of request ${requestId} cannot be read`, {
            hint: 'its sealed note is missing or does not match what the ledger holds; deny it or share yourself',
          });
        }
        const left = row.expiresAt === null ? 0 : Number(row.expiresAt) - Math.floor(Date.now() / 1000);
        // What the request asks for, in whole minutes (at least one).
        const expires = options.expires ?? `${Math.max(1, Math.floor(left / 60))}m`;
        const result = await share(session, {
          records: [],
          categories: row.scope === 'categories' ? row.categories : undefined,
          all: row.scope === 'all',
          with: row.requester,
          purpose: row.purpose || 'TREAT',
          expires,
          requestId,
          wait: options.wait,
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
    .action(async (ref: string, own: { json?: boolean }, command: Command) => {
      const options = { ...own, ...command.optsWithGlobals() } as typeof own;
      const requestId = parseRequestId(ref);
      const session = await openSession();
      await findMyPendingRequest(session, requestId);
      const description = await session.node.describe();
      const context = await signatureContext({
        session,
        contract: 'ConsentRegistry',
        identity: session.keys.address,
      });
      const signed = await signDenyForRelay({
        account: session.account,
        chainId: description.chainId,
        verifyingContract: description.contracts.consentRegistry,
        nonce: context.nonce,
        deadline: context.deadline,
        patient: session.keys.address,
        requestId,
      });
      const answer = await session.node.denyAccessRequest(requestId, signed.body);
      output(options, { requestId, denied: true, node: answer }, () => `Denied ${requestId}.`);
    });
}
