import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { combineShares, openShare, recoverySecretToMnemonic } from '../../sdk/src/recovery/index.ts';
import { generateMnemonic, newWalletSecrets, walletKeys } from '../../sdk/src/wallet/index.ts';
import { keptInBrowser } from './support/keptInBrowser.ts';
import { portalTest } from './support/portalTest.ts';
import { restoreWallet, TEST_PASSPHRASE } from './support/restoreWallet.ts';

// Social recovery set up in the browser (docs/recovery.md): after the recovery-phrase moment the home screen asks
// for guardians; the Guardians page splits the phrase 2 of 2 with @carekey/sdk/recovery, each piece sealed to a
// guardian's published key in the CLI's format. The pieces downloaded from the page open with each guardian's own
// key (the Node SDK here, as `carekey guardian keep` would) and together give back the patient's phrase.
// Then the stolen-phone story, all in the portal (docs/recovery.md): the guardians keep their pieces, the patient
// turns on stolen-phone protection, a new phone starts a recovery, both guardians approve its key and seal their
// pieces to it, the old device sees the recovery under way (and could cancel), the new phone finishes — the identity
// answers to the new key, the records are readable there — and the old key is refused.

const IPS_MINIMAL = join(
  import.meta.dirname,
  '../../../../shared/data/ips/Bundle-IPS-examples-Bundle-minimal.json',
);

/** Downloads the file a button makes and returns its name and text. */
async function downloaded(page: Page, button: RegExp | string): Promise<{ name: string; text: string }> {
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: button }).click();
  const download = await downloading;
  return {
    name: download.suggestedFilename(),
    text: await readFile((await download.path()) as string, 'utf8'),
  };
}

/** Puts a text file into a file field. */
function fileOf(file: { name: string; text: string }) {
  return { name: file.name, mimeType: 'application/octet-stream', buffer: Buffer.from(file.text) };
}

