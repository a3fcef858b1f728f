import type { WalletKeys } from '@carekey/sdk/wallet';
import { useId, useMemo, useState } from 'react';
import {
  generateMnemonic,
  pickCheckPositions,
  type SaveWalletParameters,
  type StoredWallet,
  saveWallet,
} from '../lib/wallet.ts';
import { useAction } from './Status.tsx';

export type WalletSetupProps = {
  onReady: (stored: StoredWallet, keys: WalletKeys) => void;
  /** Tests only: a weaker scrypt work factor. */
  logN?: number;
  /** Start on the restore form. */
  restore?: boolean;
};

type Step = 'choose' | 'explain' | 'reveal' | 'verify' | 'passphrase' | 'restore' | 'recover';

/** Create (explain, reveal the 24 words, check three of them, set a passphrase) or restore a wallet. */
export function WalletSetup({ onReady, logN, restore }: WalletSetupProps) {
  const [step, setStep] = useState<Step>(restore ? 'restore' : 'choose');
  const [mnemonic, setMnemonic] = useState('');
  const [verified, setVerified] = useState(false);
  const action = useAction();

  const save = (parameters: Omit<SaveWalletParameters, 'logN'>) =>
    action.run('Locking your wallet with your passphrase…', async () => {
      const { stored, keys } = await saveWallet({ ...parameters, ...(logN === undefined ? {} : { logN }) });
      onReady(stored, keys);
    });

  return (
    <section className="card setup" aria-labelledby="setup-title">
      {step === 'choose' ? (
        <>
          <h2 id="setup-title">Set up your Carekey wallet</h2>
          <p>
            Your wallet holds the keys to your medical records. It stays in this browser, locked with a
            passphrase; the node only ever sees encrypted data.
          </p>
          <div className="actions">
            <button type="button" onClick={() => setStep('explain')}>
              Create a new wallet
            </button>
            <button type="button" className="secondary" onClick={() => setStep('restore')}>
              Restore from recovery phrase
            </button>
            <button type="button" className="secondary" onClick={() => setStep('recover')}>
              Lost your device? Recover with your guardians
            </button>
          </div>
        </>
      ) : null}
      {step === 'explain' ? (
        <>
          <h2 id="setup-title">Before you see your recovery phrase</h2>
          <ul>
            <li>Next you will see 24 words: your recovery phrase.</li>
            <li>Write them on paper, in order, and keep the paper safe. Do not take a screenshot.</li>
            <li>
              They are the only way to get your records back if you lose this device or forget your
              passphrase.
            </li>
            <li>Anyone who has these words can read your records. Carekey staff will never ask for them.</li>
          </ul>
          <div className="actions">
            <button
              type="button"
              onClick={() => {
                setMnemonic(generateMnemonic());
                setStep('reveal');
              }}
            >
              Show my recovery phrase
            </button>
            <button type="button" className="secondary" onClick={() => setStep('choose')}>
              Back
            </button>
          </div>
        </>
      ) : null}
      {step === 'reveal' ? <Reveal mnemonic={mnemonic} onNext={() => setStep('verify')} /> : null}
      {step === 'verify' ? (
        <VerifyWords
          mnemonic={mnemonic}
          onVerified={() => {
            setVerified(true);
            setStep('passphrase');
          }}
          onSkip={() => {
            setVerified(false);
            setStep('passphrase');
          }}
          onBack={() => setStep('reveal')}
        />
      ) : null}
      {step === 'passphrase' ? (
        <>
          <h2 id="setup-title">Choose a passphrase for this device</h2>
          <p>
            It locks the wallet in this browser. A sentence you can remember is best; a password manager works
            too.
          </p>
          {verified ? null : (
            <p className="warning">
              You skipped the backup check. Carekey will keep reminding you until your recovery phrase is
              checked.
            </p>
          )}
          <PassphraseForm
            disabled={action.busy !== undefined}
            submitLabel="Create wallet"
            onSubmit={(passphrase) => save({ mnemonic, passphrase, backupVerified: verified })}
          />
          {action.view}
        </>
      ) : null}
      {step === 'restore' ? (
        <RestoreForm
          disabled={action.busy !== undefined}
          onSubmit={(phrase, passphrase) => save({ mnemonic: phrase, passphrase, backupVerified: true })}
          onBack={() => setStep('choose')}
          status={action.view}
        />
      ) : null}
      {step === 'recover' ? (
        <RecoverForm
          disabled={action.busy !== undefined}
          onSubmit={(identity, passphrase) =>
            action.run('Making this device’s new keys…', async () => {
              const { startRecovery } = await import('../lib/recovery.ts');
              const { createNodeClient } = await import('@carekey/sdk/client');
              const { nodeUrl } = await import('../lib/session.ts');
              const { stored, keys } = await startRecovery({
                node: createNodeClient({ url: nodeUrl() }),
                identity,
                passphrase,
                ...(logN === undefined ? {} : { logN }),
              });
              onReady(stored, keys);
            })
          }
          onBack={() => setStep('choose')}
          status={action.view}
        />
      ) : null}
    </section>
  );
}

