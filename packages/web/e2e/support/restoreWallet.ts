import type { Page } from 'playwright-core';
import { generateMnemonic, newWalletSecrets, walletKeys } from '../../../sdk/src/wallet/index.ts';

/** The passphrase the browser tests lock wallets with. */
export const TEST_PASSPHRASE = 'a long and memorable sentence';

/**
 * Restores a wallet through the UI from a phrase made here or given (so the test knows its keys), and waits for the portal.
 * Returns the keys (address, X25519 identity and recipient…) and the phrase of that wallet.
 */
export async function restoreWallet(page: Page, options: { waitForKey?: boolean; mnemonic?: string } = {}) {
  const mnemonic = options.mnemonic ?? generateMnemonic();
  const keys = walletKeys(newWalletSecrets({ mnemonic }));
  await page.getByRole('button', { name: 'Restore from recovery phrase' }).click();
  await page.getByLabel('Recovery phrase').fill(mnemonic);
  await page.getByLabel('New passphrase').fill(TEST_PASSPHRASE);
  await page.getByLabel('Repeat passphrase').fill(TEST_PASSPHRASE);
  await page.getByRole('button', { name: 'Restore wallet' }).click();
  await page.getByTestId('my-address').waitFor({ timeout: 60_000 });
  if (options.waitForKey !== false)
    await page.getByText('Your encryption key is published').first().waitFor({ timeout: 90_000 });
  return { ...keys, mnemonic };
}
