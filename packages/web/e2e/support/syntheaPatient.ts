import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateMany } from '../../../sdk/src/fhir/node/index.ts';

/** The real Synthea material of `/work/shared/data` (see its README). */
export const SYNTHEA_BUNDLES = join(import.meta.dirname, '../../../../../shared/data/synthea/bundles');

/** A FHIR resource as the portal holds it after an import (plain JSON). */
export type PlainResource = { resourceType: string; id: string; [key: string]: unknown };

/**
 * `count` resources of one person made from several real Synthea patients: each bundle is validated and split by the
 * SDK exactly as an import of many files does (`validateMany`: the worker pool on every core, references rewritten to
 * `ResourceType/id`), then every other patient's id is replaced by the first patient's, and their own `Patient`
 * resources are dropped. Bundles are taken in name order until `count` is reached, so the result is the same on every
 * run. (Validating them one by one in this thread took 4× longer: most of performance.spec's wall time.)
 */
export async function rekeyedSyntheaResources(count: number): Promise<PlainResource[]> {
  const files = readdirSync(SYNTHEA_BUNDLES)
    .filter((f) => f.endsWith('.json'))
    .sort();
  // The bundles needed, in name order, counted from their entries (cheap next to validating them).
  const inputs: Buffer[] = [];
  let entries = 0;
  for (const file of files) {
    if (entries >= count) break;
    const bytes = readFileSync(join(SYNTHEA_BUNDLES, file));
    entries += ((JSON.parse(bytes.toString('utf8')) as { entry?: unknown[] }).entry ?? []).length;
    inputs.push(bytes);
  }
  const { results } = await validateMany({ inputs });
  const out: PlainResource[] = [];
  let person: string | undefined;
  for (const [index, result] of results.entries()) {
    if (out.length >= count) break;
    if (!result.ok) throw result.error;
    const { records } = result;
    const own = records.find((r) => r.resourceType === 'Patient')?.id;
    if (own === undefined) throw new Error(`bundle ${index} has no Patient`);
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
