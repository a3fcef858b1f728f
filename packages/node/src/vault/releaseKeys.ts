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
import { type BatchCommit, type BatchOutcome, createBatchCommit } from '../db/createGroupCommit.ts';
import type { Sql, SqlExecutor } from '../db/Sql.ts';
import { grantCovers } from './grantCovers.ts';
import { recordBatchIdSql } from './recordBatchId.ts';
import type { GranteeCheck, Vault } from './Vault.ts';
import type { ChainGrant, ChainHead } from './VaultChain.ts';

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

/** A request after its per-request checks (signature, chain at one head), waiting for the batch step. */
type Prepared = {
  grantee: Address;
  grantId: Hex;
  ownerMode: boolean;
  recordIds: Hex[];
  /** Who the log rows name: the grantee, or the signer when it does not own the grantee identity (T-6). */
  actor: Address;
  /** The refusal the chain checks decided, if any. */
  reason: string | undefined;
  grant: ChainGrant | undefined;
  patient: Address | undefined;
  head: ChainHead;
  checkGrantee: GranteeCheck | undefined;
  nonce: Hex;
  expiresAt: Date;
  requestDigest: Hex;
  signature: Hex;
};

type Outcome = { refused: string } | { accessLogId: bigint; records: ReleasedRecord[] };

/** One batch step per store: concurrent releases share a transaction (and its commit) and its statements. */
const batches = new WeakMap<Sql, BatchCommit<Prepared, Outcome>>();
function releaseBatch(sql: Sql): BatchCommit<Prepared, Outcome> {
  let batch = batches.get(sql);
  if (batch === undefined) {
    batch = createBatchCommit({ sql, run: releaseStep });
    batches.set(sql, batch);
  }
  return batch;
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
  const outcome = await releaseBatch(vault.sql)({
    grantee,
    grantId,
    ownerMode,
    recordIds,
    actor,
    reason,
    grant,
    patient: ownerMode ? grantee : grant?.patient,
    head,
    checkGrantee,
    nonce: request.nonce,
    expiresAt: new Date(Number(request.expiresAt) * 1000),
    requestDigest,
    signature,
  });
  if ('refused' in outcome) throw new KeyReleaseRefusedError(outcome.refused);
  return { grantee, grantId, accessLogId: outcome.accessLogId, records: outcome.records };
}

/** One log row the write statement inserts: decided, or (`claim`) a release if its nonce claims, else `replayed`. */
type LogRow = {
  patient: Address;
  actor: Address;
  reason: string | null;
  grantId: Hex | undefined;
  recordIds: readonly Hex[];
  requestDigest: Hex;
  signature: Hex;
  claim: { signer: Address; nonce: Hex; expiresAt: Date } | undefined;
};

/**
 * The batch step of the releases sharing one transaction, a fixed number of statements whatever their number:
 * the grantee checks (`checkGrantee.many`: one statement for all; a check without it, once per release), one read
 * of every request's records, stanzas and `Records`-scope members, the decisions in JS (per request, as alone), then
 * one write: the nonce claims of the requests allowed so far (`on conflict do nothing`; a request whose nonce does
 * not claim is `replayed`, of two in the batch with one nonce the first goes on to claim and the second is
 * `replayed`) and every access-log row — a `release` row for each claimed request, a `refusal` row per patient
 * concerned for each refused one, listing only that patient's record ids. A refused request claims nothing (its
 * nonce stays usable). The outcomes are returned only once the group commit has committed (F-2).
 */
