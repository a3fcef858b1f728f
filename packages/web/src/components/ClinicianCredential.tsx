import { MAX_EMERGENCY_ACCESS_SECONDS } from '@carekey/sdk/emergency';
import { useCallback, useEffect, useId, useState } from 'react';
import { identityWords } from '../lib/actions.ts';
import {
  breakGlass,
  CLAIM_LABELS,
  CLINICIAN_CLAIMS,
  type ClinicianClaim,
  emergencyRefusalWords,
  forgetCredential,
  type HeldCredential,
  loadCredential,
  type OpenedEmergency,
  presentToNode,
  readCredential,
  saveCredential,
  type VerifiedIdentity,
} from '../lib/clinicianCredential.ts';
import { summarySections } from '../lib/emergency.ts';
import { endKeptAccess, type KeptAccess, listKeptAccesses, reopenAccess } from '../lib/emergencyAccesses.ts';
import { PortalError } from '../lib/errors.ts';
import { titleOf } from '../lib/fhirDisplay.ts';
import type { Session } from '../lib/session.ts';
import { formatUntil, timeLeft } from '../lib/shareSummary.ts';
import { useAction } from './Status.tsx';
import { short } from './Unlock.tsx';

/** The node's refusal in the portal's words when it has some (else the general words). */
function refusal(error: unknown): never {
  const words = emergencyRefusalWords(error);
  throw words === undefined ? error : new PortalError(words);
}

/** The clinician's credential, held for this session (and kept encrypted to their key in this browser). */
export function useHeldCredential(session: Session) {
  const [held, setHeld] = useState<HeldCredential | undefined>(undefined);
  const [disclose, setDisclose] = useState<ClinicianClaim[]>(['role', 'specialty', 'organisation']);
  useEffect(() => {
    void loadCredential(session)
      .then((found) => found !== undefined && setHeld(found))
      .catch(() => {});
  }, [session]);
  return { held, setHeld, disclose, setDisclose };
}

type Held = ReturnType<typeof useHeldCredential>;

/**
 * "My professional credential": load the SD-JWT credential a licensing board issued me, choose what to reveal, and
 * present it to the node (key-bound to my DID, for the node's fresh nonce). Patients then see who I verifiably am.
 */
