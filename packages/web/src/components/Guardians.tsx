import { MAX_GUARDIANS } from '@carekey/sdk/recovery';
import { useEffect, useId, useState } from 'react';
import {
  type GuardianSet,
  loadGuardianSet,
  majority,
  makeGuardianShares,
  type SealedShareFile,
} from '../lib/guardians.ts';
import type { Session } from '../lib/session.ts';
import { revealMnemonic, type StoredWallet } from '../lib/wallet.ts';
import { HelpAsGuardian, StolenPhoneProtection } from './Recovery.tsx';
import { useAction } from './Status.tsx';
import { short } from './Unlock.tsx';

/** Shown on the home screen until guardians are set up (or "Later"): UX 12-13, after the recovery-phrase moment. */
export function GuardianPrompt({ onSetUp, onLater }: { onSetUp: () => void; onLater: () => void }) {
  return (
    <section className="card prompt" aria-labelledby="guardian-prompt-title">
      <h2 id="guardian-prompt-title">Choose guardians for your wallet</h2>
      <p>
        If you lose this device <em>and</em> your recovery phrase, people you trust can help you get your
        wallet back: any two of three, for example. They cannot read your records.
      </p>
      <div className="actions">
        <button type="button" onClick={onSetUp}>
          Set up guardians
        </button>
        <button type="button" className="secondary" onClick={onLater}>
          Later
        </button>
      </div>
    </section>
  );
}

function download(file: SealedShareFile): void {
  const url = URL.createObjectURL(new Blob([file.text], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Guardians (social recovery, docs/recovery.md): the recovery phrase split k of n with `@carekey/sdk/recovery`,
 * each share sealed to a guardian's published key, in the CLI's format; the files to give each guardian.
 */
export function Guardians({
  session,
  stored,
  onMade,
}: {
  session: Session;
  stored: StoredWallet;
  onMade?: () => void;
}) {
  const id = useId();
  const [current, setCurrent] = useState<GuardianSet | undefined>(undefined);
  const [people, setPeople] = useState<string[]>(['', '', '']);
  const [threshold, setThreshold] = useState(2);
  const [passphrase, setPassphrase] = useState('');
  const [files, setFiles] = useState<SealedShareFile[] | undefined>(undefined);
  const action = useAction();
  const me = session.identity;
  useEffect(() => {
    void loadGuardianSet(me).then(setCurrent);
  }, [me]);
  const named = people.filter((p) => p.trim() !== '').length;
  const n = Math.max(named, 2);

  return (
    <>
      <section className="card" aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Guardians</h2>
        <p>
          Guardians are people you trust who each keep one piece of your recovery phrase. If you lose this
          device and your recovery phrase, a majority of them together can help you get your wallet back on a
          new device. Fewer than that learn nothing, and none of them can read your records.
        </p>
        <p className="muted">
          Each guardian needs a Carekey wallet of their own (they give you its address or QR code). You give
          each of them a file; they keep it with <span className="mono">carekey guardian keep</span>.
        </p>
        {current === undefined ? (
          <p>You have no guardians yet.</p>
        ) : (
          <div data-testid="guardian-set">
            <p>
              Any <strong>{current.threshold}</strong> of your <strong>{current.guardians.length}</strong>{' '}
              guardians can help you recover (set up {new Date(current.createdAt).toLocaleDateString('en-GB')}
              , generation {current.epoch}):
            </p>
            <ul>
              {current.guardians.map((g) => (
                <li key={g.address}>
                  <span className="mono">{g.address}</span> holds piece {g.index}
                </li>
              ))}
            </ul>
            {current.anchored ? (
              <p>
                Anchored in your stolen-phone protection: these guardians are the ones who can approve a new
                key and are notified, and pieces of any older generation are refused from now on.
              </p>
            ) : null}
          </div>
        )}
      </section>
      <form
        className="card"
        aria-labelledby={`${id}-form`}
        onSubmit={(e) => {
          e.preventDefault();
          setFiles(undefined);
          void action.run('Checking your guardians…', async (progress) => {
            const made = await makeGuardianShares(session, {
              guardians: people,
              threshold,
              revealMnemonic: async () => {
                progress({ text: 'Opening your recovery phrase…' });
                const mnemonic = await revealMnemonic(stored, passphrase);
                progress({ text: 'Sealing one piece for each guardian…' });
                return mnemonic;
              },
            });
            setPassphrase('');
            setCurrent(made.set);
            setFiles(made.files);
            onMade?.();
          });
        }}
      >
        <h2 id={`${id}-form`}>{current === undefined ? 'Set up guardians' : 'Choose new guardians'}</h2>
        {current === undefined ? null : (
          <p className="muted">
            New pieces replace the old ones: pieces of generation {current.epoch} stop counting for a recovery
            made with the new set; ask your guardians to delete them.
          </p>
        )}
        <fieldset>
          <legend>Your guardians (addresses or DIDs)</legend>
          {people.map((value, i) => (
            <div className="field guardian-row" key={`guardian-${i.toString()}`}>
              <label htmlFor={`${id}-g${i}`}>Guardian {i + 1}</label>
              <input
                id={`${id}-g${i}`}
                value={value}
                autoComplete="off"
                spellCheck={false}
                placeholder="0x… or did:ethr:…"
                onChange={(e) => setPeople(people.map((p, j) => (j === i ? e.target.value : p)))}
              />
              {people.length > 2 ? (
                <button
                  type="button"
                  className="link"
                  onClick={() => setPeople(people.filter((_, j) => j !== i))}
                >
                  Remove guardian {i + 1}
                </button>
              ) : null}
            </div>
          ))}
          <button
            type="button"
            className="secondary"
            disabled={people.length >= MAX_GUARDIANS}
            onClick={() => setPeople([...people, ''])}
          >
            Add a guardian
          </button>
        </fieldset>
        <div className="field">
          <label htmlFor={`${id}-k`}>How many of them must help</label>
          <select id={`${id}-k`} value={threshold} onChange={(e) => setThreshold(Number(e.target.value))}>
            {Array.from({ length: n - 1 }, (_, i) => i + 2).map((k) => (
              <option key={k} value={k}>
                {k} of {n}
                {k === majority(n) ? ' (a majority, recommended)' : ''}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-pass`}>Your passphrase (to open your recovery phrase here)</label>
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
            Make the guardian pieces
          </button>
        </div>
        {action.view}
      </form>
      {files === undefined ? null : (
        <section className="card" aria-labelledby={`${id}-files`}>
          <h2 id={`${id}-files`}>Give each guardian their file</h2>
          <p role="status">
            Made {files.length} pieces: any {current?.threshold} of your {files.length} guardians can help you
            recover. Each file opens only with that guardian's own key.
          </p>
          <ul>
            {files.map((f) => (
              <li key={f.address}>
                <button type="button" className="secondary" onClick={() => download(f)}>
                  Download the piece for {short(f.address)}
                </button>{' '}
                <span className="mono">{f.name}</span>
              </li>
            ))}
          </ul>
          <p className="muted">
            They keep it with{' '}
            <span className="mono">
              carekey guardian keep {'<file>'} --for {me}
            </span>
            .
          </p>
        </section>
      )}
      <StolenPhoneProtection session={session} hasGuardians={current !== undefined} />
      <HelpAsGuardian session={session} />
    </>
  );
}
