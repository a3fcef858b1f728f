import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { encrypt, X25519Recipient } from '../../sdk/src/crypto/index.ts';
import { ARTEFACTS_DIR, portalTest } from './support/portalTest.ts';
import { restoreWallet, TEST_PASSPHRASE } from './support/restoreWallet.ts';
import { type PlainResource, rekeyedSyntheaResources } from './support/syntheaPatient.ts';

// Issue 6, Performance: "first load under 300 KB of JavaScript gzipped; the timeline of a patient with 5,000
// resources renders in under 1 s in the Playwright run, reported beside a near-empty patient".
//
// The 5,000 resources are real Synthea patients (validated and split by the SDK as an import does) re-keyed to one
// person. Publishing 5,000 records through the node takes minutes, and what is timed here is the portal, so they
// reach the page the way a returning user's records do: the record cache in IndexedDB, encrypted to the wallet's
// own X25519 key (src/lib/records.ts). Unlocking decrypts it, builds the timeline and shows it; the sync with the
// node then keeps the cached records (the node has none of them, and forgets nothing it never had).

const BUDGET_JS_GZIP = 300 * 1000;
const BUDGET_TIMELINE_MS = 1000;
const NEAR_EMPTY = 10;
const LARGE = 5000;
const RUNS = 3;

type Figures = { records: number; unlockToShownMs: number; timelineMs: number[]; articles: number };

/** The portal's record cache for these resources, sealed to the wallet's X25519 recipient, base64. */
async function sealedCache(recipient: string, resources: readonly PlainResource[]): Promise<string> {
  const addedAt = new Date(Date.now() - 86_400_000).toISOString();
  const records = resources.map((resource, i) => ({
    recordId: `0x${(i + 1).toString(16).padStart(64, '0')}`,
    blobId: `bafkreiperf${i}`,
    publisher: '0x0000000000000000000000000000000000000001',
    state: 'active',
    categoryTag: `0x${'00'.repeat(32)}`,
    resource,
    addedAt,
  }));
  const ciphertext = await encrypt({
    recipients: [new X25519Recipient(recipient)],
    plaintext: new TextEncoder().encode(JSON.stringify(records)),
  });
  return Buffer.from(ciphertext).toString('base64');
}

/** Writes the sealed cache where the portal keeps it (IndexedDB `carekey-portal`, store `kv`). */
async function putCache(page: Page, address: string, base64: string): Promise<void> {
  await page.evaluate(
    async ({ key, data }) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open('carekey-portal', 1);
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      await new Promise<void>((resolve, reject) => {
        const tx = db.transaction('kv', 'readwrite');
        tx.objectStore('kv').put(bytes, key);
        tx.oncomplete = () => resolve();
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    },
    { key: `records:${address.toLowerCase()}`, data: base64 },
  );
}

/** Locks, unlocks, waits for the portal's `carekey:records-shown` mark; ms from the keys in memory to it. */
async function unlockAndTime(page: Page, records: number): Promise<number> {
  await page.evaluate(() => performance.clearMarks());
  await page.getByRole('button', { name: 'Lock' }).click();
  await page.getByLabel('Passphrase').fill(TEST_PASSPHRASE);
  await page.getByRole('button', { name: 'Unlock' }).click();
  return page.evaluate(
    (expected) =>
      new Promise<number>((resolve, reject) => {
        const deadline = Date.now() + 120_000;
        const poll = () => {
          const shown = performance
            .getEntriesByName('carekey:records-shown')
            .find((m) => (m as PerformanceMark).detail?.records === expected);
          const unlocked = performance.getEntriesByName('carekey:unlocked')[0];
          if (shown !== undefined && unlocked !== undefined) {
            // The next frame: what was committed is painted.
            requestAnimationFrame(() => resolve(shown.startTime - unlocked.startTime));
          } else if (Date.now() > deadline) reject(new Error(`no records-shown mark for ${expected}`));
          else setTimeout(poll, 20);
        };
        poll();
      }),
    records,
  );
}

/** Opens the Records tab and times it, with marks, from the click to the next painted frame. */
async function timeTimeline(page: Page): Promise<number> {
  await page.getByRole('button', { name: 'Home' }).click();
  await page.getByRole('heading', { name: /^What's new/u }).waitFor();
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        const tab = [...document.querySelectorAll('nav button')].find((b) => b.textContent === 'Records');
        performance.mark('test:records-click');
        (tab as HTMLButtonElement).click();
        // A frame callback runs before the paint, a task queued from it runs after it.
        requestAnimationFrame(() =>
          setTimeout(() => {
            performance.mark('test:records-painted');
            const list = document.querySelectorAll('ol.timeline article').length;
            if (list === 0) throw new Error('the timeline is not on screen');
            resolve(
              performance.measure('test:records', 'test:records-click', 'test:records-painted').duration,
            );
          }),
        );
      }),
  );
}