export function MyCredential({ session, credential }: { session: Session; credential: Held }) {
  const id = useId();
  const { held, setHeld, disclose, setDisclose } = credential;
  const [text, setText] = useState('');
  const [shown, setShown] = useState<VerifiedIdentity | undefined>(undefined);
  const action = useAction();
  const load = (value: string) =>
    action.run('Reading your credential…', async () => {
      const { chainId } = await session.node.describe();
      const found = readCredential(value, { me: session.identity, chainId });
      await saveCredential(session, found);
      setHeld(found);
      setText('');
      setShown(undefined);
    });
  const present = () =>
    action.run('Presenting your credential to the node…', async () => {
      if (held === undefined) throw new PortalError('Load your credential first.');
      setShown(await presentToNode(session, held, disclose).catch(refusal));
    });
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>My professional credential</h2>
      <p className="muted">
        Your licensing board gives you a credential (a file). Presenting it proves to the node, and through it
        to patients, that you are a licensed clinician: you choose which of its details to reveal; the others
        stay hidden. It is signed with your wallet's key, for this node only, and kept in this browser
        encrypted to your key.
      </p>
      {held === undefined ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void load(text);
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-file`}>Credential file</label>
            <input
              id={`${id}-file`}
              type="file"
              accept=".sd-jwt,.txt,text/plain"
              disabled={action.busy !== undefined}
              onChange={(e) => {
                const file = e.target.files?.[0];
                e.target.value = '';
                if (file) void file.text().then(load);
              }}
            />
          </div>
          <div className="field">
            <label htmlFor={`${id}-paste`}>Or paste the credential</label>
            <textarea
              id={`${id}-paste`}
              rows={3}
              value={text}
              spellCheck={false}
              autoComplete="off"
              onChange={(e) => setText(e.target.value)}
            />
          </div>
          <button type="submit" disabled={action.busy !== undefined || text.trim() === ''}>
            Load this credential
          </button>
        </form>
      ) : (
        <>
          <p data-testid="held-credential">
            Credential from <strong>{held.issuerName}</strong>, valid until{' '}
            {formatUntil(new Date(held.expiresAt * 1000))}.
          </p>
          <fieldset>
            <legend>What patients see (the rest stays hidden)</legend>
            {CLINICIAN_CLAIMS.map((claim) => (
              <label key={claim} className="check">
                <input
                  type="checkbox"
                  checked={disclose.includes(claim)}
                  onChange={(e) =>
                    setDisclose((list) =>
                      e.target.checked
                        ? CLINICIAN_CLAIMS.filter((c) => c === claim || list.includes(c))
                        : list.filter((c) => c !== claim),
                    )
                  }
                />
                {CLAIM_LABELS[claim]}: {held.claims[claim] ?? '(not in this credential)'}
              </label>
            ))}
          </fieldset>
          <div className="actions">
            <button
              type="button"
              disabled={action.busy !== undefined || disclose.length === 0}
              onClick={() => void present()}
            >
              Present my credential
            </button>
            <button
              type="button"
              className="secondary"
              disabled={action.busy !== undefined}
              onClick={() =>
                void action.run('Removing the credential from this browser…', async () => {
                  await forgetCredential(session);
                  setHeld(undefined);
                  setShown(undefined);
                })
              }
            >
              Remove it from this browser
            </button>
          </div>
        </>
      )}
      {action.view}
      {shown === undefined ? null : (
        <p className="notice" role="status">
          The node verified your credential. Patients see you as: {identityWords(shown)}
        </p>
      )}
    </section>
  );
}

const DURATIONS = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 4 * 3600, label: '4 hours' },
  { seconds: MAX_EMERGENCY_ACCESS_SECONDS - 60, label: '24 hours (the most allowed)' },
];

/**
 * Break-glass (docs/emergency.md): a clinician with a valid credential opens a patient's emergency summary (or
 * everything the patient allows) without the patient, for purpose ETREAT and a limited time; the patient and their
 * guardians are told at once. What it opens is shown summary first, in IPS order.
 */
export function BreakGlass({ session, credential }: { session: Session; credential: Held }) {
  const id = useId();
  const [patient, setPatient] = useState('');
  const [reason, setReason] = useState('');
  const [everything, setEverything] = useState(false);
  const [seconds, setSeconds] = useState(DURATIONS[0]?.seconds ?? 3600);
  const [opened, setOpened] = useState<OpenedEmergency | undefined>(undefined);
  const [kept, setKept] = useState<KeptAccess[]>([]);
  const action = useAction();
  const reload = useCallback(
    () =>
      listKeptAccesses(session)
        .then(setKept)
        .catch(() => setKept([])),
    [session],
  );
  useEffect(() => void reload(), [reload]);
  const submit = () =>
    action.run('Breaking the glass: presenting your credential and signing…', async () => {
      setOpened(undefined);
      try {
        setOpened(
          await breakGlass(session, {
            patient,
            reason,
            everything,
            seconds,
            held: credential.held,
            disclose: credential.disclose,
          }).catch(refusal),
        );
      } finally {
        await reload();
      }
    });
  const reopen = (access: KeptAccess) =>
    action.run(`Re-opening the emergency access to ${short(access.patient)}…`, async () => {
      setOpened(undefined);
      try {
        setOpened(await reopenAccess(session, access.accessId));
      } catch (error) {
        if ((error as { code?: unknown }).code === 'access-expired')
          await endKeptAccess(session, access.accessId).catch(() => {});
        refusal(error);
      } finally {
        await reload();
      }
    });
  return (
    <section className="card emergency" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Emergency access (break-glass)</h2>
      <p>
        For an emergency when the patient cannot share with you. You open the emergency summary the patient
        chose to keep (or everything, if they allow it) for <strong>emergency treatment (ETREAT)</strong>{' '}
        only, for a limited time (24 hours at most).{' '}
        <strong>The patient and their guardians are notified at once</strong>, with who you are as your
        credential shows it and the reason you give; it is written in the patient's access log and on the
        ledger, and frequent use is reviewed.
      </p>
      <RunningAccesses kept={kept} busy={action.busy !== undefined} onReopen={(a) => void reopen(a)} />
      {credential.held === undefined ? (
        <p className="warning" role="note">
          You need your professional credential for this: load it above.
        </p>
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-patient`}>Patient in an emergency: address or DID</label>
          <input
            id={`${id}-patient`}
            value={patient}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => setPatient(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-reason`}>Why you need it now (the patient reads this)</label>
          <input
            id={`${id}-reason`}
            value={reason}
            maxLength={500}
            onChange={(e) => setReason(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-time`}>Access for</label>
          <select id={`${id}-time`} value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
            {DURATIONS.map((d) => (
              <option key={d.seconds} value={d.seconds}>
                {d.label}
              </option>
            ))}
          </select>
        </div>
        <label className="check">
          <input type="checkbox" checked={everything} onChange={(e) => setEverything(e.target.checked)} />
          Everything the patient allows (not only the summary)
        </label>
        <div className="actions">
          <button
            type="submit"
            className="danger"
            disabled={action.busy !== undefined || patient.trim() === '' || reason.trim() === ''}
          >
            Break the glass
          </button>
        </div>
      </form>
      {action.view}
      {opened === undefined ? null : <OpenedSummary opened={opened} />}
    </section>
  );
}

