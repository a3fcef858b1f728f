import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { ARTEFACTS_DIR, portalTest } from './support/portalTest.ts';

// The whole record lifecycle through the portal, in a real Chromium against a real node (anvil, PGlite, blobs):
// a patient creates a wallet, imports a Synthea patient, shares with a clinician (a second browser context), the
// clinician reads, the patient revokes, the clinician is refused, and the access log shows it all.

const SYNTHEA = join(import.meta.dirname, '../../../../shared/data/synthea/bundles');
const PASSPHRASE = 'a long and memorable sentence';

/** The smallest Synthea bundle (70 resources). */
function smallestBundle(): string {
  const files = readdirSync(SYNTHEA)
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(SYNTHEA, f));
  return files.sort((a, b) => statSync(a).size - statSync(b).size)[0] as string;
}

/** Creates a wallet through the UI: explanation, 24 words, three checked back, a passphrase. Returns the address. */
async function createWallet(page: Page, options: { verify: boolean }): Promise<string> {
  await page.getByRole('button', { name: 'Create a new wallet' }).click();
  await page.getByRole('button', { name: 'Show my recovery phrase' }).click();
  const words = await page
    .getByRole('list', { name: 'Recovery phrase' })
    .getByRole('listitem')
    .allTextContents();
  expect(words).toHaveLength(24);
  await page.getByLabel('I have written down all 24 words').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  if (options.verify) {
    for (const field of await page.getByLabel(/^Word #\d+$/u).all()) {
      const label = (await field.evaluate((el) => (el as HTMLInputElement).labels?.[0]?.textContent)) ?? '';
      const position = Number(/#(\d+)/u.exec(label)?.[1]);
      await field.fill(words[position - 1] as string);
    }
    await page.getByRole('button', { name: 'Check words' }).click();
  } else {
    await page.getByRole('button', { name: 'Skip for now' }).click();
  }
  await page.getByLabel('New passphrase').fill(PASSPHRASE);
  await page.getByLabel('Repeat passphrase').fill(PASSPHRASE);
  await page.getByRole('button', { name: 'Create wallet' }).click();
  const address = (await page.getByTestId('my-address').textContent({ timeout: 60_000 })) ?? '';
  expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/u);
  await page.getByText('Your encryption key is published').first().waitFor({ timeout: 60_000 });
  return address;
}

describe('portal walkthrough', () => {
  portalTest(
    'T-4 R-17: create, import Synthea, share, the clinician reads, revoke, the clinician is refused, the log shows it all',
    { timeout: 400_000 },
    async ({ patient, newUser }) => {
      // The clinician works on a phone-sized screen, in a second, separate browser context.
      const clinician = await newUser('clinician-phone', { device: 'phone' });
      const started = Date.now();
      let last = started;
      const timings: string[] = [];
      const step = (name: string) => {
        const now = Date.now();
        timings.push(`${name}: ${((now - last) / 1000).toFixed(1)} s`);
        last = now;
      };
      const p = patient.page;
      const c = clinician.page;
      p.setDefaultTimeout(60_000);
      c.setDefaultTimeout(60_000);

      // 1. Both create wallets (the clinician skips the backup check and is reminded).
      const patientAddress = await createWallet(p, { verify: true });
      await patient.screenshot('wallet-created');
      step('patient wallet');
      const doctor = await createWallet(c, { verify: false });
      await c.getByText('Your recovery phrase backup is not checked yet.').waitFor();
      await clinician.screenshot('wallet-created-backup-reminder');
      step('clinician wallet');

      // 2. The patient imports a Synthea patient.
      await p.getByRole('button', { name: 'Records' }).click();
      await p.getByLabel(/^Import a FHIR file/u).setInputFiles(smallestBundle());
      await p.getByText(/^Imported 70 records from /u).waitFor({ timeout: 180_000 });
      const articles = p
        .getByRole('list')
        .filter({ has: p.getByRole('article') })
        .getByRole('article');
      expect(await articles.count()).toBe(70);
      await p.getByLabel('Type').selectOption('Lab results');
      expect(await articles.count()).toBeGreaterThan(0);
      await patient.screenshot('records-imported');
      step('import 70 resources');
      await p.getByRole('button', { name: 'Lab results' }).click();
      await p.getByRole('heading', { name: 'Lab results' }).waitFor();
      await patient.screenshot('labs');

      // 3. The clinician asks for access; the patient sees the request and denies it.
      await c.getByRole('button', { name: 'Patients (clinician)' }).click();
      await c.getByLabel("Patient's address or DID").fill(patientAddress);
      await c.getByRole('button', { name: 'Request access' }).click();
      await c.getByText(/for treatment: (queued|pending)/u).waitFor({ timeout: 60_000 });
      await p.getByRole('button', { name: 'Sharing' }).click();
      const denyButton = p.getByRole('button', { name: /^Deny request from / });
      await expect
        .poll(
          async () => {
            await p.getByRole('button', { name: 'Refresh shares' }).click();
            await p.getByRole('button', { name: 'Refresh shares' }).waitFor();
            return denyButton.count();
          },
          { timeout: 90_000, interval: 2_000 },
        )
        .toBe(1);
      await patient.screenshot('access-request');
      await denyButton.click();
      await p.getByText('Request denied.').waitFor({ timeout: 60_000 });
      step('access request denied');

      // 4. The patient shares everything for 24 h with the clinician, seeing the sentence first.
      await p.getByRole('button', { name: 'Sharing' }).click();
      await p.getByRole('button', { name: 'Everything for 24 h' }).click();
      await p.getByLabel("Doctor's address or DID").fill(doctor);
      await expect
        .poll(() => p.getByTestId('share-summary').textContent())
        .toContain(`${doctor} will be able to open every record you have (70 records)`);
      await patient.screenshot('share-summary');
      await p.getByRole('button', { name: 'Share', exact: true }).click();
      await p.getByText(/^Shared 70 records with /u).waitFor({ timeout: 120_000 });
      const revokeButton = p.getByRole('button', { name: /^Revoke access for / });
      await revokeButton.waitFor({ timeout: 60_000 });
      await patient.screenshot('shared');
      step('share');

      // 5. The clinician finds the patient and reads the records, decrypted in the browser.
      await c.getByRole('button', { name: 'Find patients who shared with me' }).click();
      const open = c.getByRole('button', { name: /^Open records of / });
      await open.waitFor();
      await open.click();
      await c.getByRole('heading', { name: /^Summary of patient / }).waitFor({ timeout: 120_000 });
      await c.getByRole('heading', { name: 'All shared records' }).waitFor();
      const all = c.getByRole('region', { name: 'All shared records' });
      await all.getByText('70 records', { exact: true }).waitFor();
      expect(await all.getByRole('article').count()).toBe(70);
      // A full-page shot of 70 records at 3x on a phone is too large: the visible screen is kept instead.
      await all.getByRole('heading', { name: 'All shared records' }).scrollIntoViewIfNeeded();
      await c.screenshot({
        path: join(ARTEFACTS_DIR, 'walkthrough--clinician-phone--reads-70-records.png'),
      });
      step('clinician reads');

      // 6. The patient revokes, with honest words first.
      await revokeButton.click();
      await p
        .getByRole('dialog')
        .getByText(/may remain with them/u)
        .waitFor();
      await p.getByRole('button', { name: 'Revoke now' }).click();
      await p.getByText(/^Revoked at /u).waitFor({ timeout: 60_000 });
      await patient.screenshot('revoked');

      // 7. The clinician tries again and is refused in plain words.
      await open.click();
      await c
        .getByRole('alert')
        .getByText(/^Access refused/u)
        .waitFor({ timeout: 60_000 });
      await clinician.screenshot('clinician-refused');

      // 8. The access log shows the clinician's read and the refusal.
      await p.getByRole('button', { name: 'Access log' }).click();
      await p.getByRole('button', { name: 'Refresh the log' }).click();
      const log = p.getByRole('table');
      await expect
        .poll(() => log.getByRole('row').filter({ hasText: 'was refused' }).count(), { timeout: 30_000 })
        .toBeGreaterThan(0);
      expect(await log.getByRole('row').filter({ hasText: 'opened' }).count()).toBeGreaterThan(0);
      // Who the clinician verifiably is, as the node says (this one presented no credential).
      await log.getByText('Unverified: no credential presented').first().waitFor();
      await patient.screenshot('access-log');
      step('revoke, refusal, access log');
      console.log(
        `walkthrough: ${timings.join('; ')}; total ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );

      // Expected answers only: a DID looked up before its key is published (404), the refused read (403), the
      // credential of someone who presented none (404).
      const unexpected = (errors: string[]) =>
        errors.filter(
          (e) =>
            !/\/v1\/did\/0x[0-9a-fA-F]{40}\b/u.test(e) &&
            !/\/v1\/credentials\/0x[0-9a-fA-F]{40}\b/u.test(e) &&
            !/\b403\b.*\/v1\/keys\/release|\/v1\/keys\/release.*\b403\b/u.test(e),
        );
      expect(unexpected(patient.errors)).toEqual([]);
      expect(unexpected(clinician.errors)).toEqual([]);
    },
  );
});