describe('guardians', () => {
  portalTest(
    'T-17 T-18 T-6: guardians set up in plain words, 2 of 2 pieces give the phrase back; after a theft they move the identity to a new phone and the old key is powerless',
    { timeout: 480_000 },
    async ({ patient, newUser, portal }) => {
      const p = patient.page;
      p.setDefaultTimeout(60_000);
      const started = Date.now();
      const ann = await newUser('guardian-ann');
      const bob = await newUser('guardian-bob');
      ann.page.setDefaultTimeout(60_000);
      bob.page.setDefaultTimeout(60_000);
      const [me, a, b] = await Promise.all([
        restoreWallet(p),
        restoreWallet(ann.page),
        restoreWallet(bob.page),
      ]);
      const keyless = walletKeys(newWalletSecrets({ mnemonic: generateMnemonic() })).address;

      // The prompt after the recovery-phrase moment.
      await p.getByRole('heading', { name: 'Choose guardians for your wallet' }).waitFor();
      await patient.screenshot('guardian-prompt');
      await p.getByRole('button', { name: 'Set up guardians' }).click();
      await p.getByText('You have no guardians yet.').waitFor();

      const make = async (guardians: string[], passphrase = TEST_PASSPHRASE) => {
        while ((await p.getByLabel(/^Guardian \d+$/u).count()) > Math.max(2, guardians.length))
          await p
            .getByRole('button', { name: /^Remove guardian/u })
            .last()
            .click();
        for (let i = 0; i < guardians.length; i++)
          await p.getByLabel(`Guardian ${i + 1}`, { exact: true }).fill(guardians[i] as string);
        await p.getByLabel('Your passphrase (to open your recovery phrase here)').fill(passphrase);
        await p.getByRole('button', { name: 'Make the guardian pieces' }).click();
      };
      const refused = async (guardians: string[], words: RegExp, passphrase?: string) => {
        await make(guardians, passphrase);
        await p.getByRole('alert').getByText(words).waitFor();
        expect(await p.getByTestId('guardian-set').count()).toBe(0); // nothing made, nothing kept
      };
      // The guardians are checked before the recovery phrase is opened: a mistake in them is said at once, whatever
      // the passphrase (no key derivation, no phrase in memory for a set that cannot be made).
      const WRONG = 'not my passphrase';
      const checking = Date.now();
      await refused([a.address, ''], /^Name at least two guardians/u, WRONG);
      await refused([a.address, me.address], /^You cannot be your own guardian/u, WRONG);
      await refused([a.address, a.address.toLowerCase()], /^A guardian is named twice/u, WRONG);
      await refused([a.address, keyless], new RegExp(`^${keyless} has no Carekey key yet`, 'u'), WRONG);
      await refused([a.address, 'did:ethr:0x7a69:0xnothex'], /is not a Carekey address/u, WRONG);
      await refused([a.address, b.address], /^That passphrase does not open this wallet/u, WRONG);
      const refusals = (Date.now() - checking) / 1000;
      await patient.screenshot('guardian-refused');

      // Two guardians, both needed; one piece each, downloaded from the page.
      await make([a.address, `did:ethr:0x7a69:${b.address}`]);
      await p.getByRole('heading', { name: 'Give each guardian their file' }).waitFor();
      await p
        .getByTestId('guardian-set')
        .getByText(/Any 2 of your 2 guardians/u)
        .waitFor();
      await patient.screenshot('guardian-pieces');
      const pieces: string[] = [];
      for (const who of [a, b]) {
        const downloading = p.waitForEvent('download');
        await p
          .getByRole('button', {
            name: new RegExp(`^Download the piece for ${who.address.slice(0, 8)}`, 'u'),
          })
          .click();
        const download = await downloading;
        expect(download.suggestedFilename()).toBe(`${who.address}.share.age`);
        pieces.push(await readFile((await download.path()) as string, 'utf8'));
      }
      expect(pieces[0]).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/u);
      // Each piece opens only with its guardian's key; together they give back the phrase.
      const shareA = await openShare({ sealed: pieces[0] as string, identities: [a.identity] });
      const shareB = await openShare({ sealed: pieces[1] as string, identities: [b.identity] });
      await expect(openShare({ sealed: pieces[0] as string, identities: [b.identity] })).rejects.toThrow();
      await expect(combineShares({ shares: [shareA] })).rejects.toThrow();
      const { secret } = await combineShares({ shares: [shareA, shareB] });
      expect(recoverySecretToMnemonic(secret)).toBe(me.mnemonic);
      // No piece or phrase was kept in this browser: only the set's public facts.
      const stored = await keptInBrowser(p);
      expect(stored).toContain(a.address);
      expect(stored).not.toContain('BEGIN AGE');
      for (const word of me.mnemonic.split(' ').slice(0, 3)) expect(stored).not.toContain(` ${word} `);
      // Home no longer asks.
      await p.getByRole('button', { name: 'Home' }).click();
      await p.getByRole('heading', { name: /^What's new/u }).waitFor();
      expect(await p.getByRole('heading', { name: 'Choose guardians for your wallet' }).count()).toBe(0);

      // --- Stolen phone. Each guardian keeps their piece in their portal (a piece not sealed to them is refused).
      const keep = async (who: typeof ann, piece: string, name: string) => {
        await who.page.getByRole('button', { name: 'Guardians', exact: true }).click();
        await who.page.getByLabel('Whose piece (their address or DID)').fill(me.address);
        await who.page.getByLabel('The file they gave you').setInputFiles(fileOf({ name, text: piece }));
        await who.page.getByRole('button', { name: 'Keep this piece' }).click();
      };
      await keep(ann, pieces[1] as string, 'not-mine.share.age');
      await ann.page
        .getByRole('alert')
        .getByText(/^not-mine\.share\.age is not a recovery piece sealed to this wallet/u)
        .waitFor();
      await keep(ann, pieces[0] as string, `${a.address}.share.age`);
      await ann.page.getByText(/^Kept piece \d of 2 for /u).waitFor();
      await keep(bob, pieces[1] as string, `${b.address}.share.age`);
      await bob.page.getByText(/^Kept piece \d of 2 for /u).waitFor();
      await ann.screenshot('guardian-keeps-piece');

      // The patient has records, and turns on stolen-phone protection (a few seconds to cancel, for the test).
      await p.getByRole('button', { name: 'Records', exact: true }).click();
      await p.getByLabel(/^Import a FHIR file/u).setInputFiles(IPS_MINIMAL);
      await p.getByText(/^Imported 8 records from /u).waitFor({ timeout: 180_000 });
      await p.getByRole('button', { name: 'Guardians', exact: true }).click();
      await p.getByTestId('stolen-phone-status').getByText('Off.').waitFor();
      await p.getByLabel('Time you have to cancel a recovery').selectOption('custom');
      await p.getByLabel('Seconds').fill('4');
      await p.getByRole('button', { name: 'Turn on stolen-phone protection' }).click();
      await p
        .getByTestId('stolen-phone-status')
        .getByText(/^On: any 2 of your 2 guardians/u)
        .waitFor({ timeout: 90_000 });
      await patient.screenshot('stolen-phone-on');

      // The phone is stolen. A new phone starts a recovery: a new wallet key and a one-time key for the pieces.
      const phone = await newUser('patient-new-phone', { device: 'phone' });
      const n = phone.page;
      n.setDefaultTimeout(60_000);
      await n.getByRole('button', { name: 'Lost your device? Recover with your guardians' }).click();
      await n.getByLabel('Your Carekey address or DID').fill(me.address);
      await n.getByLabel('New passphrase').fill(TEST_PASSPHRASE);
      await n.getByLabel('Repeat passphrase').fill(TEST_PASSPHRASE);
      await n.getByRole('button', { name: 'Start recovery' }).click();
      const newKey = (
        (await n.getByTestId('recovery-new-key').textContent({ timeout: 90_000 })) ?? ''
      ).trim();
      const deviceKey = ((await n.getByTestId('recovery-device-key').textContent()) ?? '').trim();
      expect(newKey).toMatch(/^0x[0-9a-fA-F]{40}$/u);
      expect(deviceKey).toMatch(/^age1/u);
      await n.getByRole('button', { name: 'Finish recovery' }).click();
      await n
        .getByRole('alert')
        .getByText(/^Add the pieces your guardians sent you first/u)
        .waitFor();
      await phone.screenshot('recovery-started');

      // Both guardians approve the new key and seal their piece to the new phone.
      const sent: { name: string; text: string }[] = [];
      for (const [i, who] of [ann, bob].entries()) {
        const g = who.page;
        await g.getByLabel('Who (their address or DID)').fill(me.address);
        await g.getByLabel("Their new device's wallet key (0x…, after a theft)").fill(newKey);
        await g.getByRole('button', { name: 'Approve their new key' }).click();
        await g
          .getByText(new RegExp(`^Approved\\. Recovery under way to key ${newKey}: ${i + 1} of 2`, 'u'))
          .waitFor({ timeout: 90_000 });
        await g.getByLabel("Their new device's recovery key (age1…)").fill(deviceKey);
        sent.push(await downloaded(g, 'Make my piece for their new device'));
      }
      await bob.screenshot('guardian-approved-and-sent');

      // The old device is told, and could cancel.
      await p.getByRole('button', { name: 'Check again' }).click();
      await p
        .getByRole('alert')
        .getByText(new RegExp(`^Recovery under way to key ${newKey}: 2 of 2`, 'u'))
        .waitFor();
      expect(await p.getByRole('button', { name: 'Cancel this recovery' }).count()).toBe(1);
      await patient.screenshot('recovery-under-way-old-device');

      // One piece alone is not enough; both finish it: the identity answers to the new phone, records readable.
      await n
        .getByLabel('The pieces your guardians sent')
        .setInputFiles(fileOf(sent[0] as { name: string; text: string }));
      await n.getByRole('button', { name: 'Finish recovery' }).click();
      await n
        .getByRole('alert')
        .getByText(/^Not enough pieces yet/u)
        .waitFor();
      await n
        .getByLabel('The pieces your guardians sent')
        .setInputFiles(fileOf(sent[1] as { name: string; text: string }));
      // The waiting time (4 s of chain time) may still run: said in plain words, nothing changed; then it finishes.
      const deadline = Date.now() + 180_000;
      for (;;) {
        await n.getByRole('button', { name: 'Finish recovery' }).click();
        const outcome = await Promise.race([
          n
            .getByTestId('my-address')
            .waitFor({ timeout: 120_000 })
            .then(() => 'done'),
          n
            .getByRole('alert')
            .getByText(/^The waiting time runs \d+ s more/u)
            .waitFor({ timeout: 120_000 })
            .then(() => 'wait'),
        ]);
        if (outcome === 'done' || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      expect(await n.getByTestId('my-address').textContent()).toBe(me.address);
      await n.getByText('Your encryption key is published').first().waitFor({ timeout: 90_000 });
      await n.getByRole('button', { name: 'Records', exact: true }).click();
      await expect.poll(() => n.getByRole('article').count(), { timeout: 90_000 }).toBe(8);
      await phone.screenshot('recovered-records');

      // The recovered phone chooses its guardians again: the new pieces (of the new phrase) are anchored on chain,
      // at a higher generation, so the pieces of the old phrase never count again.
      const anchoredBefore = (await (await fetch(`${portal.url}/v1/recovery/${me.address}`)).json()) as {
        shareEpoch: number;
        shareSetRoot: string;
      };
      await n.getByRole('button', { name: 'Guardians', exact: true }).click();
      await n.getByLabel('Guardian 1', { exact: true }).fill(a.address);
      await n.getByLabel('Guardian 2', { exact: true }).fill(b.address);
      await n.getByLabel('Your passphrase (to open your recovery phrase here)').fill(TEST_PASSPHRASE);
      await n.getByRole('button', { name: 'Make the guardian pieces' }).click();
      await n
        .getByTestId('guardian-set')
        .getByText(/^Anchored in your stolen-phone protection/u)
        .waitFor();
      const anchored = () =>
        fetch(`${portal.url}/v1/recovery/${me.address}`).then(
          (r) => r.json() as Promise<{ shareEpoch: number; shareSetRoot: string }>,
        );
      await expect
        .poll(async () => (await anchored()).shareEpoch, { timeout: 60_000 })
        .toBe(anchoredBefore.shareEpoch + 1);
      expect((await anchored()).shareSetRoot).not.toBe(anchoredBefore.shareSetRoot);
      await phone.screenshot('re-share-anchored');

      // The stolen key is powerless: the old device's requests are refused in plain words.
      await p.getByRole('button', { name: 'Sharing', exact: true }).click();
      await p.getByRole('button', { name: 'Refresh shares' }).click();
      await p
        .getByRole('alert')
        .getByText(/not the owner/u)
        .waitFor();
      await patient.screenshot('old-device-refused');
      console.log(
        `guardians: ${((Date.now() - started) / 1000).toFixed(1)} s, of which the six refusals ${refusals.toFixed(1)} s`,
      );
    },
  );
});
