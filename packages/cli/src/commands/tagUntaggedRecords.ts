import { ScopeKind, ZERO_BYTES32 } from '@carekey/sdk/chain';
import { encodeStanza, wrapFileKey, X25519Recipient } from '@carekey/sdk/crypto';
import { categoryTag, sessionCategoryKey } from '@carekey/sdk/fhir';
import type { Address, Hex } from 'viem';
import { progress } from '../io/progress.ts';
import type { Session } from './openSession.ts';

/** Most tags sent in one `POST /v1/records/tags` (the node's limit). */
export const MAX_TAGS_PER_CALL = 1000;

/**
 * Tags my records a provider published untagged (it cannot compute my category tags): for each active record the
 * node lists with tag zero that my wallet folder knows the category of, computes `HMAC(categoryKey, category)` and
 * sends it (`POST /v1/records/tags`, signed by me). Until then a category grant never opens such a record (fail
 * closed, docs/protocol.md "Records"). The grantees of my active category and all-records grants that now cover
 * them get their stanza in the same call (O(records × grantees) key wraps, no payload pass). Run after
 * `syncRecords`, which fetches new records and learns their category.
 *
 * @returns how many records were tagged.
 */
export async function tagUntaggedRecords(session: Session): Promise<number> {
  const { node, store, keys } = session;
  const remote = (await node.listRecords()).records;
  const untagged = remote.filter(
    (r) => r.state === 'active' && (r.categoryTag ?? ZERO_BYTES32) === ZERO_BYTES32,
  );
  if (untagged.length === 0) return 0;
  const index = await store.list(keys.identity);
  const byId = new Map(index.map((r) => [r.recordId.toLowerCase(), r]));
  const tagKey = await sessionCategoryKey(session);
  const tags: { recordId: Hex; categoryTag: Hex }[] = [];
  for (const r of untagged) {
    const local = byId.get(r.recordId.toLowerCase());
    if (local === undefined) continue;
    const tag = categoryTag({ patientSalt: tagKey, category: local.category });
    tags.push({ recordId: local.recordId, categoryTag: tag });
    local.categoryTag = tag;
  }
  const listed = (await node.listGrants()) as Awaited<ReturnType<typeof node.listGrants>> & {
    queued?: { patient: Address; grantee: Address; state: string; scopeKind?: number; scopeData?: Hex[] }[];
  };
  // Active grants, and those still queued in the node's outbox (a share --no-wait just before): both get stanzas.
  const covering = [
    ...listed.grants.filter((g) => g.state === 'active'),
    ...(listed.queued ?? []).filter((q) => q.state === 'queued' && q.scopeKind !== undefined),
  ].filter(
    (g) =>
      g.patient.toLowerCase() === keys.address.toLowerCase() &&
      (g.scopeKind === ScopeKind.All || g.scopeKind === ScopeKind.Categories),
  );
  const recipients = new Map<string, X25519Recipient>();
  for (let i = 0; i < tags.length; i += MAX_TAGS_PER_CALL) {
    const chunk = tags.slice(i, i + MAX_TAGS_PER_CALL);
    const stanzas: { recordId: Hex; reader: Address; stanza: string }[] = [];
    for (const t of chunk) {
      const readers = covering.filter(
        (g) =>
          g.scopeKind === ScopeKind.All ||
          (g.scopeData as string[] | undefined)?.some((d) => d.toLowerCase() === t.categoryTag.toLowerCase()),
      );
      if (readers.length === 0 || !(await store.hasFile(t.recordId))) continue;
      const fileKey = await store.fileKey(t.recordId, keys.identity);
      for (const g of readers) {
        let to = recipients.get(g.grantee.toLowerCase());
        if (to === undefined) {
          to = new X25519Recipient((await node.getDid(g.grantee)).recipient);
          recipients.set(g.grantee.toLowerCase(), to);
        }
        stanzas.push({
          recordId: t.recordId,
          reader: g.grantee,
          stanza: encodeStanza(await wrapFileKey({ fileKey, recipient: to })),
        });
      }
      fileKey.fill(0);
    }
    progress(`tagging ${chunk.length} record(s) a provider published for you`);
    const body = { tags: chunk, ...(stanzas.length > 0 ? { stanzas } : {}) };
    await node.tagRecords(body as Parameters<typeof node.tagRecords>[0]);
  }
  if (tags.length > 0) await store.save(index);
  return tags.length;
}
