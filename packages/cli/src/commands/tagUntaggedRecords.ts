import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import { categoryTag } from '@carekey/sdk/fhir';
import type { Hex } from 'viem';
import { categoryKey } from '../home/categoryKey.ts';
import { progress } from '../io/progress.ts';
import type { Session } from './openSession.ts';

/** Most tags sent in one `POST /v1/records/tags` (the node's limit). */
export const MAX_TAGS_PER_CALL = 1000;

/**
 * Tags my records a provider published untagged (it cannot compute my category tags): for each active record the
 * node lists with tag zero that my wallet folder knows the category of, computes `HMAC(categoryKey, category)` and
 * sends it (`POST /v1/records/tags`, signed by me). Until then a category grant never opens such a record (fail
 * closed, docs/protocol.md "Records"). Run after `syncRecords`, which fetches and learns the category of new ones.
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
  const tagKey = categoryKey(keys.privateKey);
  const tags: { recordId: Hex; categoryTag: Hex }[] = [];
  for (const r of untagged) {
    const local = byId.get(r.recordId.toLowerCase());
    if (local === undefined) continue;
    const tag = categoryTag({ patientSalt: tagKey, category: local.category });
    tags.push({ recordId: local.recordId, categoryTag: tag });
    local.categoryTag = tag;
  }
  tagKey.fill(0);
  for (let i = 0; i < tags.length; i += MAX_TAGS_PER_CALL) {
    progress(
      `tagging ${Math.min(MAX_TAGS_PER_CALL, tags.length - i)} record(s) a provider published for you`,
    );
    await node.tagRecords({ tags: tags.slice(i, i + MAX_TAGS_PER_CALL) });
  }
  if (tags.length > 0) await store.save(index);
  return tags.length;
}
