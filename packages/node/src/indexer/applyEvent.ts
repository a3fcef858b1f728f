import { X25519_ATTRIBUTE_NAME } from '@carekey/sdk/chain';
import { type Hex, hexToBytes, hexToString } from 'viem';
import type { SqlExecutor } from '../db/Sql.ts';
import { notifyRecoveryEvent } from '../recovery/notifyRecoveryEvent.ts';
import { appendAccessLog } from '../vault/appendAccessLog.ts';
import { argsToJson, type IndexedEvent } from './IndexedEvent.ts';

/** The largest int8: uint64 chain times above it (a "never" expiry) are stored as this. */
export const INT8_MAX = 9_223_372_036_854_775_807n;

const SCOPE_KINDS = ['all', 'categories', 'records'] as const;

/** `ConsentRegistry.ScopeKind` as stored in `grants.scope_kind`. */
export function scopeKindName(kind: number): (typeof SCOPE_KINDS)[number] {
  const name = SCOPE_KINDS[kind];
  if (name === undefined) throw new RangeError(`unknown scope kind ${kind}`);
  return name;
}

/** An HL7 PurposeOfUse `bytes32` (ASCII, left-aligned, zero-padded) as its code string, e.g. `TREAT`. */
export function purposeCode(purpose: Hex): string {
  return hexToString(purpose, { size: 32 }).replace(/\0+$/, '');
}

const clampInt8 = (value: bigint) => (value > INT8_MAX ? INT8_MAX : value);
const bytes = (hex: Hex) => hexToBytes(hex);

/**
 * Stores one event in `chain_events` and projects it into the index tables, inside the range's transaction.
 * Positive facts are stored with their block (the reader applies confirmations); revocations and shreds change
 * state at once, at any depth (asymmetric finality, DESIGN.md; T-4, T-5).
 */
