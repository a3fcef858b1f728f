import type { WalletKeys } from '@carekey/sdk/wallet';
import { useCallback, useEffect, useId, useState } from 'react';
import type { SealedShareFile } from '../lib/guardians.ts';
import {
  approveNewKey,
  cancelStolenPhoneRecovery,
  enableStolenPhoneRecovery,
  finishRecovery,
  type HeldPiece,
  keepPiece,
  listHeldPieces,
  type RecoveryStateBody,
  readRecovery,
  releasePiece,
  type StoredRecovering,
} from '../lib/recovery.ts';
import { openSession, type Session } from '../lib/session.ts';
import type { StoredWallet } from '../lib/wallet.ts';
import { useAction } from './Status.tsx';
import { short } from './Unlock.tsx';
import { PassphraseForm } from './WalletSetup.tsx';

export function downloadText(file: SealedShareFile): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function seconds(s: bigint | number): string {
  const n = Number(s);
  if (n >= 86_400) return `${Math.round(n / 86_400)} day${n >= 2 * 86_400 ? 's' : ''}`;
  if (n >= 3600) return `${Math.round(n / 3600)} hours`;
  if (n >= 60) return `${Math.round(n / 60)} minutes`;
  return `${n} seconds`;
}

/** A recovery under way, in words (for the key in control, the guardians and the new device). */
export function describePending(state: RecoveryStateBody): string | undefined {
  const pending = state.pending;
  if (pending === null) return undefined;
  const ready = BigInt(pending.readyAt);
  const left = ready - BigInt(state.chainTime);
  return `Recovery under way to key ${pending.newController}: ${pending.approvals} of ${state.threshold} guardians approved${
    ready === 0n
      ? '; not enough approvals yet.'
      : left > 0n
        ? `; it can finish in ${seconds(left)}.`
        : '; it can finish now.'
  }`;
}

const DELAYS = [
  { label: '3 days (recommended)', seconds: 3 * 86_400 },
  { label: '1 day', seconds: 86_400 },
  { label: '7 days', seconds: 7 * 86_400 },
];

/**
 * Stolen-phone protection for the patient on the device holding the key (docs/recovery.md; UX 13): on with the
 * current guardians and a waiting time; a recovery under way is shown at once, with one button to cancel it.
 */
