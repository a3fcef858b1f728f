import { type Address, getAddress, type Hex, hexToBytes } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';
import type { IndexedEvent } from '../indexer/IndexedEvent.ts';

/** The Recovery events that reach the feed. */
export type RecoveryNotice = Extract<
  IndexedEvent,
  { eventName: 'RecoveryApproved' | 'RecoveryReady' | 'RecoveryCancelled' | 'RecoveryExecuted' }
>;

/** Feed kinds of recovery events (`notifications.kind`). */
export type RecoveryNotificationKind =
  | 'recovery-started'
  | 'recovery-approved'
  | 'recovery-ready'
  | 'recovery-cancelled'
  | 'recovery-finished';

/** The public facts of a recovery event kept in `notifications.event` and sent to the webhook. */
export type RecoveryEventFacts = {
  identity: Address;
  guardian?: Address;
  newController?: Address;
  previousController?: Address;
  round?: string;
  approvals?: number;
  threshold?: number;
  readyAt?: string;
  blockNumber: string;
  transactionHash: Hex;
};

function describe(event: RecoveryNotice): { kind: RecoveryNotificationKind; facts: RecoveryEventFacts } {
  const at = { blockNumber: event.blockNumber.toString(), transactionHash: event.txHash };
  switch (event.eventName) {
    case 'RecoveryApproved': {
      const a = event.args;
      return {
        kind: a.approvals === 1 ? 'recovery-started' : 'recovery-approved',
        facts: {
          identity: a.identity,
          guardian: a.guardian,
          newController: a.newController,
          round: a.round.toString(),
          approvals: a.approvals,
          ...at,
        },
      };
    }
    case 'RecoveryReady':
      return {
        kind: 'recovery-ready',
        facts: {
          identity: event.args.identity,
          newController: event.args.newController,
          readyAt: event.args.readyAt.toString(),
          ...at,
        },
      };
    case 'RecoveryCancelled':
      return {
        kind: 'recovery-cancelled',
        facts: { identity: event.args.identity, round: event.args.round.toString(), ...at },
      };
    case 'RecoveryExecuted':
      return {
        kind: 'recovery-finished',
        facts: {
          identity: event.args.identity,
          previousController: event.args.previousController,
          newController: event.args.newController,
          ...at,
        },
      };
  }
}

/**
 * The guardians and threshold the `Recovery` contract had for `identity` when `event` happened: its latest
 * `RecoveryConfigured` indexed at or before the event (the contract is the source of truth; `chain_events` mirrors
 * it and is rolled back with a reorg).
 */
export async function indexedRecoveryConfig(
  tx: SqlExecutor,
  identity: Address,
  before?: { blockNumber: bigint; logIndex: number },
): Promise<{ guardians: Address[]; threshold: number } | undefined> {
  const { rows } = await tx.query<{ args: { guardians?: string[]; threshold?: number } | string }>(
    `select args from chain_events
      where name = 'RecoveryConfigured' and lower(args->>'identity') = lower($1)
        and (block_number, log_index) <= ($2, $3)
      order by block_number desc, log_index desc limit 1`,
    [identity, before?.blockNumber ?? 9_223_372_036_854_775_807n, before?.logIndex ?? 2_147_483_647],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  const args = typeof row.args === 'string' ? (JSON.parse(row.args) as typeof row.args) : row.args;
  if (typeof args === 'string') return undefined;
  return {
    guardians: (args.guardians ?? []).map((g) => getAddress(g.toLowerCase())),
    threshold: Number(args.threshold ?? 0),
  };
}

/**
 * Writes a recovery event of the `Recovery` contract into the feed, in the indexer's transaction: one row for the
 * patient and one for each guardian the contract names (docs/recovery.md, "Notifications"), plus one delivery to
 * the patient's webhook (no health data: the event's addresses, round, counts and times). A range read again (a
 * restart, a replay) adds nothing twice (`event_key`).
 */
export async function notifyRecoveryEvent(tx: SqlExecutor, event: RecoveryNotice): Promise<void> {
  const { kind, facts } = describe(event);
  const identity = getAddress(facts.identity);
  const config = await indexedRecoveryConfig(tx, identity, event);
  if (config !== undefined) facts.threshold = config.threshold;
  const key = `${event.blockHash}:${event.logIndex}`;
  const json = JSON.stringify(facts);
  const patient = hexToBytes(identity);
  const inserted = await tx.query(
    `insert into notifications (recipient, role, kind, patient, event, event_key)
     values ($1, 'patient', $2, $1, $3::jsonb, $4)
     on conflict (recipient, event_key) where event_key is not null do nothing`,
    [patient, kind, json, key],
  );
  for (const guardian of config?.guardians ?? []) {
    await tx.query(
      `insert into notifications (recipient, role, kind, patient, event, event_key)
       values ($1, 'guardian', $2, $3, $4::jsonb, $5)
       on conflict (recipient, event_key) where event_key is not null do nothing`,
      [hexToBytes(guardian), kind, patient, json, key],
    );
  }
  if (inserted.rowCount === 0) return;
  const { rows } = await tx.query<{ webhook_url: string | null }>(
    'select webhook_url from notification_settings where patient = $1',
    [patient],
  );
  const url = rows[0]?.webhook_url;
  if (url !== null && url !== undefined) {
    await tx.query('insert into webhook_deliveries (patient, url, body) values ($1, $2, $3)', [
      patient,
      url,
      JSON.stringify({
        type: kind.replace('recovery-', 'recovery.'),
        ...facts,
        at: new Date().toISOString(),
        read: 'carekey notifications',
      }),
    ]);
  }
}
