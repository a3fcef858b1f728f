import { ScopeKind, ZERO_BYTES32 } from '@carekey/sdk/chain';
import { KeyReleaseRefusedError } from '@carekey/sdk/errors';
import { checkKeyRequest } from '@carekey/sdk/protocol';
import {
  type Address,
  bytesToHex,
  getAddress,
  type Hex,
  hexToBytes,
  isAddressEqual,
  zeroAddress,
} from 'viem';
import { createGroupCommit, type GroupCommit } from '../db/createGroupCommit.ts';
import type { Sql } from '../db/Sql.ts';
import { appendAccessLog } from './appendAccessLog.ts';
import { grantCovers } from './grantCovers.ts';
import { recordBatchIdSql } from './recordBatchId.ts';
import type { Vault } from './Vault.ts';
import type { ChainGrant } from './VaultChain.ts';

export type ReleaseKeysParameters = {
  vault: Vault;
  /** The signed `KeyRequest` envelope exactly as received (`{ kind, message, signature }`). */
  envelope: unknown;
  /**
   * `checkKeyRequest(envelope, …)` with this vault's domain, audience and clock, when the caller has just run it
   * (the route does, to authenticate): its signer is not recovered a second time.
   */
  checked?: Awaited<ReturnType<typeof checkKeyRequest>> | undefined;
};

/** One released stanza, with what the reader needs to fetch and check the payload. */
export type ReleasedRecord = {
  recordId: Hex;
  blobId: string;
  /** The reader's age recipient stanza (the file key wrapped to its X25519 key). */
  stanza: string;
  /** The record's leaf and its inclusion proof under `batchRoot` (RecordRegistry). */
  leaf: Hex;
  proof: Hex[];
  batchRoot: Hex | null;
  /** RecordRegistry batch id, once the chain has the batch. */
  batchId: string | null;
};

export type ReleaseKeysReturnType = {
  grantee: Address;
  /** The grant released under, or zero for the patient reading its own records. */
  grantId: Hex;
  /** The access-log row written (and committed) before this was returned. */
  accessLogId: bigint;
  records: ReleasedRecord[];
};

type RecordRow = {
  record_id: Uint8Array;
  patient: Uint8Array;
  blob_id: string;
  category_tag: Uint8Array;
  state: string;
  leaf: Uint8Array;
  proof: Uint8Array[] | null;
  batch_root: Uint8Array | null;
  batch_id: bigint | null;
};

/**
 * The grant's scope as the release statement can check it in SQL: every record (`all`, and the patient's own
 * reads); a record whose tag is one of the scope's non-zero tags (`Categories`); a record stored under the scope's
 * root (`Records`: `scope_records` holds, for a root, only ids that rebuild it — `submitGrant` checks that before
 * writing them —, so membership there is what the Merkle proof checked in JS decides). `undefined`: none.
 */
function fastScope(
  ownerMode: boolean,
  grant: ChainGrant | undefined,
): { all: boolean; tags: readonly Hex[]; root: Hex | undefined } | undefined {
  if (ownerMode || grant?.scopeKind === ScopeKind.All) return { all: true, tags: [], root: undefined };
  if (grant?.scopeKind === ScopeKind.Categories)
    return {
      all: false,
      tags: grant.scopeData.filter((t) => t.toLowerCase() !== ZERO_BYTES32),
      root: undefined,
    };
  if (grant?.scopeKind === ScopeKind.Records && grant.scopeData.length === 1)
    return { all: false, tags: [], root: grant.scopeData[0] };
  return undefined;
}

/** One group commit per store: concurrent releases share a transaction (and its commit), each logged alone. */
const groups = new WeakMap<Sql, GroupCommit>();
function releaseTransaction(sql: Sql): GroupCommit {
  let group = groups.get(sql);
  if (group === undefined) {
    group = createGroupCommit({ sql });
    groups.set(sql, group);
  }
  return group;
}

/**
 * The key vault (docs/protocol.md flow 3): releases the grantee's stanzas of some records under one grant.
 *
 * In order: the request's form, audience and freshness (`checkKeyRequest`); its signer is
 * `identityOwner(grantee)` at the chain head; then the grant at the head — it exists, names this grantee, is
 * neither revoked nor expired by chain time (T-3, T-4), and existed `vault.confirmations` blocks ago (T-5).
 * Then, in one transaction: the grantee check (`vault.checkGrantee`, the credential gate) at that head, reading
 * through the transaction; the nonce is claimed (a replay is refused, T-1); every record exists, belongs to the
 * grant's patient, is covered by the scope and is active (not pending shred or shredded); the grantee has a
 * stanza for each; the `release` access-log row is written (request digest and signature, grant, records); the
 * stanzas are read. They are returned only after that transaction commits (audit, then release; F-2). Under load
 * that transaction is shared with other releases (`createGroupCommit`: one commit for many, each with its own
 * nonce claim and its own row).
 *
 * `grantId` zero means the patient reading its own records: `grantee` is then the patient, and every record must
 * be its own. Every refusal after the signature check writes a `refusal` row with the reason and throws one
 * uniform error (T-15).
 *
 * @throws {SignedRequestError} the request is malformed, for another node, stale, or its signature does not verify
 *   (HTTP 401; nothing is logged: no verified actor).
 * @throws {KeyReleaseRefusedError} refused, reason logged (HTTP 403, uniform body).
 * @throws {VaultChainUnavailableError} the chain cannot be read (HTTP 503, fail closed).
 * @example
 * const { records } = await releaseKeys({ vault, envelope: await signKeyRequest({ account, domain, grantId, recordIds, audience }) });
 */
