import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  canonicalJson,
  type FhirRecord,
  FILE_ATTACHMENT_EXTENSION,
  fileRecordCategory,
  parseFhirJson,
  recordIdOfAttachment,
  sha256Hex,
  splitIntoRecords,
} from '@carekey/sdk/fhir';
import { encryptFileToPayload, nodeR4DefinitionSources } from '@carekey/sdk/fhir/node';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { SHA256_EXTENSION } from '../gateway/bulk/BulkExportJobs.ts';
import { type ExportedBinary, readBinaryNdjson } from '../gateway/bulk/binaryNdjson.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { openSession } from './openSession.ts';
import { itemsOfRecords, type PublishItem, publishItems } from './publishFhir.ts';

/** Most resources validated and published as one unit (the validator's Bundle limit). */
const CHUNK = 10_000;

export type ImportExportReturnType = {
  /** Resources read from the NDJSON files (files included). */
  read: number;
  /** Records published on this node. */
  imported: number;
  /** File records (DICOM, PDF: `Binary` lines) among them, each with the record id it had. */
  files: number;
  /** File records a DocumentReference / ImagingStudy of the export points to but the export does not hold. */
  missingFiles: string[];
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
async function readExport(dir: string, workDir: string) {
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
  const resources: { resource: Record<string, unknown>; key: string; sha256: string; where: string }[] = [];
  const seen = new Set<string>();
  let binaries: ExportedBinary[] = [];
  for (const file of files) {
    let lines: { line: number; text: string }[];
    if (file === 'Binary.ndjson') {
      // Files (DICOM, PDF) stream into the work folder; other Binary lines come back as JSON text.
      const read = await readBinaryNdjson({ input: join(dir, file), dir: workDir });
      binaries = read.files;
      for (const b of binaries) {
        const key = `Binary/${b.id}`;
        if (seen.has(key)) throw new CliError(`${file} line ${b.line}: ${key} appears twice in the export`);
        seen.add(key);
      }
      lines = read.json;
    } else {
      lines = (await readFile(join(dir, file), 'utf8')).split('\n').map((text, i) => ({ line: i + 1, text }));
    }
    for (const { line: number, text: line } of lines) {
      const i = number - 1;
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
      resources.push({
        resource,
        key,
        sha256: sha256Hex(canonicalJson(resource as never)),
        where: `${file} line ${number}`,
      });
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
      for (const r of [...resources, ...binaries.map((b) => ({ key: `Binary/${b.id}`, sha256: b.sha256 }))]) {
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
  return { resources, binaries, manifestChecked };
}

/** Record ids (lower-case) of the files a DocumentReference / ImagingStudy points to, with the attachment. */
function fileAttachmentsOf(resource: Record<string, unknown>) {
  const attachments: unknown[] = [];
  if (resource.resourceType === 'DocumentReference') {
    for (const c of (resource.content as { attachment?: unknown }[] | undefined) ?? [])
      attachments.push(c.attachment);
  }
  for (const e of (resource.extension as { url?: string; valueAttachment?: unknown }[] | undefined) ?? []) {
    if (e.url === FILE_ATTACHMENT_EXTENSION) attachments.push(e.valueAttachment);
  }
  return attachments.flatMap((a) => {
    const attachment = (a ?? {}) as { url?: string; size?: number; hash?: string; contentType?: string };
    const id = recordIdOfAttachment(attachment.url);
    return id === undefined ? [] : [{ recordId: id.toLowerCase(), attachment }];
  });
}

/** A file of the export, checked against its describing resource. */
type CheckedFile = { binary: ExportedBinary; record: FhirRecord; category: string };

/**
 * Checks the export's files: each `Binary` must be the file of a describing resource of the export (same size,
 * SHA-1 and content type as its attachment, and bytes of that type). Returns them with their describing record, and
 * the record ids of files a describing resource points to that the export does not hold.
 */
async function checkFiles(
  binaries: readonly ExportedBinary[],
  records: readonly FhirRecord[],
): Promise<{ files: CheckedFile[]; missing: string[] }> {
  const describedBy = new Map<
    string,
    { record: FhirRecord; attachment: ReturnType<typeof fileAttachmentsOf>[number]['attachment'] }
  >();
  for (const record of records) {
    for (const { recordId, attachment } of fileAttachmentsOf(record.resource as never)) {
      describedBy.set(recordId, { record, attachment });
    }
  }
  const files: CheckedFile[] = [];
  for (const b of binaries) {
    const recordId = `0x${b.id}`;
    const where = `Binary.ndjson line ${b.line} (Binary/${b.id})`;
    const described = describedBy.get(recordId);
    if (described === undefined) {
      throw new CliError(`${where} is the file of no DocumentReference or ImagingStudy in the export`, {
        hint: `a file's describing resource points to it as urn:carekey:record:${recordId}; export both`,
      });
    }
    const { attachment, record } = described;
    const head = Buffer.alloc(1024);
    const handle = await open(b.file, 'r');
    const { bytesRead } = await handle.read(head, 0, head.length, 0).finally(() => handle.close());
    const category = fileRecordCategory(head.subarray(0, bytesRead));
    const problem =
      category !== `Binary|${b.contentType}`
        ? `its bytes are ${category.slice(7)}, not ${b.contentType}`
        : attachment.contentType !== undefined && attachment.contentType !== b.contentType
          ? `${record.resourceType}/${record.id} says ${attachment.contentType}, the Binary ${b.contentType}`
          : attachment.size !== undefined && attachment.size !== b.size
            ? `${b.size} bytes, but ${record.resourceType}/${record.id} says ${attachment.size}`
            : attachment.hash !== undefined && attachment.hash !== b.sha1Base64
              ? `its SHA-1 is not the one ${record.resourceType}/${record.id} gives`
              : undefined;
    if (problem !== undefined) throw new CliError(`${where}: ${problem}; nothing was imported`);
    files.push({ binary: b, record, category });
  }
  const held = new Set(binaries.map((b) => `0x${b.id}`));
  return { files, missing: [...describedBy.keys()].filter((id) => !held.has(id)).sort() };
}

/** A file's publish item: encrypted to a payload file in one streamed pass, under the record id it had. */
async function fileItem(file: CheckedFile, workDir: string): Promise<PublishItem> {
  const payloadFile = join(workDir, `${file.binary.id}.payload`);
  const encrypted = await encryptFileToPayload({ input: file.binary.file, output: payloadFile });
  return {
    recordId: `0x${file.binary.id}` as Hex,
    resourceType: 'Binary',
    fhirId: file.record.id,
    category: file.category,
    clinicalDate: file.record.clinicalDate,
    sha256: encrypted.sha256,
    payloadFile,
    payloadSha256: encrypted.payloadSha256,
    payloadSize: encrypted.payloadSize,
    fileKey: encrypted.fileKey,
  };
}

export type ReadImportExportReturnType = {
  /** The FHIR resources, validated, each with the hash it had in the export. */
  records: FhirRecord[];
  /** The files, checked against their describing resources (decoded in the work folder). */
  files: CheckedFile[];
  /** Record ids of files described in the export but not in it. */
  missingFiles: string[];
  manifestChecked: boolean;
};

/**
 * Everything `carekey import-export` checks before it opens the wallet or sends a byte: every NDJSON line parsed
 * (T-19 safe parser; files streamed into `workDir`), duplicates, the manifest's hashes, every resource validated as
 * R4 — `chunk` at a time, all of them before anything is published — and unchanged by validation, every file
 * checked against its describing resource. Any fault throws a `CliError` naming the file, line or resource.
 */
export async function readImportExport(parameters: {
  folder: string;
  workDir: string;
  /** Resources validated as one Bundle (default 10,000, the validator's Bundle limit). */
  chunk?: number;
}): Promise<ReadImportExportReturnType> {
  const size = parameters.chunk ?? CHUNK;
  const { resources, binaries, manifestChecked } = await readExport(parameters.folder, parameters.workDir);
  const records: FhirRecord[] = [];
  for (let start = 0; start < resources.length; start += size) {
    const chunk = resources.slice(start, start + size);
    progress(`validating ${chunk.length} resources`);
    const split = await splitIntoRecords({
      input: JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: chunk.map((r) => ({ resource: r.resource })),
      }),
      definitions: { sources: nodeR4DefinitionSources },
    }).catch((error: unknown) => {
      // The Bundle is ours: name the export's file and line, and the FHIRPath within the resource.
      const at = /Bundle\.entry\[(\d+)\]/u.exec(error instanceof Error ? error.message : '');
      const resource = at === null ? undefined : chunk[Number(at[1])];
      if (resource === undefined || !(error instanceof Error)) throw error;
      const type = String(resource.resource.resourceType);
      const message = error.message
        .replace(/ \(entry \d+\)| in entry \d+(?= at )/gu, '')
        .replace(/Bundle\.entry\[\d+\]\.resource(?=[.\s]|$)/gu, type);
      throw new CliError(`${resource.where}: ${message}; nothing was imported`, { cause: error });
    });
    const changed = split.records.filter((r, i) => r.sha256 !== chunk[i]?.sha256);
    if (changed.length > 0 || split.records.length !== chunk.length) {
      throw new CliError(
        `${changed.length || Math.abs(split.records.length - chunk.length)} resource(s) would change on import (e.g. ${changed[0] === undefined ? '?' : `${changed[0].resourceType}/${changed[0].id}`}); nothing was imported`,
      );
    }
    records.push(...split.records);
  }
  const { files, missing } = await checkFiles(binaries, records);
  return { records, files, missingFiles: missing, manifestChecked };
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
      const workDir = await mkdtemp(join(tmpdir(), 'carekey-import-export-'));
      try {
        const result = await importExport(folder, workDir);
        output(options, result, () =>
          [
            `Imported ${result.imported} of ${result.read} resources from ${folder}${result.alreadyHere > 0 ? ` (${result.alreadyHere} already here)` : ''}${result.files > 0 ? `, ${result.files} of them files` : ''}.`,
            result.manifestChecked
              ? '  Every resource matched its SHA-256 in the export manifest.'
              : '  No manifest with hashes: checked for duplicates only.',
            ...(result.missingFiles.length > 0
              ? [
                  `  ${result.missingFiles.length} file(s) described in the export are not in it (exported without Binary?).`,
                ]
              : []),
          ].join('\n'),
        );
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    });
}

async function importExport(folder: string, workDir: string): Promise<ImportExportReturnType> {
  // Checked in full before the wallet is opened: a fault anywhere imports nothing.
  const read = await readImportExport({ folder, workDir });
  const session = await openSession();
  const here = new Set(
    (await session.store.list(session.keys.identity))
      .filter((r) => r.state === 'active')
      .map((r) => r.sha256),
  );
  const files: PublishItem[] = [];
  for (const f of read.files) if (!here.has(f.binary.sha256)) files.push(await fileItem(f, workDir));
  const items = [...itemsOfRecords(read.records.filter((r) => !here.has(r.sha256))), ...files];
  const published =
    items.length === 0
      ? { records: [] }
      : await publishItems({ session, patient: session.keys.address, items, source: 'bulk export' });
  const total = read.records.length + read.files.length;
  return {
    read: total,
    imported: published.records.length,
    files: files.length,
    missingFiles: read.missingFiles,
    alreadyHere: total - items.length,
    manifestChecked: read.manifestChecked,
    recordIds: published.records.map((r) => r.recordId),
  };
}
