import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { SourcedResource } from '../types.ts';

/** The shared test data folder (beside the repository). */
export const SHARED_DATA = join(import.meta.dirname, '..', '..', '..', '..', '..', '..', 'shared', 'data');

/**
 * The resources of a Bundle file of the shared data (`synthea/bundles/…`, `ips/…`), references to entries'
 * fullUrls rewritten to `ResourceType/id` as `splitIntoRecords` does (records never carry `urn:uuid:` links).
 */
export function bundleResources(path: string): Resource[] {
  const bundle = JSON.parse(readFileSync(join(SHARED_DATA, path), 'utf8')) as Bundle;
  const urls = new Map<string, string>();
  for (const e of bundle.entry ?? []) {
    if (e.fullUrl !== undefined && e.resource?.id !== undefined)
      urls.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`);
  }
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) for (const v of value) walk(v);
    else if (value !== null && typeof value === 'object') {
      const object = value as Record<string, unknown>;
      const target = typeof object.reference === 'string' ? urls.get(object.reference) : undefined;
      if (target !== undefined) object.reference = target;
      for (const v of Object.values(object)) walk(v);
    }
  };
  const resources = (bundle.entry ?? []).map((e) => e.resource as Resource);
  walk(resources);
  return resources;
}

/** Every Synthea bundle file name. */
export function syntheaFiles(): string[] {
  return readdirSync(join(SHARED_DATA, 'synthea', 'bundles'))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** Resources as records published by one custodian (record ids `<custodian>-<n>`). */
export function fromCustodian(
  resources: readonly Resource[],
  custodian: string,
  custodianName?: string,
): SourcedResource[] {
  return resources.map((resource, i) => ({
    resource,
    source: {
      custodian,
      recordId: `${custodian}-${i}`,
      ...(custodianName === undefined ? {} : { custodianName }),
    },
  }));
}
