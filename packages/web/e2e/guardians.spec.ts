import { readFile } from 'node:fs/promises';
import { describe, expect } from 'vitest';
import { combineShares, openShare, recoverySecretToMnemonic } from '../../sdk/src/recovery/index.ts';
import { generateMnemonic, newWalletSecrets, walletKeys } from '../../sdk/src/wallet/index.ts';
import { portalTest } from './support/portalTest.ts';
import { restoreWallet, TEST_PASSPHRASE } from './support/restoreWallet.ts';

// Social recovery set up in the browser (docs/recovery.md): after the recovery-phrase moment the home screen asks
// for guardians; the Guardians page splits the phrase 2 of 2 with @carekey/sdk/recovery, each piece sealed to a
// guardian's published key in the CLI's format. The pieces downloaded from the page open with each guardian's own
// key (the Node SDK here, as `carekey guardian keep` would) and together give back the patient's phrase.

describe('guardians', () => {
  portalTest(
    'T-17 T-18: the patient is asked for guardians, bad set-ups are refused in plain words, 2 of 2 pieces give the phrase back',
    { timeout: 300_000 },
    async ({ patient, newUser }) => {
      const p = patient.page;
      p.setDefaultTimeout(60_000);
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
      await refused([a.address, ''], /^Name at least two guardians/u);
      await refused([a.address, me.address], /^You cannot be your own guardian/u);
      await refused([a.address, a.address.toLowerCase()], /^A guardian is named twice/u);
      await refused([a.address, keyless], new RegExp(`^${keyless} has no Carekey key yet`, 'u'));
      await refused([a.address, 'did:ethr:0x7a69:0xnothex'], /is not a Carekey address/u);
      await refused(
        [a.address, b.address],
        /^That passphrase does not open this wallet/u,
        'not my passphrase',
      );
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
      const stored = await p.evaluate(
        () =>
          new Promise<string>((resolve, reject) => {
            const open = indexedDB.open('carekey-portal', 1);
            open.onsuccess = () => {
              const all = open.result.transaction('kv').objectStore('kv').getAll();
              all.onsuccess = () =>
                resolve(JSON.stringify(all.result, (_k, v) => (v instanceof Uint8Array ? '<bytes>' : v)));
              all.onerror = () => reject(all.error);
            };
            open.onerror = () => reject(open.error);
          }),
      );
      expect(stored).toContain(a.address);
      expect(stored).not.toContain('BEGIN AGE');
      for (const word of me.mnemonic.split(' ').slice(0, 3)) expect(stored).not.toContain(` ${word} `);
      // Home no longer asks.
      await p.getByRole('button', { name: 'Home' }).click();
      await p.getByRole('heading', { name: /^What's new/u }).waitFor();
      expect(await p.getByRole('heading', { name: 'Choose guardians for your wallet' }).count()).toBe(0);
    },
  );
});
