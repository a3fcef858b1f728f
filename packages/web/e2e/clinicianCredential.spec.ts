import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, inject } from 'vitest';
import { keptInBrowser } from './support/keptInBrowser.ts';
import { portalTest } from './support/portalTest.ts';
import { restoreWallet, TEST_PASSPHRASE } from './support/restoreWallet.ts';

// The clinician side of issue 6 (docs/identity.md, docs/emergency.md): a clinician credentialed by a licensing board
// the node trusts (globalSetup: TrustedIssuers governance, `support/licensingBoard.ts`) loads their SD-JWT credential
// in the browser, is refused with a revoked one, presents the valid one revealing three of its four claims (key-bound
// to their DID, for the node's nonce); the patient sees who they verifiably are on the access request and the share.
// Then break-glass: refused without a credential, with the revoked one and while the patient's policy is off, in plain
// words; allowed once the patient keeps a summary — the summary opens in the clinician's browser, the patient is told
// at once, and the access log shows the emergency (and each refusal, in words) and the verified clinician.

const IPS_MINIMAL = join(
  import.meta.dirname,
  '../../../../shared/data/ips/Bundle-IPS-examples-Bundle-minimal.json',
);
const SEEN_AS = 'licensed physician, emergency medicine, Hospital X — verified by Medical Board Y';

async function loadCredential(page: Page, credential: string): Promise<void> {
  await page.getByLabel('Or paste the credential').fill(credential);
  await page.getByRole('button', { name: 'Load this credential' }).click();
  await page.getByTestId('held-credential').getByText('Medical Board Y').waitFor();
}