export function StolenPhoneProtection({
  session,
  hasGuardians,
}: {
  session: Session;
  hasGuardians: boolean;
}) {
  const id = useId();
  const [state, setState] = useState<RecoveryStateBody | undefined>(undefined);
  const [delay, setDelay] = useState(String(DELAYS[0]?.seconds));
  const [custom, setCustom] = useState('');
  const action = useAction();
  const load = useCallback(
    () =>
      action.run('Reading your stolen-phone protection…', async () => setState(await readRecovery(session))),
    [action.run, session],
  );
  useEffect(() => {
    void load();
  }, [load]);
  const pending = state === undefined ? undefined : describePending(state);
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Stolen-phone protection</h2>
      <p>
        If someone steals this device, your guardians (the same majority) can move your identity to a new key
        on your new device. You then have a waiting time in which this device is told and can cancel it, in
        case you did not ask for it. After that, the stolen key can do nothing.
      </p>
      {state === undefined ? null : state.enabled ? (
        <p data-testid="stolen-phone-status">
          On: any {state.threshold} of your {state.guardians.length} guardians, waiting time{' '}
          {seconds(BigInt(state.delay))}.
        </p>
      ) : (
        <p data-testid="stolen-phone-status">Off.</p>
      )}
      {pending === undefined ? null : (
        <div className="emergency-alert" role="alert">
          <p>
            <strong>{pending}</strong> If you did not ask for this, cancel it now and talk to your guardians.
          </p>
          <button
            type="button"
            className="danger"
            disabled={action.busy !== undefined}
            onClick={() =>
              void action.run('Cancelling the recovery…', async () =>
                setState(await cancelStolenPhoneRecovery(session)),
              )
            }
          >
            Cancel this recovery
          </button>
        </div>
      )}
      {state !== undefined && !state.enabled ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const delaySeconds = delay === 'custom' ? Number(custom) : Number(delay);
            void action.run(
              'Turning on stolen-phone protection (signed, recorded on the ledger)…',
              async () => setState(await enableStolenPhoneRecovery(session, { delaySeconds })),
            );
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-delay`}>Time you have to cancel a recovery</label>
            <select id={`${id}-delay`} value={delay} onChange={(e) => setDelay(e.target.value)}>
              {DELAYS.map((d) => (
                <option key={d.seconds} value={String(d.seconds)}>
                  {d.label}
                </option>
              ))}
              <option value="custom">Other (in seconds)</option>
            </select>
          </div>
          {delay === 'custom' ? (
            <div className="field">
              <label htmlFor={`${id}-custom`}>Seconds</label>
              <input
                id={`${id}-custom`}
                inputMode="numeric"
                value={custom}
                onChange={(e) => setCustom(e.target.value)}
              />
            </div>
          ) : null}
          <div className="actions">
            <button type="submit" disabled={action.busy !== undefined || !hasGuardians}>
              Turn on stolen-phone protection
            </button>
          </div>
          {hasGuardians ? null : <p className="muted">Choose your guardians first.</p>}
        </form>
      ) : null}
      <div className="actions">
        <button
          type="button"
          className="secondary"
          disabled={action.busy !== undefined}
          onClick={() => void load()}
        >
          Check again
        </button>
      </div>
      {action.view}
    </section>
  );
}

async function readFiles(list: FileList | null): Promise<{ name: string; text: string }[]> {
  return Promise.all([...(list ?? [])].map(async (f) => ({ name: f.name, text: await f.text() })));
}

/**
 * For a guardian (docs/recovery.md; UX 13): keep the piece a patient gave you, approve their new device's key after
 * a theft, and send your piece to their new device. Guardians help recover a key; they cannot read records.
 */
export function HelpAsGuardian({ session }: { session: Session }) {
  const id = useId();
  const [held, setHeld] = useState<HeldPiece[]>([]);
  const [keepFor, setKeepFor] = useState('');
  const [patient, setPatient] = useState('');
  const [newKey, setNewKey] = useState('');
  const [deviceKey, setDeviceKey] = useState('');
  const [done, setDone] = useState<string | undefined>(undefined);
  const action = useAction();
  useEffect(() => {
    void listHeldPieces(session).then(setHeld);
  }, [session]);
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Help someone who chose you as a guardian</h2>
      <p>
        You help them get their key back; you cannot read their records, and your piece alone reveals nothing.
        Before you approve or send anything, check that it is really them — in person or by phone.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const input = e.currentTarget.elements.namedItem('piece') as HTMLInputElement;
          setDone(undefined);
          void action.run('Checking the piece…', async () => {
            const [file] = await readFiles(input.files);
            if (file === undefined) throw new Error('choose the file they gave you');
            const piece = await keepPiece(session, { patient: keepFor, sealed: file.text, name: file.name });
            input.value = '';
            setHeld(await listHeldPieces(session));
            setDone(
              `Kept piece ${piece.index} of ${piece.total} for ${short(piece.patient)} (${piece.threshold} needed).`,
            );
          });
        }}
      >
        <h3>Keep a piece</h3>
        <div className="field">
          <label htmlFor={`${id}-keep-for`}>Whose piece (their address or DID)</label>
          <input
            id={`${id}-keep-for`}
            value={keepFor}
            onChange={(e) => setKeepFor(e.target.value)}
            spellCheck={false}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-piece`}>The file they gave you</label>
          <input id={`${id}-piece`} name="piece" type="file" />
        </div>
        <div className="actions">
          <button type="submit" disabled={action.busy !== undefined}>
            Keep this piece
          </button>
        </div>
      </form>
      {held.length === 0 ? (
        <p className="muted">You keep no pieces for anyone.</p>
      ) : (
        <ul aria-label="Pieces you keep">
          {held.map((h) => (
            <li key={h.patient}>
              Piece {h.index} of {h.total} for <span className="mono">{h.patient}</span> ({h.threshold}{' '}
              needed)
            </li>
          ))}
        </ul>
      )}
      <h3>Their device was lost or stolen</h3>
      <div className="field">
        <label htmlFor={`${id}-patient`}>Who (their address or DID)</label>
        <input
          id={`${id}-patient`}
          value={patient}
          onChange={(e) => setPatient(e.target.value)}
          spellCheck={false}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-new-key`}>Their new device's wallet key (0x…, after a theft)</label>
        <input
          id={`${id}-new-key`}
          value={newKey}
          onChange={(e) => setNewKey(e.target.value)}
          spellCheck={false}
        />
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={action.busy !== undefined}
          onClick={() => {
            setDone(undefined);
            void action.run('Approving their new key (signed, recorded on the ledger)…', async () => {
              const state = await approveNewKey(session, { patient, key: newKey });
              setDone(
                `Approved. ${describePending(state) ?? ''} Until the waiting time ends, their old device can cancel.`,
              );
            });
          }}
        >
          Approve their new key
        </button>
      </div>
      <div className="field">
        <label htmlFor={`${id}-device-key`}>Their new device's recovery key (age1…)</label>
        <input
          id={`${id}-device-key`}
          value={deviceKey}
          onChange={(e) => setDeviceKey(e.target.value)}
          spellCheck={false}
        />
      </div>
      <div className="actions">
        <button
          type="button"
          disabled={action.busy !== undefined}
          onClick={() => {
            setDone(undefined);
            void action.run('Sealing your piece to their new device…', async () => {
              const file = await releasePiece(session, { patient, to: deviceKey });
              downloadText(file);
              setDone(
                `Your piece for ${short(file.address)} is sealed to their new device: send them ${file.name}.`,
              );
            });
          }}
        >
          Make my piece for their new device
        </button>
      </div>
      {action.view}
      {done === undefined ? null : (
        <p className="notice" role="status">
          {done}
        </p>
      )}
    </section>
  );
}

/**
 * The new device while a recovery is under way: what to ask the guardians (this device's new key and its one-time
 * recovery key), the approvals so far, and the pieces they sent to finish.
 */
export function RecoveryUnderWay({
  stored,
  keys,
  onDone,
  logN,
}: {
  stored: StoredRecovering;
  keys: WalletKeys;
  onDone: (stored: StoredWallet, keys: WalletKeys) => void;
  logN?: number;
}) {
  const id = useId();
  const recovering = stored.recovering;
  const [state, setState] = useState<RecoveryStateBody | undefined>(undefined);
  const [files, setFiles] = useState<{ name: string; text: string }[]>([]);
  const action = useAction();
  const check = useCallback(
    () =>
      action.run('Checking your recovery…', async () => {
        if (recovering?.rotation)
          setState(await readRecovery(openSession(keys, { identity: recovering.identity })));
      }),
    [action.run, keys, recovering],
  );
  useEffect(() => {
    void check();
  }, [check]);
  useEffect(() => {
    // The guardians' approvals arrive while this page waits: read them again now and then, quietly.
    if (!recovering?.rotation) return;
    const session = openSession(keys, { identity: recovering.identity });
    const timer = setInterval(() => {
      void readRecovery(session).then(setState, () => {});
    }, 5000);
    return () => clearInterval(timer);
  }, [keys, recovering]);
  if (recovering === undefined) return null;
  const finish = (passphrase?: string) =>
    void action.run('Combining your guardians’ pieces…', async (progress) => {
      const result = await finishRecovery({
        stored,
        keys,
        files,
        ...(passphrase === undefined ? {} : { passphrase }),
        ...(logN === undefined ? {} : { logN }),
        onProgress: (text) => progress({ text }),
      });
      onDone(result.stored, result.keys);
    });
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Recovering {short(recovering.identity)} on this device</h2>
      <p>
        Ask your guardians to open their Carekey portal (Guardians, “Help someone who chose you as a
        guardian”) and:
      </p>
      <ol>
        {recovering.rotation ? (
          <li>
            approve this device's new wallet key:{' '}
            <span className="mono" data-testid="recovery-new-key">
              {keys.address}
            </span>
          </li>
        ) : null}
        <li>
          make their piece for this device's recovery key and send you the file:{' '}
          <span className="mono" data-testid="recovery-device-key">
            {recovering.deviceRecipient}
          </span>
        </li>
      </ol>
      <p className="muted">
        Your identity: <span className="mono">{recovering.identity}</span>.{' '}
        {recovering.rotation
          ? 'Stolen-phone protection is on: once enough guardians approve, a waiting time runs in which your old device can cancel; then your identity answers to this device and the stolen key is powerless.'
          : 'Stolen-phone protection is off: the pieces give your wallet itself back. If your old device may be in someone else’s hands, move your records to a new wallet afterwards.'}
      </p>
      {state === undefined ? null : (
        <p data-testid="recovery-progress">
          {describePending(state) ?? 'No guardian has approved this device’s key yet.'}
        </p>
      )}
      <div className="field">
        <label htmlFor={`${id}-files`}>The pieces your guardians sent</label>
        <input
          id={`${id}-files`}
          type="file"
          multiple
          onChange={(e) => void readFiles(e.target.files).then((f) => setFiles((old) => [...old, ...f]))}
        />
        <p className="hint">
          {files.length === 0 ? 'None yet.' : `${files.length} added: ${files.map((f) => f.name).join(', ')}`}
        </p>
      </div>
      {recovering.rotation ? (
        <div className="actions">
          <button type="button" disabled={action.busy !== undefined} onClick={() => finish()}>
            Finish recovery
          </button>
          <button
            type="button"
            className="secondary"
            disabled={action.busy !== undefined}
            onClick={() => void check()}
          >
            Check again
          </button>
        </div>
      ) : (
        <PassphraseForm
          disabled={action.busy !== undefined}
          submitLabel="Finish recovery"
          onSubmit={(p) => finish(p)}
        />
      )}
      {action.view}
    </section>
  );
}
