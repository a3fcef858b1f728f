import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { carekeyHome } from '../home/carekeyHome.ts';
import { RecordStore } from '../home/recordStore.ts';
import { readWalletPublic, unlockWallet } from '../home/walletStore.ts';
import { CliError } from '../io/CliError.ts';
import { output } from '../io/output.ts';
import { progress } from '../io/progress.ts';
import { readSecret } from '../io/readSecret.ts';

/**
 * `carekey export <dir>`: every record as a standalone age file plus the identity file, so the records open with the
 * `age` CLI alone (`age -d -i identity.txt records/<file>.json.age`), with no Carekey and no node (R-15, EHDS Art. 3).
 */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write every record as a standalone age file, with the identity file that opens them')
    .argument('<dir>', 'a new or empty folder')
    .option('--json', 'print JSON')
    .action(async (dir: string, options: { json?: boolean }) => {
      const home = carekeyHome();
      const facts = await readWalletPublic(home);
      const target = resolve(dir);
      let entries: string[] = [];
      try {
        entries = await readdir(target);
      } catch {}
      if (entries.length > 0) {
        throw new CliError(`${target} is not empty`, { hint: 'export into a new or empty folder' });
      }
      const passphrase = await readSecret({ prompt: 'Passphrase: ', envVar: 'CAREKEY_PASSPHRASE' });
      const keys = await unlockWallet(home, passphrase);
      const store = new RecordStore(home, keys.recipient);
      const records = (await store.list(keys.identity)).filter((r) => r.state !== 'shredded');
      await mkdir(join(target, 'records'), { recursive: true, mode: 0o700 });
      const index: Record<string, unknown>[] = [];
      let n = 0;
      for (const record of records) {
        if (!(await store.hasFile(record.recordId))) continue;
        n++;
        const file = `records/${String(n).padStart(5, '0')}-${record.resourceType}-${record.recordId.slice(2, 10)}.json.age`;
        await store.copyTo(record.recordId, join(target, file));
        index.push({
          file,
          recordId: record.recordId,
          resourceType: record.resourceType,
          fhirId: record.fhirId,
          category: record.category,
          clinicalDate: record.clinicalDate ?? null,
          sha256: record.sha256,
          patient: record.patient,
          publisher: record.publisher,
        });
        if (n % 200 === 0) progress(`  exported ${n}/${records.length}`);
      }
      const identityFile = join(target, 'identity.txt');
      await writeFile(
        identityFile,
        [
          '# Carekey export: the secret key that opens every file in records/.',
          '# Anyone holding this file can read these records. Keep it safe, or delete it once imported elsewhere.',
          `# public key: ${keys.recipient}`,
          '# decrypt one record: age -d -i identity.txt records/<file>.json.age',
          keys.identity.toString(),
          '',
        ].join('\n'),
        { mode: 0o600, flag: 'wx' },
      );
      await writeFile(
        join(target, 'index.json'),
        `${JSON.stringify({ kind: 'carekey-export', version: 1, address: facts.address, recipient: keys.recipient, exportedAt: new Date().toISOString(), records: index }, null, 2)}\n`,
        { mode: 0o600, flag: 'wx' },
      );
      output(options, { dir: target, records: index.length, identityFile }, () =>
        [
          `Exported ${index.length} records to ${target}`,
          `  identity  ${identityFile} (secret: anyone with it can read the records)`,
          `  open one  age -d -i ${identityFile} ${join(target, String(index[0]?.file ?? 'records/<file>.json.age'))}`,
        ].join('\n'),
      );
    });
}
