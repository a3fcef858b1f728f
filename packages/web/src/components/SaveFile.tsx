import { useCallback, useRef, useState } from 'react';
import {
  chooseTarget,
  type FileRef,
  type FileTarget,
  formatBytes,
  saveFile,
  suggestedName,
} from '../lib/files.ts';
import type { PortalRecord } from '../lib/records.ts';
import type { Session } from '../lib/session.ts';
import { useAction } from './Status.tsx';

/**
 * Saving the files records describe (a scan, a PDF), streamed and decrypted here (`lib/files.ts`), for the patient's
 * own records and a clinician's shared ones alike. `onSaveFile` is stable (the memoised timeline keeps its cards);
 * `view` shows progress, the result with its MB/s, or the error in plain words.
 */
export function useFileSaver(session: Session, records: readonly PortalRecord[]) {
  const action = useAction();
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const latest = useRef({ session, records, action });
  latest.current = { session, records, action };
  const onSaveFile = useCallback((ref: FileRef) => {
    void (async () => {
      const { session: s, records: held, action: act } = latest.current;
      setSaved(undefined);
      // The save dialog first: it needs this click's user activation.
      let target: FileTarget | undefined;
      try {
        target = await chooseTarget(ref);
      } catch (error) {
        act.setError(error);
        return;
      }
      if (target === undefined) return;
      const chosen = target;
      const name = suggestedName(ref);
      await act.run(`Saving ${name}…`, async (progress) => {
        const record = held.find((r) => r.recordId.toLowerCase() === ref.recordId.toLowerCase());
        const result = await saveFile(s, {
          ref,
          record,
          target: chosen,
          onProgress: (done, total) =>
            progress({
              text: `Downloading and decrypting ${name}: ${formatBytes(done)}`,
              done,
              ...(total === undefined ? {} : { total }),
            }),
        });
        setSaved(
          `Saved ${name} (${formatBytes(result.bytes)}, decrypted in this browser at ${(result.bytes / 1e6 / Math.max(result.seconds, 0.001)).toFixed(1)} MB/s).`,
        );
      });
    })();
  }, []);
  const view = (
    <>
      {action.view}
      {saved === undefined ? null : (
        <p className="notice" role="status">
          {saved}
        </p>
      )}
    </>
  );
  return { onSaveFile, view, busy: action.busy !== undefined };
}