const median = (values: readonly number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

describe('portal performance', () => {
  portalTest(
    'first-load JavaScript within 300 KB gzipped; the 5,000-resource timeline renders in under 1 s beside a near-empty patient',
    { timeout: 300_000 },
    async ({ patient }) => {
      const p = patient.page;
      p.setDefaultTimeout(60_000);
      const started = Date.now();
      // Splitting the Synthea bundles (the FHIR validator) is the slowest step: it runs while the browser works.
      const building = rekeyedSyntheaResources(LARGE);
      building.catch(() => {});

      // 1. First load: every script the page fetched before anyone unlocked, each gzipped as a server would send it.
      const scripts = new Map<string, Promise<Buffer>>();
      p.on('response', (response) => {
        if (response.request().resourceType() === 'script') scripts.set(response.url(), response.body());
      });
      await p.reload({ waitUntil: 'networkidle' });
      await p.getByRole('button', { name: 'Create a new wallet' }).waitFor();
      let jsBytes = 0;
      let jsGzip = 0;
      for (const body of scripts.values()) {
        const bytes = await body;
        jsBytes += bytes.length;
        jsGzip += gzipSync(bytes).length;
      }
      expect(scripts.size).toBeGreaterThan(0);

      // 2. A wallet restored from a phrase known here, so its cache can be sealed to it.
      const keys = await restoreWallet(p);

      const resources = await building;
      const figures: Figures[] = [];
      for (const count of [NEAR_EMPTY, LARGE]) {
        await putCache(p, keys.address, await sealedCache(keys.recipient, resources.slice(0, count)));
        const unlockToShownMs = await unlockAndTime(p, count);
        const timelineMs: number[] = [];
        for (let run = 0; run < RUNS; run++) timelineMs.push(await timeTimeline(p));
        await p.getByText(`${count} records`, { exact: false }).first().waitFor();
        const articles = await p.locator('ol.timeline article').count();
        await patient.screenshot(`timeline-${count}`);
        figures.push({ records: count, unlockToShownMs, timelineMs, articles });
      }
      const [small, large] = figures as [Figures, Figures];
      const load = os.loadavg()[0] ?? 0;
      const report = {
        firstLoadJsBytes: jsBytes,
        firstLoadJsGzipBytes: jsGzip,
        firstLoadScripts: scripts.size,
        budgetJsGzipBytes: BUDGET_JS_GZIP,
        timeline: figures.map((f) => ({ ...f, timelineMedianMs: +median(f.timelineMs).toFixed(1) })),
        timelineRatio: +(median(large.timelineMs) / median(small.timelineMs)).toFixed(2),
        unlockToShownRatio: +(large.unlockToShownMs / small.unlockToShownMs).toFixed(2),
        loadAverage: +load.toFixed(2),
        cores: os.cpus().length,
      };
      writeFileSync(join(ARTEFACTS_DIR, 'performance.json'), `${JSON.stringify(report, null, 2)}\n`);
      console.log(
        [
          `first load: ${scripts.size} scripts (${[...scripts.keys()].map((u) => new URL(u).pathname.split('/').pop()).join(', ')}), ${jsBytes} B, ${jsGzip} B gzipped (budget ${BUDGET_JS_GZIP})`,
          ...figures.map(
            (f) =>
              `${f.records} resources: Records tab → painted ${f.timelineMs.map((ms) => ms.toFixed(0)).join(' / ')} ms (median ${median(f.timelineMs).toFixed(0)}), ${f.articles} cards on screen; unlock → records shown ${f.unlockToShownMs.toFixed(0)} ms`,
          ),
          `test wall time ${((Date.now() - started) / 1000).toFixed(1)} s`,
          `5,000 ÷ near-empty: timeline ${report.timelineRatio}×, unlock → shown ${report.unlockToShownRatio}× (load average ${load.toFixed(1)} on ${report.cores} cores)`,
        ].join('\n'),
      );
      expect(jsGzip).toBeLessThanOrEqual(BUDGET_JS_GZIP);
      expect(median(large.timelineMs)).toBeLessThan(BUDGET_TIMELINE_MS);
      expect(large.articles).toBeGreaterThan(0);
      expect(patient.errors.filter((e) => !/\/v1\/did\/0x[0-9a-fA-F]{40}\b/u.test(e))).toEqual([]);
    },
  );
});