export async function applyEvent(tx: SqlExecutor, event: IndexedEvent): Promise<void> {
  const block = event.blockNumber;
  await tx.query(
    `insert into chain_events (block_number, block_hash, log_index, tx_hash, contract, name, args)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb) on conflict do nothing`,
    [
      block,
      bytes(event.blockHash),
      event.logIndex,
      bytes(event.txHash),
      bytes(event.address),
      event.eventName,
      argsToJson(event.args),
    ],
  );
  switch (event.eventName) {
    case 'GrantCreated': {
      const a = event.args;
      await tx.query(
        `insert into grants (grant_id, patient, grantee, scope_kind, scope_data, purpose, expires_at, created_block)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (grant_id) do update set patient = $2, grantee = $3, scope_kind = $4, scope_data = $5,
           purpose = $6, expires_at = $7, created_block = $8, revoked_block = null`,
        [
          bytes(a.grantId),
          bytes(a.patient),
          bytes(a.grantee),
          scopeKindName(a.scopeKind),
          a.scopeData.map(bytes),
          purposeCode(a.purpose),
          clampInt8(a.expiresAt),
          block,
        ],
      );
      return;
    }
    case 'GrantRevoked': {
      const id = bytes(event.args.grantId);
      await tx.query('update grants set revoked_block = $2 where grant_id = $1 and revoked_block is null', [
        id,
        block,
      ]);
      await tx.query(
        'insert into grant_revocations_seen (grant_id, first_seen_block) values ($1, $2) on conflict do nothing',
        [id, block],
      );
      return;
    }
    case 'AccessRequested': {
      const a = event.args;
      await tx.query(
        `insert into access_requests
           (request_id, patient, requester, scope_kind, scope_data, purpose, expires_at, requested_block)
         values ($1, $2, $3, $4, $5, $6, $7, $8)
         on conflict (request_id) do update set patient = $2, requester = $3, scope_kind = $4, scope_data = $5,
           purpose = $6, expires_at = $7, requested_block = $8, status = 'pending', grant_id = null,
           answered_block = null`,
        [
          bytes(a.requestId),
          bytes(a.patient),
          bytes(a.requester),
          scopeKindName(a.scopeKind),
          a.scopeData.map(bytes),
          purposeCode(a.purpose),
          clampInt8(a.expiresAt),
          block,
        ],
      );
      return;
    }
    case 'AccessRequestApproved':
      await tx.query(
        `update access_requests set status = 'approved', grant_id = $2, answered_block = $3
         where request_id = $1 and status = 'pending'`,
        [bytes(event.args.requestId), bytes(event.args.grantId), block],
      );
      return;
    case 'AccessRequestDenied':
      await tx.query(
        `update access_requests set status = 'denied', answered_block = $2 where request_id = $1 and status = 'pending'`,
        [bytes(event.args.requestId), block],
      );
      return;
    case 'DIDAttributeChanged':
      if (event.args.name !== X25519_ATTRIBUTE_NAME) return;
      await tx.query(
        `insert into did_encryption_keys (identity, value, valid_to, block_number, log_index)
         values ($1, $2, $3, $4, $5) on conflict do nothing`,
        [
          bytes(event.args.identity),
          bytes(event.args.value),
          event.args.validTo.toString(),
          block,
          event.logIndex,
        ],
      );
      return;
    case 'DIDOwnerChanged':
      await tx.query(
        `insert into did_owners (identity, owner, block_number, log_index) values ($1, $2, $3, $4)
         on conflict do nothing`,
        [bytes(event.args.identity), bytes(event.args.owner), block, event.logIndex],
      );
      return;
    case 'BatchPublished':
      await tx.query(
        `insert into chain_batches (batch_id, publisher, root, count, block_number) values ($1, $2, $3, $4, $5)
         on conflict (batch_id) do update set publisher = $2, root = $3, count = $4, block_number = $5`,
        [event.args.batchId, bytes(event.args.publisher), bytes(event.args.root), event.args.count, block],
      );
      // The records this node stored for the batch are not rewritten: their batch id is read from this row by the
      // root and publisher they were published under (`recordBatchId`, migration 011).
      return;
    case 'ShredRequested':
      // Shred state is per (patient, record) on chain: anyone may shred any record id under their own identity.
      // Another identity's shred of a record this node holds for its patient is kept in chain_events only.
      if (await heldForOther(tx, event.args.recordId, event.args.patient)) return;
      await insertShredEvent(tx, event.args.recordId, 'requested', clampInt8(event.args.executableAt), event);
      // Every access is denied from the request on (two-phase erasure); a shredded record stays shredded.
      await tx.query(`update records set state = 'pending_shred' where record_id = $1 and state = 'active'`, [
        bytes(event.args.recordId),
      ]);
      return;
    case 'ShredCancelled':
      if (await heldForOther(tx, event.args.recordId, event.args.patient)) return;
      await insertShredEvent(tx, event.args.recordId, 'cancelled', null, event);
      await tx.query(`update records set state = 'active' where record_id = $1 and state = 'pending_shred'`, [
        bytes(event.args.recordId),
      ]);
      return;
    case 'Shredded': {
      const id = bytes(event.args.recordId);
      if (await heldForOther(tx, event.args.recordId, event.args.patient)) return;
      await insertShredEvent(tx, event.args.recordId, 'shredded', null, event);
      // records' own constraint ties state 'shredded' to a deleted salt: the salt goes with the state, and the keys
      // with both. The node destroys them itself when it finalises (finalizeDueShreds), but anyone may finalise
      // (`finalizeShred` is permissionless), e.g. right after a cancel this node accepted: the keys go here then.
      const { rows: shredded } = await tx.query<{ patient: Uint8Array }>(
        `update records set state = 'shredded', salt = null where record_id = $1 and state <> 'shredded'
         returning patient`,
        [id],
      );
      await tx.query('delete from stanzas where record_id = $1', [id]);
      await tx.query('delete from emergency_stanzas where record_id = $1', [id]);
      if (shredded.length > 0)
        await appendAccessLog({
          tx,
          patient: event.args.patient,
          actor: event.args.patient,
          action: 'shred',
          recordIds: [event.args.recordId],
          outcome: 'allowed',
          reason: 'finalised on chain, not by this node',
        });
      // Kept whether or not this node knows the record; never deleted (re-applied after a restore, F-8).
      await tx.query('insert into shred_tombstones (record_id) values ($1) on conflict do nothing', [id]);
      return;
    }
    case 'RecoveryApproved':
    case 'RecoveryReady':
    case 'RecoveryCancelled':
    case 'RecoveryExecuted':
      // Into the patient's and its guardians' feeds (docs/recovery.md).
      await notifyRecoveryEvent(tx, event);
      return;
    default:
      // DIDDelegateChanged, EIP712DomainChanged, RecoveryEnabled, RecoveryConfigured: kept in chain_events only.
      return;
  }
}

/** Whether this node holds `recordId` for another patient than the shred event's (then the event is not its). */
async function heldForOther(tx: SqlExecutor, recordId: Hex, patient: Hex): Promise<boolean> {
  const { rows } = await tx.query('select 1 from records where record_id = $1 and patient <> $2', [
    bytes(recordId),
    bytes(patient),
  ]);
  return rows.length > 0;
}

async function insertShredEvent(
  tx: SqlExecutor,
  recordId: Hex,
  action: 'requested' | 'cancelled' | 'shredded',
  executableAt: bigint | null,
  event: IndexedEvent,
): Promise<void> {
  await tx.query(
    `insert into record_shred_events (record_id, action, executable_at, block_number, log_index)
     values ($1, $2, $3, $4, $5) on conflict do nothing`,
    [bytes(recordId), action, executableAt, event.blockNumber, event.logIndex],
  );
}