function Reveal({ mnemonic, onNext }: { mnemonic: string; onNext: () => void }) {
  const [written, setWritten] = useState(false);
  const words = mnemonic.split(' ');
  return (
    <>
      <h2 id="setup-title">Your recovery phrase</h2>
      <p>Write these 24 words down in order.</p>
      <ol className="words" aria-label="Recovery phrase">
        {words.map((word, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a word's position is its identity
          <li key={i}>{word}</li>
        ))}
      </ol>
      <label className="check">
        <input type="checkbox" checked={written} onChange={(e) => setWritten(e.target.checked)} />I have
        written down all 24 words
      </label>
      <div className="actions">
        <button type="button" disabled={!written} onClick={onNext}>
          Continue
        </button>
      </div>
    </>
  );
}

/** Asks back three words of the phrase; wrong answers say which position is wrong. */
export function VerifyWords({
  mnemonic,
  onVerified,
  onSkip,
  onBack,
  positions: given,
}: {
  mnemonic: string;
  onVerified: () => void;
  onSkip?: () => void;
  onBack?: () => void;
  positions?: number[];
}) {
  const words = mnemonic.split(' ');
  const positions = useMemo(() => given ?? pickCheckPositions(3, words.length), [given, words.length]);
  const [answers, setAnswers] = useState<string[]>(() => positions.map(() => ''));
  const [wrong, setWrong] = useState<number[] | undefined>(undefined);
  const id = useId();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const bad = positions.filter((p, i) => (answers[i] ?? '').trim().toLowerCase() !== words[p]);
        if (bad.length === 0) onVerified();
        else setWrong(bad);
      }}
    >
      <h2 id="setup-title">Check your backup</h2>
      <p>Type these words from the paper you wrote on.</p>
      {positions.map((p, i) => (
        <div className="field" key={p}>
          <label htmlFor={`${id}-${p}`}>Word #{p + 1}</label>
          <input
            id={`${id}-${p}`}
            autoComplete="off"
            autoCapitalize="none"
            spellCheck={false}
            value={answers[i]}
            onChange={(e) => setAnswers(answers.map((a, j) => (j === i ? e.target.value : a)))}
            aria-invalid={wrong?.includes(p) ?? false}
          />
        </div>
      ))}
      {wrong === undefined ? null : (
        <p className="error" role="alert">
          {wrong.length === 1 ? 'Word' : 'Words'} {wrong.map((p) => `#${p + 1}`).join(', ')}{' '}
          {wrong.length === 1 ? 'does' : 'do'} not match. Look at your paper again.
        </p>
      )}
      <div className="actions">
        <button type="submit">Check words</button>
        {onBack ? (
          <button type="button" className="secondary" onClick={onBack}>
            Show the words again
          </button>
        ) : null}
        {onSkip ? (
          <button type="button" className="secondary" onClick={onSkip}>
            Skip for now
          </button>
        ) : null}
      </div>
    </form>
  );
}

