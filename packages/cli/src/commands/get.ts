import { stat, writeFile } from 'node:fs/promises';
import { assembleHeader, decodeStanza, decrypt, unwrapFileKey } from '@carekey/sdk/crypto';
import { decryptFile } from '@carekey/sdk/crypto/node';
import { fileRecordCategory } from '@carekey/sdk/fhir';
import type { Command } from 'commander';
import type { Hex } from 'viem';
import { CliError } from '../io/CliError.ts';
import { inertJson, output } from '../io/output.ts';
import { findGrantFor } from './grantsOf.ts';
import { openSession, type Session } from './openSession.ts';
import { parseRecordId, resolveRecordRef } from './resolveRecordRef.ts';

/** Reads a record the patient holds: its local age file, decrypted with the wallet (no node needed). */
async function readOwn(session: Session, recordId: Hex): Promise<Uint8Array> {
  return decrypt({ identities: [session.keys.identity], ciphertext: await session.store.readFile(recordId) });
}

/**
 * Reads a record shared with me (docs/protocol.md flow 3): signed key request under the grant that covers it, fetch
 * the payload, check its hash (the client does), reassemble an age file from the stanza and payload, decrypt locally.
 */
export async function readShared(session: Session, recordId: Hex, grantId?: Hex): Promise<Uint8Array> {
  const grant = grantId ?? (await findGrantFor(session, recordId));
  const released = await session.node.releaseKeys({ grantId: grant, recordIds: [recordId] });
  const record = released.records.find((r) => r.recordId.toLowerCase() === recordId);
  if (record === undefined) throw new CliError(`the node released no key for record ${recordId}`);
  const stanza = decodeStanza(record.stanza);
  const fileKey = await unwrapFileKey({ stanzas: [stanza], identities: [session.keys.identity] });
  const payload = await session.node.getBlob(record.blobId);
  const header = assembleHeader({ fileKey, stanzas: [stanza] });
  fileKey.fill(0);
  const file = new Uint8Array(header.length + payload.length);
  file.set(header, 0);
  file.set(payload, header.length);
  return decrypt({ identities: [session.keys.identity], ciphertext: file });
}

const FILE_KINDS: Record<string, string> = {
  'Binary|application/dicom': 'a DICOM file',
  'Binary|application/pdf': 'a PDF file',
};

/**
 * What `carekey get` prints for a record on stdout: a FHIR record pretty-printed (2-space JSON, every terminal
 * control a record could carry escaped: T-22, `inertJson`). A file record (DICOM, PDF, other bytes) is refused with
 * the hint to write it with `-o`, as its bytes would be garbage on a terminal (and could drive it).
 * @throws CliError for a file record, or a record that is not JSON.
 */
export function recordText(recordId: Hex, plaintext: Uint8Array): string {
  const first = plaintext.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first !== 0x7b /* '{' */) {
    const kind = FILE_KINDS[fileRecordCategory(plaintext)] ?? 'a file';
    throw new CliError(
      `record ${recordId} is ${kind} (${plaintext.length} bytes), not shown on the terminal`,
      { hint: `write it to a file: carekey get ${recordId} -o <file> (or -o - to send the bytes to stdout)` },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext));
  } catch (cause) {
    throw new CliError(`record ${recordId} does not hold valid JSON`, {
      cause,
      hint: `write its bytes to a file to inspect them: carekey get ${recordId} -o <file>`,
    });
  }
  return `${inertJson(value, 2)}\n`;
}

/** `carekey get <record> [-o file]`: decrypts one record, mine or shared with me. */
export function registerGet(program: Command): void {
  program
    .command('get')
    .description('decrypt one record (yours, or one shared with you) to stdout or a file')
    .argument('<record>', 'record id as `carekey ls` shows it')
    .option(
      '-o, --output <file>',
      'write the record as it is (FHIR JSON, or a file: DICOM, PDF) to this file, or to stdout with `-`',
    )
    .option(
      '--grant <grantId>',
      'as a grantee: the grant to read under (default: the one that covers the record)',
    )
    .option('--json', 'print JSON (the resource inside a small envelope)')
    .action(async (ref: string, options: { output?: string; grant?: string; json?: boolean }) => {
      const session = await openSession();
      const mine = await session.store.list(session.keys.identity);
      let recordId: Hex;
      let plaintext: Uint8Array;
      const local = /^(0x)?[0-9a-fA-F]{8,64}$/u.test(ref.trim())
        ? mine.filter((r) => r.recordId.slice(2).startsWith(ref.trim().toLowerCase().replace(/^0x/u, '')))
        : [];
      if (local.length > 0 || (options.grant === undefined && !/^0x[0-9a-fA-F]{64}$/u.test(ref.trim()))) {
        const record = resolveRecordRef(ref, mine);
        if (record.state === 'shredded')
          throw new CliError(`record ${record.recordId} was forgotten (shredded)`);
        // A pending forget denies everyone, the owner too (two-phase erasure, THREAT-MODEL §6.5, as the vault does):
        // the wallet folder keeps the key only so that a cancel gives the record back.
        if (record.state === 'pending_shred')
          throw new CliError(
            `record ${record.recordId} is being forgotten: nobody can open it, you neither`,
            {
              hint: `\`carekey forget ${record.recordId} --cancel\` gives it back before the window ends; after it, its keys are destroyed`,
            },
          );
        recordId = record.recordId;
        if (options.output !== undefined && options.output !== '-') {
          // A file record (a DICOM study, a PDF) can be large: decrypt its loose age file to the output streamed; a
          // packed copy (a FHIR record) is small.
          const loose = await session.store.looseFile(recordId);
          if (loose === undefined) {
            await writeFile(options.output, await readOwn(session, recordId), { mode: 0o600 });
          } else {
            await decryptFile({ input: loose, output: options.output, identities: [session.keys.identity] });
          }
          const { size } = await stat(options.output);
          output(options, { recordId, output: options.output, bytes: size }, () => `wrote ${options.output}`);
          return;
        }
        plaintext = await readOwn(session, recordId);
      } else {
        recordId = parseRecordId(ref);
        plaintext = await readShared(
          session,
          recordId,
          options.grant === undefined ? undefined : parseRecordId(options.grant),
        );
      }
      if (options.output === '-') {
        process.stdout.write(plaintext); // asked for: the bytes as they are (to a pipe)
      } else if (options.output !== undefined) {
        await writeFile(options.output, plaintext, { mode: 0o600 });
        output(
          options,
          { recordId, output: options.output, bytes: plaintext.length },
          () => `wrote ${options.output}`,
        );
      } else {
        const text = recordText(recordId, plaintext); // refuses a file record: it belongs in a file (-o)
        if (options.json) {
          output(options, { recordId, resource: JSON.parse(text) as unknown }, () => '');
        } else {
          process.stdout.write(text);
        }
      }
    });
}
