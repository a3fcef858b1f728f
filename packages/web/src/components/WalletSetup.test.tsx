// @vitest-environment happy-dom
import 'fake-indexeddb/auto';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { idbClose } from '../lib/idb.ts';
import { loadStoredWallet, type StoredWallet } from '../lib/wallet.ts';
import { Unlock } from './Unlock.tsx';
import { WalletSetup } from './WalletSetup.tsx';

// A weak scrypt work factor keeps the test fast; the portal uses 2^17.
const LOG_N = 10;

beforeEach(async () => {
  await idbClose();
  await new Promise<void>((resolve) => {
    const request = indexedDB.deleteDatabase('carekey-portal');
    request.onsuccess = () => resolve();
    request.onerror = () => resolve();
  });
});
afterEach(cleanup);

function type(label: string | RegExp, value: string) {
  fireEvent.change(screen.getByLabelText(label), { target: { value } });
}

describe('wallet setup', () => {
  it('R-5: creates a wallet: explains, reveals 24 words, checks three, seals it under the passphrase', async () => {
    let ready: { stored: StoredWallet; address: string } | undefined;
    render(
      <WalletSetup logN={LOG_N} onReady={(stored, keys) => (ready = { stored, address: keys.address })} />,
    );
    fireEvent.click(screen.getByRole('button', { name: 'Create a new wallet' }));
    expect(screen.getByRole('heading', { name: 'Before you see your recovery phrase' })).toBeTruthy();
    fireEvent.click(screen.getByRole('button', { name: 'Show my recovery phrase' }));
    const words = screen.getAllByRole('listitem').map((li) => li.textContent ?? '');
    expect(words).toHaveLength(24);
    const continueButton = screen.getByRole('button', { name: 'Continue' }) as HTMLButtonElement;
    expect(continueButton.disabled).toBe(true);
    fireEvent.click(screen.getByLabelText('I have written down all 24 words'));
    fireEvent.click(continueButton);

    // Wrong words are named by position; right words pass.
    const fields = screen.getAllByLabelText(/^Word #\d+$/u) as HTMLInputElement[];
    expect(fields).toHaveLength(3);
    const positions = fields.map((f) => Number(/#(\d+)/u.exec(f.labels?.[0]?.textContent ?? '')?.[1]) - 1);
    for (const f of fields) fireEvent.change(f, { target: { value: 'zoo' } });
    fireEvent.click(screen.getByRole('button', { name: 'Check words' }));
    expect(screen.getByRole('alert').textContent).toMatch(/do(es)? not match/u);
    fields.forEach((f, i) => {
      fireEvent.change(f, {
        target: { value: ` ${(words[positions[i] as number] as string).toUpperCase()} ` },
      });
    });
    fireEvent.click(screen.getByRole('button', { name: 'Check words' }));

    type('New passphrase', 'short');
    type('Repeat passphrase', 'short');
    fireEvent.click(screen.getByRole('button', { name: 'Create wallet' }));
    expect(screen.getByRole('alert').textContent).toContain('at least 8 characters');
    type('New passphrase', 'correct horse battery');
    type('Repeat passphrase', 'correct horse battery staple');
    fireEvent.click(screen.getByRole('button', { name: 'Create wallet' }));
    expect(screen.getByRole('alert').textContent).toContain('not the same');
    type('Repeat passphrase', 'correct horse battery');
    fireEvent.click(screen.getByRole('button', { name: 'Create wallet' }));
    await waitFor(() => expect(ready).toBeDefined(), { timeout: 20_000 });

    // Stored sealed: neither the phrase nor the passphrase is in clear in IndexedDB.
    const stored = await loadStoredWallet();
    expect(stored?.address).toBe(ready?.address);
    expect(stored?.backupVerified).toBe(true);
    const text = new TextDecoder('latin1').decode(stored?.sealed);
    expect(text.startsWith('age-encryption.org/v1')).toBe(true);
    expect(text).not.toContain(words.slice(0, 3).join(' '));
    expect(text).not.toContain('correct horse battery');
    expect(JSON.stringify(stored, (_k, v) => (v instanceof Uint8Array ? '' : v))).not.toContain(
      words[0] as string,
    );
  });

  it('R-5: restores from a recovery phrase; a bad phrase is refused in plain words and nothing is stored', async () => {
    let address: string | undefined;
    render(<WalletSetup logN={LOG_N} restore onReady={(_s, keys) => (address = keys.address)} />);
    type(
      'Recovery phrase',
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon wrong',
    );
    type('New passphrase', 'a long passphrase');
    type('Repeat passphrase', 'a long passphrase');
    fireEvent.click(screen.getByRole('button', { name: 'Restore wallet' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toContain('That recovery phrase is not valid'),
    );
    expect(await loadStoredWallet()).toBeUndefined();
    type(
      'Recovery phrase',
      '  Abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about ',
    );
    fireEvent.click(screen.getByRole('button', { name: 'Restore wallet' }));
    await waitFor(() => expect(address).toBeDefined(), { timeout: 20_000 });
    // The standard test vector's first Ethereum account (m/44'/60'/0'/0/0).
    expect(address).toBe('0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
  });

  it('R-5: unlock: a wrong passphrase says so in plain words; the right one opens the same wallet', async () => {
    let address: string | undefined;
    render(<WalletSetup logN={LOG_N} restore onReady={(_s, keys) => (address = keys.address)} />);
    type(
      'Recovery phrase',
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about',
    );
    type('New passphrase', 'my secret sentence');
    type('Repeat passphrase', 'my secret sentence');
    fireEvent.click(screen.getByRole('button', { name: 'Restore wallet' }));
    await waitFor(() => expect(address).toBeDefined(), { timeout: 20_000 });
    cleanup();
    const stored = (await loadStoredWallet()) as StoredWallet;
    let unlocked: string | undefined;
    render(<Unlock stored={stored} onUnlocked={(keys) => (unlocked = keys.address)} onRestore={() => {}} />);
    type('Passphrase', 'not my secret');
    fireEvent.click(screen.getByRole('button', { name: 'Unlock' }));
    await waitFor(() =>
      expect(screen.getByRole('alert').textContent).toContain('That passphrase does not open this wallet'),
    );
    expect(unlocked).toBeUndefined();
    type('Passphrase', 'my secret sentence');
    fireEvent.click(screen.getByRole('button', { name: 'Unlock' }));
    await waitFor(() => expect(unlocked).toBe(address), { timeout: 20_000 });
  });
});
