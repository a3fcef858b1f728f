import type { WalletKeys } from '@carekey/sdk/wallet';
import { useId, useState } from 'react';
import { type StoredWallet, unlockWallet } from '../lib/wallet.ts';
import { useAction } from './Status.tsx';

/** The lock screen: one passphrase field (paste works), plain words on a wrong passphrase. */
export function Unlock({
  stored,
  onUnlocked,
  onRestore,
}: {
  stored: StoredWallet;
  onUnlocked: (keys: WalletKeys) => void;
  onRestore: () => void;
}) {
  const [passphrase, setPassphrase] = useState('');
  const action = useAction();
  const id = useId();
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Unlock your wallet</h2>
      <p className="muted">
        Wallet <span className="mono">{short(stored.address)}</span> is locked in this browser.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run('Unlocking…', async () => {
            const keys = await unlockWallet(stored, passphrase);
            setPassphrase('');
            onUnlocked(keys);
          });
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-pass`}>Passphrase</label>
          <input
            id={`${id}-pass`}
            type="password"
            autoComplete="current-password"
            value={passphrase}
            onChange={(e) => setPassphrase(e.target.value)}
          />
        </div>
        <div className="actions">
          <button type="submit" disabled={action.busy !== undefined || passphrase === ''}>
            Unlock
          </button>
          <button type="button" className="secondary" onClick={onRestore}>
            Forgot it? Restore from recovery phrase
          </button>
        </div>
      </form>
      {action.view}
    </section>
  );
}

export function short(address: string): string {
  return address.length > 14 ? `${address.slice(0, 8)}…${address.slice(-6)}` : address;
}
