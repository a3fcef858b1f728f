import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GatewayAccessEntry } from '../fhir/accessLogToAuditEvent.ts';

/** Most entries kept in memory (and served as AuditEvent); the file keeps everything. */
const KEPT = 10_000;

/**
 * The gateway's own access log: one JSON line per answered request (who, which interaction, method and path,
 * status, why refused) in `CAREKEY_HOME/gateway/access.log` (mode 0600). Query strings are not logged: search
 * values can identify a patient. Served as AuditEvent (`GET /AuditEvent`).
 */
export class GatewayAccessLog {
  readonly file: string;
  #entries: GatewayAccessEntry[] = [];
  #next = 1;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  /** Reads the existing log (the last {@link KEPT} entries). */
  async load(): Promise<void> {
    let text = '';
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return;
    }
    const lines = text.split('\n').filter((l) => l.length > 0);
    for (const line of lines.slice(-KEPT)) {
      try {
        this.#entries.push(JSON.parse(line) as GatewayAccessEntry);
      } catch {
        // a torn last line after a crash: skipped
      }
    }
    this.#next = lines.length + 1;
  }

  /** Appends an entry (in memory at once, on disk in order). */
  append(entry: Omit<GatewayAccessEntry, 'id' | 'at'>): GatewayAccessEntry {
    const full: GatewayAccessEntry = { id: String(this.#next++), at: new Date().toISOString(), ...entry };
    this.#entries.push(full);
    if (this.#entries.length > KEPT) this.#entries.shift();
    this.#writing = this.#writing
      .then(async () => {
        await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
        await appendFile(this.file, `${JSON.stringify(full)}\n`, { mode: 0o600 });
      })
      .catch((error: unknown) => {
        process.stderr.write(`carekey gateway: cannot write the access log: ${String(error)}\n`);
      });
    return full;
  }

  entries(): readonly GatewayAccessEntry[] {
    return this.#entries;
  }

  /** Waits for pending writes. */
  flush(): Promise<void> {
    return this.#writing;
  }
}
