import { ShredAction, toShredTypedData } from '@carekey/sdk/chain';
import type { Command } from 'commander';
import { type Hex, isAddressEqual } from 'viem';
import type { LocalRecord } from '../home/recordStore.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { openSession, type Session } from './openSession.ts';
import { resolveRecordRef } from './resolveRecordRef.ts';
import { signatureContext } from './signatureContext.ts';

async function signShred(
  session: Session,
  recordId: Hex,
  action: ShredAction,
  nonce: bigint,
  deadline: bigint,
) {
  const description = await session.node.describe();
  const signature = await session.account.signTypedData(
    toShredTypedData({
      chainId: description.chainId,
      verifyingContract: description.contracts.recordRegistry,
      message: { patient: session.keys.address, recordId, action, nonce, deadline },
    }),
  );
  return { nonce: nonce.toString(), deadline: deadline.toString(), signature };
}

/**
 * Forgets one record (docs/protocol.md flow 5): signs `Shred(Request)`, or `Shred(Cancel)`, with the nonce the node
 * reports (past every write it still holds). Nothing more to sign: after the delay the node destroys the keys and
 * relays the permissionless finalisation. Returns the state the node reports.
 */
async function forgetOne(session: Session, record: LocalRecord, cancel: boolean): Promise<string> {
  const context = await signatureContext({
    session,
    contract: 'RecordRegistry',
    identity: session.keys.address,
  });
  const action = cancel ? ShredAction.Cancel : ShredAction.Request;
  const answer = await session.node.shredRecord(record.recordId, {
    action: cancel ? 'cancel' : 'request',
    patient: session.keys.address,
    recordId: record.recordId,
    request: await signShred(session, record.recordId, action, context.nonce, context.deadline),
  });
  return answer.state;
}

/** `carekey forget <record>|--all [--cancel]`: crypto-shred records (two-phase), or cancel within the window. */
export function registerForget(program: Command): void {
  program
    .command('forget')
    .description('forget records for good (crypto-shredding), or --cancel a pending forget')
    .argument('[record]', 'record id as `carekey ls` shows it')
    .option('--all', 'every one of your records')
    .option('--cancel', 'cancel a pending forget (within the shred window)')
    .option('--json', 'print JSON')
    .action(async (ref: string | undefined, options: { all?: boolean; cancel?: boolean; json?: boolean }) => {
      if ((ref === undefined) === (options.all !== true))
        throw new CliError('name one record, or give --all');
      const session = await openSession();
      const { store, keys } = session;
      const index = await store.list(keys.identity);
      const mine = index.filter((r) => isAddressEqual(r.patient, keys.address));
      const wanted = options.cancel ? 'pending_shred' : 'active';
      const targets = options.all
        ? mine.filter((r) => r.state === wanted)
        : [resolveRecordRef(ref as string, mine)];
      for (const t of targets) {
        if (t.state !== wanted) {
          throw new CliError(
            `record ${t.recordId} is ${t.state.replace('_', ' ')}${options.cancel ? ': nothing to cancel' : ''}`,
          );
        }
      }
      const results: { recordId: Hex; state: string }[] = [];
      for (const record of targets) {
        const state = await forgetOne(session, record, options.cancel === true);
        record.state = state as LocalRecord['state'];
        if (state === 'shredded') {
          // Shredded: the own stanza and the salt go from the wallet folder too; the ciphertext stays, undecryptable.
          await store.forgetFile(record.recordId);
          record.salt = undefined;
        }
        results.push({ recordId: record.recordId, state });
        await store.save(index);
        if (results.length % 50 === 0) progress(`  ${results.length}/${targets.length}`);
      }
      output(options, { records: results }, () =>
        options.cancel
          ? `Cancelled: ${results.length} record(s) are active again.`
          : [
              `Forgot ${results.length} record(s): ${results.filter((r) => r.state === 'shredded').length} shredded, ${results.filter((r) => r.state === 'pending_shred').length} pending (cancel with --cancel until the window ends).`,
              results.some((r) => r.state === 'pending_shred')
                ? 'Nobody can open a pending record any more; when the window ends its keys are destroyed here and on the node.'
                : 'Their keys are destroyed here and on the node.',
              'Copies someone already opened or downloaded, and the source institution’s own copy, are not.',
            ].join('\n'),
      );
    });
}
