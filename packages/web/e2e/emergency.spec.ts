import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { portalTest } from './support/portalTest.ts';
import { restoreWallet } from './support/restoreWallet.ts';

// The emergency (break-glass) policy chosen in the portal (docs/emergency.md; UX 10): a plain explanation first,
// refused in plain words with nothing changed while there is nothing to summarise, a preview of what a clinician
// sees, then summary only, everything and off — each checked on the node (the policy on chain, the summary record
// and the stanzas wrapped to the node's emergency key). Along the way (issue 6, Bad input and Quality): the node
// unreachable mid-import and mid-choice (plain words, nothing half-done), and the choice made by keyboard.

const IPS_MINIMAL = join(
  import.meta.dirname,
  '../../../../shared/data/ips/Bundle-IPS-examples-Bundle-minimal.json',
);

type PolicyState = { policy: string; summary: { recordId: string } | null; records: number; queued: number };

describe('emergency policy', () => {
  portalTest(
    'R-3 R-6 F-9: the patient chooses off / summary only / everything after an explanation, previews it, and the node keeps exactly that; an unreachable node changes nothing',
    { timeout: 300_000 },
    async ({ patient, portal }) => {
      const p = patient.page;
      p.setDefaultTimeout(60_000);
      const me = await restoreWallet(p);
      const policyOf = async (): Promise<PolicyState> =>
        (await fetch(`${portal.url}/v1/emergency/policies/${me.address}`)).json() as Promise<PolicyState>;
      await p.getByRole('button', { name: 'Later' }).click(); // the guardian prompt
      await p.getByRole('button', { name: 'Emergency access' }).click();
      await p.getByRole('heading', { name: 'Emergency access (break-glass)' }).waitFor();
      await p.getByTestId('emergency-policy').getByText('Off').waitFor();
      await p.getByText(/lasts at most 24 hours/u).waitFor();
      await p.getByText(/Its operator could open it without a credential/u).waitFor();
      await p.getByText('Nobody has broken the glass on your records.').waitFor();

      // Nothing to summarise yet: said before anything is signed, and nothing changes.
      await p.getByLabel('Summary only').check();
      await p
        .getByRole('note')
        .getByText(/An emergency summary needs your records first/u)
        .waitFor();
      expect(await p.getByRole('button', { name: 'Save my emergency choice' }).isDisabled()).toBe(true);
      expect((await policyOf()).policy).toBe('off');
      await patient.screenshot('emergency-nothing-to-summarise');

      // The node unreachable in the middle of an import (the payloads went up, the publish cannot): plain words, and
      // nothing half-done — the retry publishes the 8 records once.
      await p.getByRole('button', { name: 'Records', exact: true }).click();
      const publishes = (url: URL) => url.pathname === '/v1/records';
      await p.route(publishes, (route) =>
        route.request().method() === 'POST' ? route.abort('connectionrefused') : route.continue(),
      );
      await p.getByLabel(/^Import a FHIR file/u).setInputFiles(IPS_MINIMAL);
      await p
        .getByRole('alert')
        .getByText(/^Your Carekey node cannot be reached/u)
        .waitFor({ timeout: 180_000 });
      await p.unroute(publishes);
      await p.getByLabel(/^Import a FHIR file/u).setInputFiles(IPS_MINIMAL);
      await p.getByText(/^Imported 8 records from /u).waitFor({ timeout: 180_000 });
      expect(await p.getByRole('article').count()).toBe(8);

      // The preview shows what a clinician would see (the IPS's patient, allergy, medication, problem). By keyboard:
      // the arrow keys move between the choices, Enter saves.
      await p.getByRole('button', { name: 'Emergency access' }).click();
      await p.getByLabel('Off').focus();
      await p.keyboard.press('ArrowDown');
      expect(await p.getByLabel('Summary only').isChecked()).toBe(true);
      const preview = p.getByRole('region', { name: 'What a clinician sees' });
      await preview.getByRole('heading', { name: 'Patient' }).waitFor();
      await preview
        .getByText(/penicillin/u)
        .first()
        .waitFor(); // the allergy of the IPS example
      await patient.screenshot('emergency-preview');
      // The node unreachable when the choice is sent: plain words, the policy unchanged.
      const policies = (url: URL) => url.pathname === '/v1/emergency/policies';
      await p.route(policies, (route) => route.abort('connectionrefused'));
      await p.getByRole('button', { name: 'Save my emergency choice' }).click();
      await p
        .getByRole('alert')
        .getByText(/^Your Carekey node cannot be reached.*nothing was changed/u)
        .waitFor();
      await p.unroute(policies);
      expect((await policyOf()).policy).toBe('off');
      await p.getByRole('button', { name: 'Save my emergency choice' }).focus();
      await p.keyboard.press('Enter');
      await p
        .getByText(/^Saved: Summary only\. A credentialed clinician may open your emergency summary/u)
        .waitFor();
      await p.getByTestId('emergency-policy').getByText('Summary only').waitFor();
      await expect.poll(async () => (await policyOf()).policy, { timeout: 60_000 }).toBe('summary');
      const summary = await policyOf();
      expect(summary.summary).not.toBeNull();
      expect(summary.records).toBe(0);
      // The summary record is mine, on the node, but kept out of my timeline.
      await p.getByRole('button', { name: 'Records', exact: true }).click();
      expect(await p.getByRole('article').count()).toBe(8);
      await patient.screenshot('emergency-summary');

      // Everything: every record wrapped to the emergency key as well.
      await p.getByRole('button', { name: 'Emergency access' }).click();
      await p.getByLabel('Everything').check();
      await p.getByRole('button', { name: 'Save my emergency choice' }).click();
      await p.getByText(/^Saved: Everything\. .*your summary and 8 other records/u).waitFor();
      await expect.poll(async () => (await policyOf()).policy, { timeout: 60_000 }).toBe('all');
      expect((await policyOf()).records).toBe(8);

      // Off: nothing kept on the node.
      await p.getByLabel('Off').check();
      await p.getByRole('button', { name: 'Save my emergency choice' }).click();
      await p.getByText(/^Emergency access is off: nobody can break the glass/u).waitFor();
      await expect.poll(async () => (await policyOf()).policy, { timeout: 60_000 }).toBe('off');
      const off = await policyOf();
      expect(off.summary).toBeNull();
      expect(off.records).toBe(0);
      await patient.screenshot('emergency-off');
    },
  );
});
