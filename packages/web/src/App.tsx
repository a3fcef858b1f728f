import type { WalletKeys } from '@carekey/sdk/wallet';
import { lazy, Suspense, useEffect, useState } from 'react';
import { ErrorBoundary } from './components/ErrorBoundary.tsx';
import { ErrorNote } from './components/Status.tsx';
import { Unlock } from './components/Unlock.tsx';
import { WalletSetup } from './components/WalletSetup.tsx';
import { loadStoredWallet, type StoredWallet } from './lib/wallet.ts';

const Portal = lazy(() => import('./components/Portal.tsx').then((m) => ({ default: m.Portal })));
const RecoveryUnderWay = lazy(() =>
  import('./components/Recovery.tsx').then((m) => ({ default: m.RecoveryUnderWay })),
);

/** Performance mark set when the keys are in memory (the browser test times what follows from it). */
export const UNLOCKED_MARK = 'carekey:unlocked';

/** Minutes without a click or key press before the wallet locks itself. */
export const AUTO_LOCK_MINUTES = 10;

type State =
  | { kind: 'loading' }
  | { kind: 'failed'; error: unknown }
  | { kind: 'setup'; restore: boolean }
  | { kind: 'locked'; stored: StoredWallet }
  | { kind: 'open'; stored: StoredWallet; keys: WalletKeys };

export function App({ logN }: { logN?: number } = {}) {
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [lockedByTimer, setLockedByTimer] = useState(false);

  useEffect(() => {
    loadStoredWallet()
      .then((stored) =>
        setState(stored === undefined ? { kind: 'setup', restore: false } : { kind: 'locked', stored }),
      )
      .catch((error: unknown) => setState({ kind: 'failed', error }));
  }, []);

  const open = state.kind === 'open';
  useEffect(() => {
    if (!open) return;
    let timer = setTimeout(lock, AUTO_LOCK_MINUTES * 60_000);
    function lock() {
      setLockedByTimer(true);
      setState((s) => (s.kind === 'open' ? { kind: 'locked', stored: s.stored } : s));
    }
    const reset = () => {
      clearTimeout(timer);
      timer = setTimeout(lock, AUTO_LOCK_MINUTES * 60_000);
    };
    const events = ['pointerdown', 'keydown', 'scroll'] as const;
    for (const e of events) window.addEventListener(e, reset, { passive: true });
    return () => {
      clearTimeout(timer);
      for (const e of events) window.removeEventListener(e, reset);
    };
  }, [open]);

  return (
    <div className="app">
      {state.kind !== 'open' ? (
        <header className="masthead">
          <h1>Carekey</h1>
          <p>Your medical records, under your own keys.</p>
        </header>
      ) : null}
      {state.kind === 'loading' ? <p role="status">Opening…</p> : null}
      {state.kind === 'failed' ? <ErrorNote error={state.error} /> : null}
      {state.kind === 'setup' ? (
        <WalletSetup
          restore={state.restore}
          {...(logN === undefined ? {} : { logN })}
          onReady={(stored, keys) => {
            performance.mark(UNLOCKED_MARK);
            setState({ kind: 'open', stored, keys });
          }}
        />
      ) : null}
      {state.kind === 'locked' ? (
        <>
          {lockedByTimer ? (
            <p className="notice" role="status">
              Locked after {AUTO_LOCK_MINUTES} minutes without use.
            </p>
          ) : null}
          <Unlock
            stored={state.stored}
            onUnlocked={(keys) => {
              performance.mark(UNLOCKED_MARK);
              setLockedByTimer(false);
              setState({ kind: 'open', stored: state.stored, keys });
            }}
            onRestore={() => setState({ kind: 'setup', restore: true })}
          />
        </>
      ) : null}
      {state.kind === 'open' && state.stored.recovering !== undefined ? (
        <ErrorBoundary>
          <Suspense fallback={<p role="status">Opening…</p>}>
            <RecoveryUnderWay
              stored={state.stored}
              keys={state.keys}
              {...(logN === undefined ? {} : { logN })}
              onDone={(stored, keys) => setState({ kind: 'open', stored, keys })}
            />
          </Suspense>
        </ErrorBoundary>
      ) : null}
      {state.kind === 'open' && state.stored.recovering === undefined ? (
        <ErrorBoundary>
          <Suspense fallback={<p role="status">Opening your records…</p>}>
            <Portal
              keys={state.keys}
              stored={state.stored}
              onStored={(stored) => setState({ ...state, stored })}
              onLock={() => setState({ kind: 'locked', stored: state.stored })}
            />
          </Suspense>
        </ErrorBoundary>
      ) : null}
    </div>
  );
}