/**
 * The break-glass accesses I opened from this browser: each running one with its patient and time left, re-opened
 * in one action (the summary decrypted here again); an ended one says so plainly and cannot be re-opened.
 */
export function RunningAccesses({
  kept,
  busy,
  onReopen,
}: {
  kept: readonly KeptAccess[];
  busy: boolean;
  onReopen: (access: KeptAccess) => void;
}) {
  const id = useId();
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 15_000);
    return () => clearInterval(timer);
  }, []);
  if (kept.length === 0) return null;
  return (
    <section aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>Your emergency accesses</h3>
      <ul className="compact" data-testid="emergency-accesses">
        {kept.map((a) => {
          const end = Date.parse(a.expiresAt);
          const what = a.scope === 'all' ? 'everything the patient allows' : 'emergency summary';
          return (
            <li key={a.accessId}>
              Patient <span className="mono">{short(a.patient)}</span> ({what}):{' '}
              {end > now ? (
                <>
                  {timeLeft(end, now)} (until {formatUntil(new Date(end))}).{' '}
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy}
                    aria-label={`Re-open the emergency access to ${short(a.patient)}`}
                    onClick={() => onReopen(a)}
                  >
                    Re-open
                  </button>
                </>
              ) : (
                <strong>
                  expired on {formatUntil(new Date(end))}: it can no longer be re-opened. Break the glass
                  again if you still need it.
                </strong>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** What a break-glass opened: until when, the summary's sections (the patient first), then any other records. */
export function OpenedSummary({ opened }: { opened: OpenedEmergency }) {
  const sections = opened.summary === undefined ? [] : summarySections(opened.summary);
  return (
    <section aria-label="Emergency summary" className="patient">
      <p className="notice" role="status">
        Emergency access to patient <span className="mono">{short(opened.access.patient)}</span> until{' '}
        {formatUntil(new Date(opened.access.expiresAt))}: logged, on the ledger, and the patient is notified.
      </p>
      {opened.summary === undefined ? <p>The node released no summary.</p> : null}
      {sections.map((s) => (
        <section key={s.title} aria-label={s.title}>
          <h3>{s.title}</h3>
          <ul className="compact">
            {s.lines.map((line, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: lines of one section, in order, may repeat
              <li key={i}>{line}</li>
            ))}
          </ul>
        </section>
      ))}
      {opened.records.length === 0 ? null : (
        <section aria-label="Other records">
          <h3>Other records ({opened.records.length})</h3>
          <ul className="compact">
            {opened.records.map((r, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: released records, in the node's order
              <li key={i}>{titleOf(r)}</li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
