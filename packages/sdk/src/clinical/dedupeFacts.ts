import type { Resource } from '@medplum/fhirtypes';
import { canonicalJson } from '../fhir/canonicalJson.ts';
import { factKey } from './factKey.ts';
import type { Fact, RecordSource, SourcedResource } from './types.ts';

function compareSources(a: RecordSource, b: RecordSource): number {
  return a.custodian < b.custodian
    ? -1
    : a.custodian > b.custodian
      ? 1
      : a.recordId < b.recordId
        ? -1
        : a.recordId > b.recordId
          ? 1
          : 0;
}

/**
 * Groups records that state the same fact ({@link factKey}) into one {@link Fact} with every source.
 *
 * Properties (tested with fast-check): idempotent (deduplicating the facts' own records again gives the same
 * facts), independent of the input order, and never merges records with different keys — different codes,
 * values, units or times stay apart. The same record seen twice (same custodian and record id) is one source.
 * Facts come out sorted by key; the representative `resource` of a fact is the one of its first source.
 *
 * @example
 * const facts = dedupeFacts([{ resource: obs, source: { custodian: '0xLab', recordId: '0x01' } }, ...]);
 */
export function dedupeFacts<resource extends Resource = Resource>(
  items: readonly SourcedResource[],
): Fact<resource>[] {
  const groups = new Map<string, SourcedResource[]>();
  for (const item of items) {
    const key = factKey(item.resource);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  const facts: Fact<resource>[] = [];
  for (const [key, group] of groups) {
    group.sort((a, b) => compareSources(a.source, b.source) || compareText(a.resource, b.resource));
    const sources: RecordSource[] = [];
    for (const { source } of group) {
      const last = sources[sources.length - 1];
      if (last === undefined || compareSources(last, source) !== 0) sources.push(source);
      else if (source.custodianName !== undefined && last.custodianName === undefined)
        sources[sources.length - 1] = source;
    }
    facts.push({ key, resource: (group[0] as SourcedResource).resource as resource, sources });
  }
  return facts.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Tie-break between two records of the same source (a record seen twice): the canonical text, so order never matters. */
function compareText(a: Resource, b: Resource): number {
  if (a === b) return 0;
  const x = canonicalJson(a);
  const y = canonicalJson(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