/** New passphrase, typed twice; paste and password managers work. */
export function PassphraseForm({
  onSubmit,
  submitLabel,
  disabled,
}: {
  onSubmit: (passphrase: string) => void;
  submitLabel: string;
  disabled: boolean;
}) {
  const [first, setFirst] = useState('');
  const [second, setSecond] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const id = useId();
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        if (first.length < 8) setProblem('The passphrase needs at least 8 characters.');
        else if (first !== second) setProblem('The two passphrases are not the same.');
        else {
          setProblem(undefined);
          onSubmit(first);
        }
      }}
    >
      <div className="field">
        <label htmlFor={`${id}-p1`}>New passphrase</label>
        <input
          id={`${id}-p1`}
          type="password"
          autoComplete="new-password"
          value={first}
          onChange={(e) => setFirst(e.target.value)}
        />
      </div>
      <div className="field">
        <label htmlFor={`${id}-p2`}>Repeat passphrase</label>
        <input
          id={`${id}-p2`}
          type="password"
          autoComplete="new-password"
          value={second}
          onChange={(e) => setSecond(e.target.value)}
        />
      </div>
      {problem === undefined ? null : (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={disabled}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}

function RestoreForm({
  onSubmit,
  onBack,
  disabled,
  status,
}: {
  onSubmit: (phrase: string, passphrase: string) => void;
  onBack: () => void;
  disabled: boolean;
  status: React.ReactNode;
}) {
  const [phrase, setPhrase] = useState('');
  const id = useId();
  return (
    <>
      <h2 id="setup-title">Restore your wallet</h2>
      <div className="field">
        <label htmlFor={`${id}-phrase`}>Recovery phrase</label>
        <textarea
          id={`${id}-phrase`}
          rows={4}
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          value={phrase}
          onChange={(e) => setPhrase(e.target.value)}
          aria-describedby={`${id}-hint`}
        />
        <p id={`${id}-hint`} className="hint">
          The 12 or 24 words you wrote down, separated by spaces.
        </p>
      </div>
      <PassphraseForm
        disabled={disabled}
        submitLabel="Restore wallet"
        onSubmit={(p) => onSubmit(phrase, p)}
      />
      {status}
      <div className="actions">
        <button type="button" className="secondary" onClick={onBack}>
          Back
        </button>
      </div>
    </>
  );
}

/** The first step of a recovery with guardians on a new device: whose identity, and a passphrase for this device. */
function RecoverForm({
  onSubmit,
  onBack,
  disabled,
  status,
}: {
  onSubmit: (identity: string, passphrase: string) => void;
  onBack: () => void;
  disabled: boolean;
  status: React.ReactNode;
}) {
  const [identity, setIdentity] = useState('');
  const id = useId();
  return (
    <>
      <h2 id="setup-title">Recover with your guardians</h2>
      <p>
        Lost your device, or had it stolen, and have no recovery phrase at hand? The guardians you chose can
        help. This device makes new keys; you then ask your guardians for their pieces.
      </p>
      <div className="field">
        <label htmlFor={`${id}-identity`}>Your Carekey address or DID</label>
        <input
          id={`${id}-identity`}
          autoComplete="off"
          spellCheck={false}
          value={identity}
          onChange={(e) => setIdentity(e.target.value)}
          placeholder="0x… or did:ethr:…"
        />
      </div>
      <PassphraseForm
        disabled={disabled}
        submitLabel="Start recovery"
        onSubmit={(p) => onSubmit(identity, p)}
      />
      {status}
      <div className="actions">
        <button type="button" className="secondary" onClick={onBack}>
          Back
        </button>
      </div>
    </>
  );
}