describe('clinician credential and break-glass', () => {
  portalTest(
    'R-2 R-3 T-7 T-16: the clinician presents an SD-JWT credential (a revoked one refused), the patient sees who they are; break-glass refused without a credential and with the policy off, then opens the summary and the patient is told; after leaving the page the clinician re-opens the running access, and an ended one says so',
    { timeout: 240_000 },
    async ({ patient, newUser, portal }) => {
      // The clinician at a phone-sized screen (the patient at a desktop).
      const clinician = await newUser('clinician-phone', { device: 'phone' });
      const doctor = inject('clinician');
      const p = patient.page;
      const c = clinician.page;
      p.setDefaultTimeout(60_000);
      c.setDefaultTimeout(60_000);
      const started = Date.now();

      // Both sign in at once: the patient restores a fresh wallet and imports an IPS; the clinician restores the wallet
      // the board credentialed.
      const [me] = await Promise.all([
        (async () => {
          const keys = await restoreWallet(p);
          await p.getByRole('button', { name: 'Later' }).click(); // the guardian prompt
          await p.getByRole('button', { name: 'Records', exact: true }).click();
          await p.getByLabel(/^Import a FHIR file/u).setInputFiles(IPS_MINIMAL);
          await p.getByText(/^Imported 8 records from /u).waitFor({ timeout: 120_000 });
          // Records naming no institution say who imported them (meta.source: the patient's DID, as the CLI sets).
          await p
            .getByRole('article')
            .filter({ hasText: /penicillin/iu })
            .getByText('Imported by you')
            .waitFor();
          return keys;
        })(),
        restoreWallet(c, { mnemonic: doctor.mnemonic }),
      ]);
      await c.getByRole('button', { name: 'Patients (clinician)' }).click();
      const breakGlass = c.getByRole('region', { name: 'Emergency access (break-glass)' });
      await breakGlass.getByText(/notified at once/u).waitFor();
      await breakGlass.getByText(/emergency treatment \(ETREAT\)/u).waitFor();

      // Break-glass without a credential: refused in plain words, nothing opened.
      await breakGlass.getByLabel('Patient in an emergency: address or DID').fill(me.address);
      await breakGlass.getByLabel(/^Why you need it now/u).fill('unconscious after a fall');
      await breakGlass.getByRole('button', { name: 'Break the glass' }).click();
      await breakGlass
        .getByRole('alert')
        .getByText(/^Refused: emergency access needs your professional credential/u)
        .waitFor();
      await clinician.screenshot('break-glass-no-credential');

      // A revoked credential: loaded (it is well formed and theirs) but refused by the node, in plain words.
      const mine = c.getByRole('region', { name: 'My professional credential' });
      await loadCredential(c, doctor.revokedCredential);
      await mine.getByRole('button', { name: 'Present my credential' }).click();
      await mine
        .getByRole('alert')
        .getByText(/your licensing board has revoked it/u)
        .waitFor();
      // Break-glass with it: refused too (the credential is checked before the patient's policy).
      await breakGlass.getByRole('button', { name: 'Break the glass' }).click();
      await breakGlass
        .getByRole('alert')
        .getByText(/^Refused: your credential does not hold — your licensing board has revoked it\./u)
        .waitFor();
      await clinician.screenshot('credential-revoked');
      await mine.getByRole('button', { name: 'Remove it from this browser' }).click();

      // Someone else's credential text is refused before anything is sent.
      await mine.getByLabel('Or paste the credential').fill('not.a.credential~');
      await mine.getByRole('button', { name: 'Load this credential' }).click();
      await mine
        .getByRole('alert')
        .getByText(/^This is not a Carekey clinician credential/u)
        .waitFor();

      // The valid credential, the licence number kept hidden. This browser keeps it sealed to the wallet's key only.
      await loadCredential(c, doctor.credential);
      const kept = await keptInBrowser(c);
      for (const part of doctor.credential.split('~').filter((p) => p !== ''))
        expect(kept).not.toContain(part.slice(0, 24));
      expect(kept).not.toContain('MB-9');
      expect(await mine.getByLabel(/^Licence number: MB-9/u).isChecked()).toBe(false);
      expect(await mine.getByLabel(/^Organisation: Hospital X/u).isChecked()).toBe(true);
      await mine.getByRole('button', { name: 'Present my credential' }).click();
      await mine.getByText(`The node verified your credential. Patients see you as: ${SEEN_AS}`).waitFor();
      await clinician.screenshot('credential-presented');

      // The patient's policy is still off: refused, in plain words.
      await breakGlass.getByRole('button', { name: 'Break the glass' }).click();
      await breakGlass
        .getByRole('alert')
        .getByText(/^Refused: this patient has not allowed emergency access/u)
        .waitFor();

      // The clinician asks for access; the patient sees who is asking, approves, and sees who has access.
      const request = c.getByRole('region', { name: 'Request access from a patient' });
      await request.getByLabel("Patient's address or DID").fill(me.address);
      await request.getByRole('button', { name: 'Request access' }).click();
      await request.getByText(/for treatment: (queued|pending)/u).waitFor();
      await p.getByRole('button', { name: 'Sharing' }).click();
      const asking = p.getByRole('region', { name: 'Access requests' }).getByRole('listitem');
      await expect
        .poll(
          async () => {
            await p.getByRole('button', { name: 'Refresh shares' }).click();
            await p.getByRole('button', { name: 'Refresh shares' }).waitFor();
            return asking.count();
          },
          { timeout: 90_000, interval: 1_000 },
        )
        .toBe(1);
      await asking.getByText(SEEN_AS).waitFor();
      await patient.screenshot('request-verified');
      await asking.getByRole('button', { name: /^Approve request from / }).click();
      await p.getByRole('button', { name: 'Everything for 24 h' }).click();
      await p.getByRole('button', { name: 'Share', exact: true }).click();
      await p.getByText(/^Shared 8 records with /u).waitFor({ timeout: 120_000 });
      await p.getByRole('region', { name: 'Who has access now' }).getByText(SEEN_AS).waitFor();
      await patient.screenshot('share-verified');

      // The patient keeps an emergency summary; the clinician breaks the glass and reads it, summary first.
      await p.getByRole('button', { name: 'Emergency access' }).click();
      await p.getByLabel('Summary only').check();
      await p.getByRole('button', { name: 'Save my emergency choice' }).click();
      await p.getByText(/^Saved: Summary only\./u).waitFor({ timeout: 120_000 });
      await expect
        .poll(
          async () =>
            (
              (await (await fetch(`${portal.url}/v1/emergency/policies/${me.address}`)).json()) as {
                policy: string;
              }
            ).policy,
          { timeout: 60_000 },
        )
        .toBe('summary');
      await breakGlass.getByLabel('Access for').selectOption({ label: '1 hour' });
      await breakGlass.getByRole('button', { name: 'Break the glass' }).click();
      const opened = breakGlass.getByRole('region', { name: 'Emergency summary' });
      await opened.getByText(/^Emergency access to patient .* until .*the patient is notified\.$/u).waitFor();
      await opened.getByRole('heading', { name: 'Patient' }).waitFor();
      await opened
        .getByText(/penicillin/iu)
        .first()
        .waitFor();
      await clinician.screenshot('break-glass-summary');

      // The patient is told at once (Home), and the log shows the emergency and who the clinician verifiably is.
      await p.getByRole('button', { name: 'Access log' }).click();
      await p.getByRole('button', { name: 'Refresh the log' }).click();
      const row = p
        .getByRole('table')
        .getByRole('row')
        .filter({ hasText: 'broke the glass' })
        .filter({ hasNotText: 'refused' });
      await row.first().getByText(SEEN_AS).waitFor();
      expect(await row.count()).toBe(1);
      await row.getByText(/1 record\s*: your emergency summary/u).waitFor();
      await row.getByText(/allowed; you and your guardians were notified/u).waitFor();
      // The reason the clinician gave, in the row itself, and the log filtered on it.
      await row.getByText('Their reason: “unconscious after a fall”').waitFor();
      await p.getByLabel('Containing (a name, a reason, a record…)').fill('after a FALL');
      await expect.poll(() => p.getByRole('table').getByRole('row').count()).toBe(2); // the heading and this row
      await row.getByText(SEEN_AS).waitFor();
      await p.getByLabel('Containing (a name, a reason, a record…)').fill('');
      const refusedRow = (why: string) =>
        p.getByRole('table').getByRole('row').filter({ hasText: '(refused)' }).filter({ hasText: why });
      await refusedRow('refused: no professional credential presented').waitFor();
      await refusedRow('refused: your emergency policy is off').waitFor();
      await patient.screenshot('access-log-emergency');
      await p.getByRole('button', { name: 'Home' }).click();
      const told = p.getByRole('alert').filter({ hasText: 'Someone broke the glass' });
      await told.getByText(/^Someone broke the glass: 1 emergency access to your records/u).waitFor();
      await told.getByText(/Hospital X.*unconscious after a fall/u).waitFor();
      await patient.screenshot('break-glass-notified');

      // The clinician leaves the page and comes back: the running access is listed (patient, time left) and
      // re-opens without a new break-glass — the summary decrypted here again, the reading in the patient's log.
      await c.reload();
      await c.getByLabel('Passphrase').fill(TEST_PASSPHRASE);
      await c.getByRole('button', { name: 'Unlock' }).click();
      await c.getByRole('button', { name: 'Patients (clinician)' }).click();
      const running = breakGlass.getByTestId('emergency-accesses').getByRole('listitem');
      await running.first().waitFor();
      expect(await running.count()).toBe(1);
      await running
        .filter({ hasText: `${me.address.slice(0, 8)}…${me.address.slice(-6)}` })
        .getByText(/\(emergency summary\): (60|59) min left \(until /u)
        .waitFor();
      await clinician.screenshot('break-glass-running');
      await running.getByRole('button', { name: /^Re-open the emergency access to 0x/u }).click();
      await opened.getByText(/^Emergency access to patient .* until .*the patient is notified\.$/u).waitFor();
      await opened
        .getByText(/penicillin/iu)
        .first()
        .waitFor();
      // What this browser keeps of it is sealed to the clinician's key: not even the patient's address in clear.
      expect((await keptInBrowser(c)).toLowerCase()).not.toContain(me.address.slice(2).toLowerCase());
      await p.getByRole('button', { name: 'Access log' }).click();
      await p.getByRole('button', { name: 'Refresh the log' }).click();
      const reread = row.filter({ hasText: 'the emergency summary read again while the access lasted' });
      await reread.getByText(SEEN_AS).waitFor();
      await reread.getByText('Their reason: “unconscious after a fall”').waitFor();
      // Once the access has ended (the clinician's clock two hours on), it says so and offers nothing to re-open.
      await c.clock.setFixedTime(Date.now() + 2 * 3600_000);
      await c.getByRole('button', { name: 'Home' }).click();
      await c.getByRole('button', { name: 'Patients (clinician)' }).click();
      await running
        .getByText(/expired on .*: it can no longer be re-opened\. Break the glass again/u)
        .waitFor();
      expect(await running.getByRole('button').count()).toBe(0);
      await clinician.screenshot('break-glass-expired');
      console.log(`clinicianCredential: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  );
});
