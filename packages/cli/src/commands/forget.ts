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
import { waitFor } from './waitFor.ts';

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
async function forgetOne(
  session: Session,
  record: LocalRecord,
  cancel: boolean,
): Promise<{ state: string; nonce: bigint }> {
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
  return { state: answer.state, nonce: context.nonce };
}

/** How long a cancel the ledger refused is given to show up as finalised on the node before it is reported as is. */
const REFUSED_GRACE_MS = 30_000;

/**
 * Waits until each cancel the node accepted is settled on the ledger, and returns the records whose cancel lost.
 * The node accepts a cancel until its estimate of the window's end, but from the chain's `executableAt` on anyone
 * may send the permissionless `finalizeShred`: a cancel still on its way then loses, the record is shredded for
 * good, and the ledger refuses the cancel (`RecordRegistryShredNotPending`). A cancel has landed once the
 * patient's RecordRegistry nonce on chain is past the one it carries; it was refused once it is neither mined nor
 * queued on the node any more.
 *
 * @throws {CliError} a cancel was refused and its record is not shredded; timed out.
 */
async function settleCancels(
  session: Session,
  sent: readonly { record: LocalRecord; nonce: bigint }[],
): Promise<LocalRecord[]> {
  const lost: LocalRecord[] = [];
  let open = [...sent];
  let refusedSince: number | undefined;
  await waitFor('the cancel to reach the ledger', async () => {
    const [{ records }, nonces] = await Promise.all([
      session.node.listRecords(),
      session.node.call<{ nonce: string; chainNonce: string }>({
        method: 'GET',
        path: `/v1/nonces/${session.keys.address}?contract=RecordRegistry`,
      }),
    ]);
    const onChain = BigInt(nonces.chainNonce);
    const next = BigInt(nonces.nonce);
    const still: typeof open = [];
    for (const cancel of open) {
      const state = records.find(
        (r) => r.recordId.toLowerCase() === cancel.record.recordId.toLowerCase(),
      )?.state;
      if (state === 'shredded') lost.push(cancel.record);
      else if (onChain <= cancel.nonce) still.push(cancel);
    }
    open = still;
    if (open.length === 0) return true;
    const refused = open.find((c) => next <= c.nonce);
    if (refused === undefined) return undefined;
    // Neither mined nor queued: refused. A finalisation that won is indexed a moment later; wait for it a little.
    refusedSince ??= Date.now();
    if (Date.now() - refusedSince < REFUSED_GRACE_MS) return undefined;
    throw new CliError(`the ledger refused the cancel of record ${refused.record.recordId}`, {
      hint: '`carekey ls` shows the record’s state now',
    });
  });
  return lost;
}

/** `carekey forget <record>|--all [--cancel]`: crypto-shred records (two-phase), or cancel within the window. */
export function registerForget(program: Command): void {
  program
    .command('forget')
    .description('forget records for good (crypto-shredding), or --cancel a pending forget')
    .argument('[record]', 'record id as `carekey ls` shows it')
    .option('--all', 'every one of your records')
    .option('--cancel', 'cancel a pending forget (within the shred window)')
    .option(
      '--no-wait',
      'with --cancel: return once the node has queued the cancel, without waiting for the ledger',
    )
    .option('--json', 'print JSON')
    .action(
      async (
        ref: string | undefined,
        options: { all?: boolean; cancel?: boolean; wait?: boolean; json?: boolean },
      ) => {
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
        const cancels: { record: LocalRecord; nonce: bigint }[] = [];
        // Shredded: the own stanza and the salt go from the wallet folder too; the ciphertext stays, undecryptable.
        // The local copies are forgotten some at a time (a pack holding many of them is rewritten once per group),
        // each group before the index that says so is saved: a crash in between leaves the index behind the node,
        // and the next sync forgets them (syncRecords).
        let unsaved: LocalRecord[] = [];
        const shredLocally = (record: LocalRecord) => {
          record.state = 'shredded';
          unsaved.push(record);
        };
        const saveIndex = async () => {
          await store.forgetFiles(unsaved.map((r) => r.recordId));
          for (const record of unsaved) record.salt = undefined;
          unsaved = [];
          await store.save(index);
        };
        try {
          for (const record of targets) {
            const { state, nonce } = await forgetOne(session, record, options.cancel === true);
            record.state = state as LocalRecord['state'];
            if (state === 'shredded') shredLocally(record);
            if (options.cancel) cancels.push({ record, nonce });
            results.push({ recordId: record.recordId, state });
            if (results.length % 50 === 0 || results.length === targets.length) {
              await saveIndex();
              progress(`  ${results.length}/${targets.length}`);
            }
          }
        } finally {
          if (unsaved.length > 0 || results.length % 50 !== 0) await saveIndex();
        }
        if (options.cancel && options.wait !== false) {
          const lost = await settleCancels(session, cancels);
          for (const record of lost) shredLocally(record);
          await saveIndex();
          const [first] = lost;
          if (first !== undefined) {
            throw new CliError(
              `too late to cancel: record ${first.recordId}${lost.length > 1 ? ` and ${lost.length - 1} more` : ''} was finalised on the ledger (anyone may finalise once the window ends) before the cancel landed; its keys are destroyed`,
            );
          }
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
      },
    );
}
