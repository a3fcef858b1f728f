import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { splitIntoRecords } from '../../../sdk/src/fhir/index.ts';

/** The real Synthea material of `/work/shared/data` (see its README). */
export const SYNTHEA_BUNDLES = join(import.meta.dirname, '../../../../../shared/data/synthea/bundles');

/** A FHIR resource as the portal holds it after an import (plain JSON). */
export type PlainResource = { resourceType: string; id: string; [key: string]: unknown };

/**
 * `count` resources of one person made from several real Synthea patients: each bundle is validated and split by the
 * SDK exactly as an import does (references rewritten to `ResourceType/id`), then every other patient's id is
 * replaced by the first patient's, and their own `Patient` resources are dropped. Bundles are taken in name order
 * until `count` is reached, so the result is the same on every run.
 */
export async function rekeyedSyntheaResources(count: number): Promise<PlainResource[]> {
  const files = readdirSync(SYNTHEA_BUNDLES)
    .filter((f) => f.endsWith('.json'))
    .sort();
  const out: PlainResource[] = [];
  let person: string | undefined;
  for (const file of files) {
    if (out.length >= count) break;
    const { records } = await splitIntoRecords({ input: readFileSync(join(SYNTHEA_BUNDLES, file)) });
    const own = records.find((r) => r.resourceType === 'Patient')?.id;
    if (own === undefined) throw new Error(`${file} has no Patient`);
    person ??= own;
    for (const record of records) {
      if (out.length >= count) break;
      if (record.resourceType === 'Patient' && record.id !== person) continue;
      const json = own === person ? record.canonicalJson : record.canonicalJson.replaceAll(own, person);
      out.push(JSON.parse(json) as PlainResource);
    }
  }
  if (out.length < count) throw new Error(`the Synthea bundles hold only ${out.length} resources`);
  return out;
}
