import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import { VaultInputError } from '@carekey/sdk/errors';
import { type Address, bytesToHex, type Hex, hexToBytes, isAddressEqual } from 'viem';
import { grantCovers } from './grantCovers.ts';
import { listGrants } from './listGrants.ts';
import { readPatientGrants } from './readPatientGrants.ts';
import type { Vault } from './Vault.ts';
import type { ChainGrant } from './VaultChain.ts';
import { checkStanza, toAddress, toBytes32 } from './vaultInput.ts';

export type TagRecordsParameters = {
  vault: Vault;
  /** The verified identity that sent the request: must be every record's patient. */
  identity: Address;
  tags: readonly { recordId: Hex; categoryTag: Hex }[];
  /**
   * The patient's signed request that carries these tags (the `Carekey-Auth` NodeRequest, whose body hash binds
   * them), kept beside each tag as the patient's signed assignment.
   */
  authorization: string;
  /**
   * Stanzas of the tagged records for grantees whose active grant from the patient now covers them (a category
   * or all-records grant given before the provider published, or one still queued in this node's outbox): the
   * patient wraps the file key to each.
   */
  stanzas?: readonly { recordId: Hex; reader: Address; stanza: string }[] | undefined;
};

export type TagRecordsReturnType = {
  /** Records tagged by this call. */
  tagged: Hex[];
  /** Records that already had exactly this tag (a repeated sync). */
  unchanged: Hex[];
  /** Stanzas stored for grantees. */
  stanzas: number;
};

/** Most tags in one call. */
export const MAX_TAGS = 1000;

/**
 * Tags records a provider published for the patient untagged (docs/protocol.md "Records"). The on-chain leaf
 * committed tag zero and stays so; the vault keeps the patient's assigned tag and its signed request beside the
 * committed one, and every category check (release, grant, revoke, shared list) uses it from then on. All or
 * nothing: every record must be an active record of the caller, committed untagged, and not tagged otherwise.
 *
 * @throws {VaultInputError} malformed (400), a record that is not the caller's (403, one answer for unknown ones),
 *   a record committed with a tag or already tagged differently (409).
 */
export async function tagRecords(parameters: TagRecordsParameters): Promise<TagRecordsReturnType> {
  const { vault, identity } = parameters;
  if (parameters.tags.length === 0 || parameters.tags.length > MAX_TAGS) {
    throw new VaultInputError('invalid-tags', `send 1 to ${MAX_TAGS} tags`);
  }
  const seen = new Set<Hex>();
  const tags = parameters.tags.map((t, i) => {
    const recordId = toBytes32(t.recordId, `tags[${i}].recordId`);
    const categoryTag = toBytes32(t.categoryTag, `tags[${i}].categoryTag`);
    if (seen.has(recordId)) throw new VaultInputError('invalid-tags', `tags[${i}].recordId repeats`);
    if (categoryTag === ZERO_BYTES32)
      throw new VaultInputError('invalid-tags', `tags[${i}].categoryTag is zero`);
    seen.add(recordId);
    return { recordId, categoryTag };
  });
  const head = await vault.chain.head();
  const readers = [
    ...new Set((parameters.stanzas ?? []).map((s) => toAddress(s.reader, 'stanzas[].reader'))),
  ];
  const grants: Pick<ChainGrant, 'grantee' | 'scopeKind' | 'scopeData'>[] =
    readers.length === 0
      ? []
      : (await readPatientGrants({ chain: vault.chain, patient: identity, blockNumber: head.number })).filter(
          (g) =>
            !g.revoked &&
            head.timestamp < g.expiresAt &&
            g.scopeKind !== 2 &&
            readers.some((r) => isAddressEqual(r, g.grantee)),
        );
  if (readers.length > 0) {
    // Grants of the patient this node relayed and the chain does not have yet: their stanzas are kept like those of
    // a grant being submitted (released only once the grant is active on chain and covers the record).
    for (const q of (await listGrants({ vault, identity })).queued) {
      if (q.state !== 'queued' || !isAddressEqual(q.patient, identity) || q.scopeKind === undefined) continue;
      if (q.scopeKind === 2 || (q.expiresAt !== undefined && head.timestamp >= q.expiresAt)) continue;
      if (!readers.some((r) => isAddressEqual(r, q.grantee))) continue;
      grants.push({
        grantee: q.grantee,
        scopeKind: q.scopeKind as ChainGrant['scopeKind'],
        scopeData: q.scopeData ?? [],
      });
    }
  }
  const stanzas = (parameters.stanzas ?? []).map((s, i) => ({
    recordId: toBytes32(s.recordId, `stanzas[${i}].recordId`),
    reader: toAddress(s.reader, `stanzas[${i}].reader`),
    stanza: checkStanza(s.stanza, `stanzas[${i}].stanza`),
  }));
  const tagOf = new Map(tags.map((t) => [t.recordId, t.categoryTag]));
  for (const [i, s] of stanzas.entries()) {
    const categoryTag = tagOf.get(s.recordId);
    const covered =
      categoryTag !== undefined &&
      grants.some(
        (g) =>
          isAddressEqual(g.grantee, s.reader) &&
          grantCovers({ grant: g })({ recordId: s.recordId, categoryTag }),
      );
    if (!covered) {
      throw new VaultInputError(
        'not-in-scope',
        `stanzas[${i}]: no active grant of yours to that reader covers the record with its tag`,
      );
    }
  }
  return vault.sql.transaction(async (tx) => {
    const { rows } = await tx.query<{
      record_id: Uint8Array;
      patient: Uint8Array;
      category_tag: Uint8Array;
      assigned_tag: Uint8Array | null;
      state: string;
    }>(
      'select record_id, patient, category_tag, assigned_tag, state from records where record_id = any($1) for update',
      [tags.map((t) => hexToBytes(t.recordId))],
    );
    const byId = new Map(rows.map((r) => [bytesToHex(r.record_id), r]));
    const tagged: Hex[] = [];
    const unchanged: Hex[] = [];
    for (const [i, t] of tags.entries()) {
      const row = byId.get(t.recordId);
      if (row === undefined || !isAddressEqual(bytesToHex(row.patient), identity) || row.state !== 'active') {
        throw new VaultInputError('not-your-record', `tags[${i}].recordId is not an active record of yours`, {
          status: 403,
        });
      }
      if (bytesToHex(row.category_tag) !== ZERO_BYTES32) {
        throw new VaultInputError('already-tagged', `tags[${i}].recordId was published with its tag`, {
          status: 409,
        });
      }
      if (row.assigned_tag !== null) {
        if (bytesToHex(row.assigned_tag) === t.categoryTag) {
          unchanged.push(t.recordId);
          continue;
        }
        throw new VaultInputError('already-tagged', `tags[${i}].recordId is already tagged otherwise`, {
          status: 409,
        });
      }
      tagged.push(t.recordId);
    }
    for (const t of tags) {
      if (!tagged.includes(t.recordId)) continue;
      await tx.query('update records set assigned_tag = $2, tag_authorization = $3 where record_id = $1', [
        hexToBytes(t.recordId),
        hexToBytes(t.categoryTag),
        parameters.authorization,
      ]);
    }
    for (const s of stanzas) {
      await tx.query(
        'insert into stanzas (record_id, reader, stanza) values ($1, $2, $3) on conflict (record_id, reader) do nothing',
        [hexToBytes(s.recordId), hexToBytes(s.reader), s.stanza],
      );
    }
    return { tagged, unchanged, stanzas: stanzas.length };
  });
}
