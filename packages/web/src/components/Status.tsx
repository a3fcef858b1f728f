import { useCallback, useState } from 'react';
import { plainError } from '../lib/errors.ts';

/** Progress of an action, announced politely to screen readers. */
export function ProgressNote({ text, done, total }: { text: string; done?: number; total?: number }) {
  return (
    <div className="progress" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{text}</span>
      {total !== undefined && total > 0 && done !== undefined ? (
        <>
          <progress max={total} value={done} aria-label={text} />
          <span>
            {done} of {total}
          </span>
        </>
      ) : null}
    </div>
  );
}

/** An error in plain words, announced at once. */
export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p className="error" role="alert">
      {plainError(error)}
    </p>
  );
}

export type Busy = { text: string; done?: number; total?: number };

/** Runs one action at a time with progress and a plain-language error; nothing else runs meanwhile. */
export function useAction() {
  const [busy, setBusy] = useState<Busy | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const run = useCallback(
    async <result,>(text: string, act: (progress: (b: Busy) => void) => Promise<result>) => {
      setError(undefined);
      setBusy({ text });
      try {
        return await act((b) => setBusy(b));
      } catch (caught) {
        setError(caught);
        return undefined;
      } finally {
        setBusy(undefined);
      }
    },
    [],
  );
  const view = (
    <>
      {busy === undefined ? null : <ProgressNote {...busy} />}
      <ErrorNote error={error} />
    </>
  );
  return { busy, error, setError, run, view };
}