export async function releaseKeys(parameters: ReleaseKeysParameters): Promise<ReleaseKeysReturnType> {
  const { vault } = parameters;
  const domain = { chainId: vault.chain.chainId, verifyingContract: vault.chain.contracts.consentRegistry };
  const {
    request,
    signer,
    signature,
    digest: requestDigest,
  } = parameters.checked ??
  (await checkKeyRequest(parameters.envelope, {
    domain,
    audience: vault.audience,
    ...(vault.now === undefined ? {} : { now: vault.now() }),
  }));
  const grantee = getAddress(request.grantee.toLowerCase());
  const grantId = request.grantId.toLowerCase() as Hex;
  const recordIds = request.recordIds.map((id) => id.toLowerCase() as Hex);
  const ownerMode = grantId === ZERO_BYTES32;

  // Chain checks, all at one head.
  const head = await vault.chain.head();
  const owner = await vault.chain.identityOwner(grantee, head.number);
  let actor: Address = grantee;
  let reason: string | undefined;
  let grant: ChainGrant | undefined;
  if (!(await vault.chain.ownerAccepts(owner, { signer, hash: requestDigest, signature }, head.number))) {
    // T-6: the actor is the key that signed (verified), never the identity it claims.
    actor = signer;
    reason = 'not-owner';
  } else if (!ownerMode) {
    grant = await vault.chain.readGrant(grantId, head.number);
    if (grant === undefined) reason = 'no-grant';
    else if (!isAddressEqual(grant.grantee, grantee)) reason = 'wrong-grantee';
    else if (grant.revoked) reason = 'revoked';
    else if (head.timestamp >= grant.expiresAt) reason = 'expired';
    else if (vault.confirmations > 1) {
      const confirmedAt = head.number - BigInt(vault.confirmations - 1);
      if (confirmedAt < 0n || (await vault.chain.readGrant(grantId, confirmedAt)) === undefined)
        reason = 'unconfirmed';
    }
  }
  const checkGrantee = reason === undefined && !ownerMode ? vault.checkGrantee : undefined;
  checkGrantee?.warm?.(head);
  const patient: Address | undefined = ownerMode ? grantee : grant?.patient;

  let scopeRecordIds: Hex[] | undefined;
  const outcome = await releaseTransaction(vault.sql)(async (tx) => {
    let refusal = reason;
    // The grantee check (credential gate) at the same head, its SQL reads in this transaction: no second wait for
    // the store's one connection behind the batch in progress. Its chain reads were started by `warm` above.
    if (checkGrantee !== undefined) {
      const refused = await checkGrantee(grantee, head, tx);
      if (refused !== undefined) refusal = `credential-${refused}`;
    }
    // One statement (one round trip): the nonce claim (claimNonce's insert, made only when nothing refused the
    // request yet: a refused request leaves its nonce usable), the records and the grantee's stanzas of them, a
    // `Records` scope's members, and — when the nonce was claimed and every record passes the checks below as SQL
    // can state them (`fastScope`) — the `release` access-log row. The checks below stay the decision: the row
    // written here must agree with them (else the transaction fails, nothing released); a release they allow
    // without it gets its row written after.
    const fast = fastScope(ownerMode, grant);
    const { rows: found } = await tx.query<
      {
        claimed: number;
        log_id: bigint | null;
        scope_ids: Uint8Array[] | null;
        asked: Uint8Array;
        stanza: string | null;
      } & Partial<RecordRow>
    >(
      `with claim as (
         insert into used_nonces (signer, nonce, expires_at) select $1::bytea, $2::bytea, $3::timestamptz where $4::boolean
         on conflict (signer, nonce) do nothing returning 1
       ), found as (
         select ids.ord, ids.id as asked,
                r.record_id, r.patient, r.blob_id, coalesce(r.assigned_tag, r.category_tag) as category_tag, r.state,
                r.leaf, r.proof, r.batch_root, ${recordBatchIdSql('r')} as batch_id, s.stanza
         from unnest($5::bytea[]) with ordinality as ids(id, ord)
         left join records r on r.record_id = ids.id
         left join stanzas s on s.record_id = ids.id and s.reader = $1
       ), log as (
         insert into access_log (patient, actor, action, record_ids, grant_id, outcome, request_digest, signature)
         select $6::bytea, $1::bytea, 'release', $5::bytea[], $7::bytea, 'allowed', $8::bytea, $9::bytea
         where $10::boolean and exists (select 1 from claim)
           and (select coalesce(bool_and(coalesce(
                     f.record_id is not null and f.patient = $6::bytea and f.state = 'active' and f.stanza is not null
                     and ($11::boolean or (f.category_tag <> $12::bytea and f.category_tag = any($13::bytea[]))
                          or exists (select 1 from scope_records sr where sr.root = $14::bytea and sr.record_id = f.record_id)),
                   false)), false)
                from found f)
         returning id
       )
       select (select count(*) from claim)::int as claimed, (select id from log) as log_id,
              (select array_agg(sr.record_id) from scope_records sr where sr.root = $14::bytea) as scope_ids, found.*
       from found order by found.ord`,
      [
        hexToBytes(grantee),
        hexToBytes(request.nonce),
        new Date(Number(request.expiresAt) * 1000),
        refusal === undefined,
        recordIds.map((id) => hexToBytes(id)),
        patient === undefined ? new Uint8Array(20) : hexToBytes(patient),
        ownerMode ? null : hexToBytes(grantId),
        hexToBytes(requestDigest),
        hexToBytes(signature),
        refusal === undefined && patient !== undefined && fast !== undefined,
        fast?.all ?? false,
        hexToBytes(ZERO_BYTES32),
        (fast?.tags ?? []).map((t) => hexToBytes(t)),
        fast?.root === undefined ? null : hexToBytes(fast.root),
      ],
    );
    if (refusal === undefined && found[0]?.claimed !== 1) refusal = 'replayed';
    const rows = found.filter((r): r is typeof r & RecordRow => r.record_id != null);
    const byId = new Map(rows.map((r) => [bytesToHex(r.record_id), r]));
    // A `Records` scope's members, read by the statement above (for its root; none for another scope).
    if (grant !== undefined && grant.scopeKind === ScopeKind.Records)
      scopeRecordIds = (found[0]?.scope_ids ?? []).map((id) => bytesToHex(id));
    if (refusal === undefined && patient !== undefined) {
      const covers = ownerMode ? () => true : grant ? grantCovers({ grant, scopeRecordIds }) : () => false;
      for (const id of recordIds) {
        const row = byId.get(id);
        if (row === undefined) refusal = 'unknown-record';
        else if (!isAddressEqual(bytesToHex(row.patient), patient)) refusal = 'other-patient';
        else if (!covers({ recordId: id, categoryTag: bytesToHex(row.category_tag) }))
          refusal = 'not-covered';
        else if (row.state !== 'active')
          refusal = row.state === 'pending_shred' ? 'pending-shred' : 'shredded';
        if (refusal !== undefined) break;
      }
    }
    const stanzas = new Map<Hex, string>();
    for (const r of found) if (r.stanza != null) stanzas.set(bytesToHex(r.asked), r.stanza);
    if (refusal === undefined && recordIds.some((id) => !stanzas.has(id))) refusal = 'no-stanza';
    const written = found[0]?.log_id ?? null;
    if (refusal !== undefined && written !== null) {
      // The statement's checks and these disagree: fail closed (the batch is rolled back, nothing is released).
      throw new Error(`release row written for a request refused '${refusal}': the release checks disagree`);
    }
    if (refusal !== undefined) {
      // One row per patient concerned, each listing only that patient's record ids (no cross-patient leak).
      const concerned = new Map<string, Hex[]>();
      if (patient !== undefined) concerned.set(patient.toLowerCase(), []);
      for (const id of recordIds) {
        const row = byId.get(id);
        const key = row ? bytesToHex(row.patient) : (patient?.toLowerCase() ?? zeroAddress);
        concerned.set(key, [...(concerned.get(key) ?? []), id]);
      }
      for (const [who, ids] of concerned) {
        await appendAccessLog({
          tx,
          patient: who as Address,
          actor,
          action: 'refusal',
          recordIds: ids,
          ...(ownerMode ? {} : { grantId }),
          outcome: 'denied',
          reason: refusal,
          requestDigest,
          signature,
        });
      }
      return { refused: refusal } as const;
    }
    const accessLogId =
      written ??
      (await appendAccessLog({
        tx,
        patient: patient as Address,
        actor: grantee,
        action: 'release',
        recordIds,
        ...(ownerMode ? {} : { grantId }),
        outcome: 'allowed',
        requestDigest,
        signature,
      }));
    const records = recordIds.map((id): ReleasedRecord => {
      const row = byId.get(id) as RecordRow;
      return {
        recordId: id,
        blobId: row.blob_id,
        stanza: stanzas.get(id) as string,
        leaf: bytesToHex(row.leaf),
        proof: (row.proof ?? []).map((p) => bytesToHex(p)),
        batchRoot: row.batch_root === null ? null : bytesToHex(row.batch_root),
        batchId: row.batch_id === null ? null : String(row.batch_id),
      };
    });
    return { accessLogId, records } as const;
  });
  if ('refused' in outcome) throw new KeyReleaseRefusedError(outcome.refused);
  return { grantee, grantId, accessLogId: outcome.accessLogId, records: outcome.records };
}
