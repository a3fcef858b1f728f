import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { canonicalJson, parseFhirJson, sha256Hex, splitIntoRecords } from '@carekey/sdk/fhir';
import { nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import type { Command } from 'commander';
import { SHA256_EXTENSION } from '../gateway/bulk/BulkExportJobs.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { openSession } from './openSession.ts';
import { itemsOfRecords, publishItems } from './publishFhir.ts';

/** Most resources validated and published as one unit (the validator's Bundle limit). */
const CHUNK = 10_000;

export type ImportExportReturnType = {
  /** Resources read from the NDJSON files. */
  read: number;
  /** Records published on this node. */
  imported: number;
  /** Resources already here with the same SHA-256 (a re-run after an interruption). */
  alreadyHere: number;
  /** Whether a manifest listed every resource's SHA-256 and each matched. */
  manifestChecked: boolean;
  recordIds: string[];
};

/**
 * Reads a Bulk Data export (`<Type>.ndjson` files, and the `manifest.json` if saved beside them) into FHIR resources.
 * Each line is parsed with the T-19 safe parser; duplicates and, when the manifest carries the Carekey SHA-256
 * extension, any resource missing, extra or altered are refused before anything is sent.
 */
async function readExport(dir: string) {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (cause) {
    throw new CliError(`cannot read ${dir}`, {
      cause,
      hint: 'name the folder the export was downloaded into',
    });
  }
  const files = names.filter((n) => n.endsWith('.ndjson'));
  if (files.length === 0)
    throw new CliError(`${dir} holds no .ndjson file`, { hint: 'download the $export output files into it' });
  const resources: { resource: Record<string, unknown>; key: string; sha256: string }[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const text = await readFile(join(dir, file), 'utf8');
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      if (line.trim().length === 0) continue;
      let resource: Record<string, unknown>;
      try {
        resource = parseFhirJson(line) as Record<string, unknown>;
      } catch (cause) {
        throw new CliError(
          `${file} line ${i + 1}: not FHIR JSON (${cause instanceof Error ? cause.message : String(cause)})`,
        );
      }
      const type = resource.resourceType;
      const id = resource.id;
      if (typeof type !== 'string' || typeof id !== 'string') {
        throw new CliError(`${file} line ${i + 1}: a resource needs a resourceType and an id`);
      }
      const key = `${type}/${id}`;
      if (seen.has(key)) throw new CliError(`${file} line ${i + 1}: ${key} appears twice in the export`);
      seen.add(key);
      resources.push({ resource, key, sha256: sha256Hex(canonicalJson(resource as never)) });
    }
  }
  let manifestChecked = false;
  if (names.includes('manifest.json')) {
    let manifest: { extension?: Record<string, unknown> };
    try {
      manifest = parseFhirJson(await readFile(join(dir, 'manifest.json'))) as typeof manifest;
    } catch (cause) {
      throw new CliError(`${join(dir, 'manifest.json')} is not JSON`, { cause });
    }
    const hashes = manifest.extension?.[SHA256_EXTENSION];
    if (hashes !== undefined && hashes !== null && typeof hashes === 'object') {
      const expected = new Map(Object.entries(hashes as Record<string, unknown>));
      for (const r of resources) {
        const want = expected.get(r.key);
        if (want === undefined) throw new CliError(`${r.key} is not in the export manifest`);
        if (want !== r.sha256)
          throw new CliError(`${r.key} does not match its SHA-256 in the manifest: the file was altered`);
        expected.delete(r.key);
      }
      if (expected.size > 0) {
        throw new CliError(
          `${expected.size} resource(s) of the manifest are missing from the files, e.g. ${[...expected.keys()][0]}`,
        );
      }
      manifestChecked = true;
    }
  }
  return { resources, manifestChecked };
}

/**
 * `carekey import-export <dir>`: imports a FHIR Bulk Data export (from a Carekey gateway's `$export`, or any
 * server) as the caller's own records on this node — the same resources byte for byte (canonical JSON), hence the
 * same SHA-256: no custodian is re-stamped, references are kept. Validated in full before anything is sent;
 * re-running after an interruption imports only what is missing.
 */
export function registerImportExport(program: Command): void {
  program
    .command('import-export')
    .description('import a FHIR Bulk Data export (NDJSON files) as your records on this node, unchanged')
    .argument('<dir>', 'folder holding the <Type>.ndjson files (and manifest.json)')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }) => {
      const folder = resolve(dir);
      const { resources, manifestChecked } = await readExport(folder);
      const session = await openSession();
      const here = new Set(
        (await session.store.list(session.keys.identity))
          .filter((r) => r.state === 'active')
          .map((r) => r.sha256),
      );
      const missing = resources.filter((r) => !here.has(r.sha256));
      const recordIds: string[] = [];
      for (let start = 0; start < missing.length; start += CHUNK) {
        const chunk = missing.slice(start, start + CHUNK);
        progress(`validating ${chunk.length} resources`);
        const { records } = await splitIntoRecords({
          input: JSON.stringify({
            resourceType: 'Bundle',
            type: 'collection',
            entry: chunk.map((r) => ({ resource: r.resource })),
          }),
          definitions: { sources: nodeR4DefinitionSources },
        });
        const changed = records.filter((r, i) => r.sha256 !== chunk[i]?.sha256);
        if (changed.length > 0 || records.length !== chunk.length) {
          throw new CliError(
            `${changed.length || Math.abs(records.length - chunk.length)} resource(s) would change on import (e.g. ${changed[0] === undefined ? '?' : `${changed[0].resourceType}/${changed[0].id}`}); nothing was imported`,
          );
        }
        const published = await publishItems({
          session,
          patient: session.keys.address,
          items: itemsOfRecords(records),
          source: 'bulk export',
        });
        recordIds.push(...published.records.map((r) => r.recordId));
      }
      const result: ImportExportReturnType = {
        read: resources.length,
        imported: recordIds.length,
        alreadyHere: resources.length - missing.length,
        manifestChecked,
        recordIds,
      };
      output(options, result, () =>
        [
          `Imported ${result.imported} of ${result.read} resources from ${folder}${result.alreadyHere > 0 ? ` (${result.alreadyHere} already here)` : ''}.`,
          manifestChecked
            ? '  Every resource matched its SHA-256 in the export manifest.'
            : '  No manifest with hashes: checked for duplicates only.',
        ].join('\n'),
      );
    });
}