async function releaseStep(tx: SqlExecutor, batch: readonly Prepared[]): Promise<BatchOutcome<Outcome>[]> {
  const refusals: (string | undefined)[] = batch.map((p) => p.reason);
  const failures: ({ error: unknown } | undefined)[] = batch.map(() => undefined);

  // The grantee checks (credential gate) at each request's head, their SQL reads in this transaction.
  const byGate = new Map<GranteeCheck, number[]>();
  batch.forEach((p, i) => {
    if (p.checkGrantee !== undefined) byGate.set(p.checkGrantee, [...(byGate.get(p.checkGrantee) ?? []), i]);
  });
  for (const [gate, members] of byGate) {
    const answers: PromiseSettledResult<string | undefined>[] =
      gate.many !== undefined && members.length > 1
        ? await gate.many(
            members.map((i) => ({
              grantee: (batch[i] as Prepared).grantee,
              head: (batch[i] as Prepared).head,
            })),
            tx,
          )
        : [];
    for (const [k, i] of members.entries()) {
      const p = batch[i] as Prepared;
      let answer = answers[k];
      if (answer === undefined)
        answer = await gate(p.grantee, p.head, tx).then(
          (value): PromiseSettledResult<string | undefined> => ({ status: 'fulfilled', value }),
          (reason: unknown): PromiseSettledResult<string | undefined> => ({ status: 'rejected', reason }),
        );
      if (answer.status === 'rejected') failures[i] = { error: answer.reason };
      else if (answer.value !== undefined) refusals[i] = `credential-${answer.value}`;
    }
  }

  // One read: every request's records and its grantee's stanzas of them, and the members of every `Records` scope.
  const asked: { request: number; id: Hex; reader: Address }[] = [];
  const roots = new Set<Hex>();
  batch.forEach((p, i) => {
    if (failures[i] !== undefined) return;
    for (const id of p.recordIds) asked.push({ request: i, id, reader: p.grantee });
    const root = p.grant?.scopeKind === ScopeKind.Records ? p.grant.scopeData[0] : undefined;
    if (root !== undefined && p.grant?.scopeData.length === 1) roots.add(root.toLowerCase() as Hex);
  });
  const { rows: found } =
    asked.length === 0 && roots.size === 0
      ? { rows: [] }
      : await tx.query<
          {
            request: number | null;
            asked: Uint8Array | null;
            stanza: string | null;
            root: Uint8Array | null;
          } & {
            [k in keyof RecordRow]: RecordRow[k] | null;
          }
        >(
          `select ids.request, ids.id as asked,
            r.record_id, r.patient, r.blob_id, coalesce(r.assigned_tag, r.category_tag) as category_tag, r.state,
            r.leaf, r.proof, r.batch_root, ${recordBatchIdSql('r')} as batch_id, s.stanza, null::bytea as root
     from unnest($1::int4[], $2::bytea[], $3::bytea[]) as ids(request, id, reader)
     left join records r on r.record_id = ids.id
     left join stanzas s on s.record_id = ids.id and s.reader = ids.reader
     union all
     select null, null, sr.record_id, null, null, null, null, null, null, null, null, null, sr.root
     from scope_records sr where sr.root = any($4::bytea[])`,
          [
            asked.map((a) => a.request),
            asked.map((a) => hexToBytes(a.id)),
            asked.map((a) => hexToBytes(a.reader)),
            [...roots].map((r) => hexToBytes(r)),
          ],
        );
  const records = batch.map(() => new Map<Hex, RecordRow>());
  const stanzas = batch.map(() => new Map<Hex, string>());
  const members = new Map<Hex, Hex[]>();
  for (const row of found) {
    if (row.root !== null) {
      const root = bytesToHex(row.root);
      members.set(root, [...(members.get(root) ?? []), bytesToHex(row.record_id as Uint8Array)]);
      continue;
    }
    const i = row.request as number;
    const id = bytesToHex(row.asked as Uint8Array);
    if (row.record_id !== null) records[i]?.set(id, row as RecordRow);
    if (row.stanza !== null) stanzas[i]?.set(id, row.stanza);
  }

  // The decisions, per request, in JS (the same checks, in the same order, as a release alone).
  batch.forEach((p, i) => {
    if (failures[i] !== undefined || refusals[i] !== undefined || p.patient === undefined) return;
    const byId = records[i] as Map<Hex, RecordRow>;
    const root = p.grant?.scopeKind === ScopeKind.Records ? p.grant.scopeData[0] : undefined;
    const scopeRecordIds = root === undefined ? undefined : (members.get(root.toLowerCase() as Hex) ?? []);
    const covers = p.ownerMode
      ? () => true
      : p.grant
        ? grantCovers({ grant: p.grant, scopeRecordIds })
        : () => false;
    let refusal: string | undefined;
    for (const id of p.recordIds) {
      const row = byId.get(id);
      if (row === undefined) refusal = 'unknown-record';
      else if (!isAddressEqual(bytesToHex(row.patient), p.patient)) refusal = 'other-patient';
      else if (!covers({ recordId: id, categoryTag: bytesToHex(row.category_tag) })) refusal = 'not-covered';
      else if (row.state !== 'active') refusal = row.state === 'pending_shred' ? 'pending-shred' : 'shredded';
      if (refusal !== undefined) break;
    }
    if (refusal === undefined && p.recordIds.some((id) => !stanzas[i]?.has(id))) refusal = 'no-stanza';
    refusals[i] = refusal;
  });

  // The log rows, and the nonce claims of the requests allowed so far (the first of the batch per nonce).
  const rows: LogRow[] = [];
  const claiming = new Set<string>();
  batch.forEach((p, i) => {
    if (failures[i] !== undefined) return;
    const common = {
      actor: p.actor,
      grantId: p.ownerMode ? undefined : p.grantId,
      requestDigest: p.requestDigest,
      signature: p.signature,
    };
    if (refusals[i] === undefined) {
      const key = `${p.grantee.toLowerCase()}:${p.nonce.toLowerCase()}`;
      if (!claiming.has(key)) {
        claiming.add(key);
        rows.push({
          ...common,
          patient: p.patient as Address,
          reason: null,
          recordIds: p.recordIds,
          claim: { signer: p.grantee, nonce: p.nonce, expiresAt: p.expiresAt },
        });
        return;
      }
      refusals[i] = 'replayed'; // another request of this batch claims the same nonce
    }
    // One row per patient concerned, each listing only that patient's record ids (no cross-patient leak).
    const concerned = new Map<string, Hex[]>();
    if (p.patient !== undefined) concerned.set(p.patient.toLowerCase(), []);
    for (const id of p.recordIds) {
      const row = records[i]?.get(id);
      const key = row ? bytesToHex(row.patient) : (p.patient?.toLowerCase() ?? zeroAddress);
      concerned.set(key, [...(concerned.get(key) ?? []), id]);
    }
    for (const [who, ids] of concerned)
      rows.push({
        ...common,
        patient: who as Address,
        reason: refusals[i] as string,
        recordIds: ids,
        claim: undefined,
      });
  });

  // One write: the claims, then every row — a claim row is the release if its nonce claimed, else `replayed`.
  const flat: Hex[] = [];
  const spans = rows.map((r) => {
    const first = flat.length + 1;
    flat.push(...r.recordIds);
    return [first, flat.length] as const;
  });
  const claims = rows.flatMap((r) => (r.claim === undefined ? [] : [r]));
  const { rows: written } =
    rows.length === 0
      ? { rows: [] }
      : await tx.query<{ kind: string; a: Uint8Array; b: Uint8Array | null; id: bigint | null }>(
          `with claim as (
       insert into used_nonces (signer, nonce, expires_at)
       select * from unnest($1::bytea[], $2::bytea[], $3::timestamptz[])
       on conflict (signer, nonce) do nothing
       returning signer, nonce
     ), input as (
       select x.*, x.claim_signer is not null
                   and exists (select 1 from claim c where c.signer = x.claim_signer and c.nonce = x.claim_nonce) as won
       from unnest($4::bytea[], $5::bytea[], $6::text[], $7::bytea[], $8::bytea[], $9::bytea[], $10::int4[],
                   $11::int4[], $12::bytea[], $13::bytea[]) with ordinality
            as x(patient, actor, reason, grant_id, digest, signature, first, last, claim_signer, claim_nonce, ord)
     ), log as (
       insert into access_log (patient, actor, action, record_ids, grant_id, outcome, reason, request_digest, signature)
       select patient, actor, case when won then 'release' else 'refusal' end, ($14::bytea[])[first:last], grant_id,
              case when won then 'allowed' else 'denied' end, case when won then null else coalesce(reason, 'replayed') end,
              digest, signature
       from input order by ord
       returning id, action, request_digest
     )
     select 'claim' as kind, signer as a, nonce as b, null::int8 as id from claim
     union all
     select 'release', request_digest, null, id from log where action = 'release'`,
          [
            claims.map((r) => hexToBytes(r.claim?.signer as Address)),
            claims.map((r) => hexToBytes(r.claim?.nonce as Hex)),
            claims.map((r) => r.claim?.expiresAt as Date),
            rows.map((r) => hexToBytes(r.patient)),
            rows.map((r) => hexToBytes(r.actor)),
            rows.map((r) => r.reason),
            rows.map((r) => (r.grantId === undefined ? null : hexToBytes(r.grantId))),
            rows.map((r) => hexToBytes(r.requestDigest)),
            rows.map((r) => hexToBytes(r.signature)),
            spans.map(([first]) => first),
            spans.map(([, last]) => last),
            rows.map((r) => (r.claim === undefined ? null : hexToBytes(r.claim.signer))),
            rows.map((r) => (r.claim === undefined ? null : hexToBytes(r.claim.nonce))),
            flat.map((id) => hexToBytes(id)),
          ],
        );
  const claimed = new Set<string>();
  const released = new Map<Hex, bigint>();
  for (const w of written) {
    if (w.kind === 'claim') claimed.add(`${bytesToHex(w.a)}:${bytesToHex(w.b as Uint8Array)}`);
    else {
      const digest = bytesToHex(w.a);
      // A release row per claimed nonce, and one nonce per digest: two would be a bug — fail closed.
      if (released.has(digest)) throw new Error('two release rows for one request digest');
      released.set(digest, w.id as bigint);
    }
  }

  return batch.map((p, i): BatchOutcome<Outcome> => {
    const failure = failures[i];
    if (failure !== undefined) return failure;
    const refusal = refusals[i];
    if (refusal !== undefined) return { value: { refused: refusal } };
    const accessLogId = released.get(p.requestDigest.toLowerCase() as Hex);
    const won = claimed.has(`${p.grantee.toLowerCase()}:${p.nonce.toLowerCase()}`);
    if (!won) {
      if (accessLogId !== undefined) throw new Error('release row written for a nonce that did not claim');
      return { value: { refused: 'replayed' } };
    }
    if (accessLogId === undefined) throw new Error('nonce claimed without its release row');
    const byId = records[i] as Map<Hex, RecordRow>;
    return {
      value: {
        accessLogId,
        records: p.recordIds.map((id): ReleasedRecord => {
          const row = byId.get(id) as RecordRow;
          return {
            recordId: id,
            blobId: row.blob_id,
            stanza: stanzas[i]?.get(id) as string,
            leaf: bytesToHex(row.leaf),
            proof: (row.proof ?? []).map((q) => bytesToHex(q)),
            batchRoot: row.batch_root === null ? null : bytesToHex(row.batch_root),
            batchId: row.batch_id === null ? null : String(row.batch_id),
          };
        }),
      },
    };
  });
}
