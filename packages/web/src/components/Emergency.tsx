import { useCallback, useEffect, useId, useMemo, useState } from 'react';
import type { PortalNotification } from '../lib/actions.ts';
import {
  buildEmergencySummary,
  type EmergencyPolicyName,
  type EmergencyState,
  readEmergency,
  setEmergencyPolicy,
  summarySections,
} from '../lib/emergency.ts';
import { plainError } from '../lib/errors.ts';
import type { PortalRecord } from '../lib/records.ts';
import type { Session } from '../lib/session.ts';
import { formatUntil } from '../lib/shareSummary.ts';
import { useAction } from './Status.tsx';

const CHOICES: { id: EmergencyPolicyName; label: string; text: string }[] = [
  {
    id: 'off',
    label: 'Off',
    text: 'Nobody can open your records without you. In an emergency, clinicians work without your history.',
  },
  {
    id: 'summary',
    label: 'Summary only',
    text: 'Your emergency summary: who you are, allergies, medications, problems, immunisations. Nothing else.',
  },
  {
    id: 'all',
    label: 'Everything',
    text: 'Your emergency summary and every record you hold now (records added later are covered the next time you save this choice).',
  },
];

/** A policy in a few words. */
export function policyLabel(policy: string): string {
  return CHOICES.find((c) => c.id === policy)?.label ?? policy;
}

/**
 * Emergency access (break-glass, docs/emergency.md; UX 10): chosen in advance, previewed, time-boxed and always
 * notified. The patient sees the policy on chain, chooses off / summary only / everything after a plain
 * explanation, previews what a clinician would see, and sees every break-glass use of their records.
 */
export function Emergency({
  session,
  records,
  notifications,
  onPublished,
}: {
  session: Session;
  records: readonly PortalRecord[];
  notifications: readonly PortalNotification[] | undefined;
  onPublished: (added: PortalRecord[]) => void;
}) {
  const id = useId();
  const [current, setCurrent] = useState<EmergencyState | undefined>(undefined);
  const [choice, setChoice] = useState<EmergencyPolicyName | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const action = useAction();
  const load = useCallback(
    () =>
      action.run('Reading your emergency choice…', async () => {
        const state = await readEmergency(session);
        setCurrent(state);
        setChoice((c) => c ?? state.state.policy);
      }),
    [action.run, session],
  );
  useEffect(() => {
    void load();
  }, [load]);

  const preview = useMemo(() => {
    if (choice === undefined || choice === 'off') return undefined;
    try {
      return { sections: summarySections(buildEmergencySummary(records, session.identity)) };
    } catch (error) {
      return { error: plainError(error) };
    }
  }, [choice, records, session.identity]);

  const policy = current?.state.policy;
  const hours = Math.round((current?.info.maxAccessSeconds ?? 86_400) / 3600);
  const uses = (notifications ?? []).filter((n) => n.kind === 'emergency-access');
  return (
    <>
      <section className="card" aria-labelledby={`${id}-title`}>
        <h2 id={`${id}-title`}>Emergency access (break-glass)</h2>
        <p>
          If you are brought to hospital unable to answer, a clinician can “break the glass”: open your
          emergency information without asking you. In Carekey that happens only if you allow it here, in
          advance, and only for a clinician whose professional credential the node verifies.
        </p>
        <ul>
          <li>Each use is for emergency treatment only and lasts at most {hours} hours.</li>
          <li>
            Each use is recorded on the ledger and in your access log, with the clinician's name, role,
            organisation and reason, and you (and your guardians) are told at once.
          </li>
          <li>
            What a clinician opened stays with them after the time limit: the limit stops new openings, not
            what was already seen.
          </li>
          <li>
            The node serving this portal keeps the emergency key that opens what you allow. Its operator could
            open it without a credential: choose Off if you do not trust them with a paper copy of it.
          </li>
        </ul>
        <p data-testid="emergency-policy">
          Now: <strong>{policy === undefined ? 'not read yet' : policyLabel(policy)}</strong>
          {current?.state.summary
            ? ` — summary last updated ${formatUntil(new Date(current.state.summary.updatedAt))}`
            : ''}
          {current && current.state.records > 0 ? `, and ${current.state.records} other records` : ''}
          {current && current.state.queued > 0 ? ' (a change is still being recorded on the ledger)' : ''}
        </p>
      </section>
      <form
        className="card"
        aria-labelledby={`${id}-choose`}
        onSubmit={(e) => {
          e.preventDefault();
          if (choice === undefined) return;
          setDone(undefined);
          void action.run('Saving your emergency choice…', async (progress) => {
            const result = await setEmergencyPolicy(session, {
              policy: choice,
              records,
              onProgress: (text) => progress({ text }),
            });
            if (result.summary) onPublished([result.summary]);
            setDone(
              result.policy === 'off'
                ? 'Emergency access is off: nobody can break the glass, and no emergency key is kept on the node.'
                : `Saved: ${policyLabel(result.policy)}. A credentialed clinician may open ${result.policy === 'all' ? `your summary and ${result.records} other records` : 'your emergency summary'} without you, for ${hours} hours at most; you are told each time.${result.queued ? ' The ledger records it in a moment.' : ''}`,
            );
            setCurrent(await readEmergency(session));
          });
        }}
      >
        <h2 id={`${id}-choose`}>Who may break the glass</h2>
        <fieldset>
          <legend>What a credentialed clinician may open in an emergency, without you</legend>
          {CHOICES.map((c) => (
            <div className="choice" key={c.id}>
              <input
                type="radio"
                id={`${id}-${c.id}`}
                name={`${id}-policy`}
                value={c.id}
                checked={choice === c.id}
                onChange={() => setChoice(c.id)}
                aria-describedby={`${id}-${c.id}-text`}
              />
              <label htmlFor={`${id}-${c.id}`}>{c.label}</label>
              <p className="muted" id={`${id}-${c.id}-text`}>
                {c.text}
              </p>
            </div>
          ))}
        </fieldset>
        {preview === undefined ? null : 'error' in preview ? (
          <p className="warning" role="note">
            {preview.error}
          </p>
        ) : (
          <section aria-labelledby={`${id}-preview`} className="preview">
            <h3 id={`${id}-preview`}>What a clinician sees</h3>
            {preview.sections.map((s) => (
              <div key={s.title}>
                <h4>{s.title}</h4>
                <ul>
                  {s.lines.map((line, i) => (
                    <li key={`${s.title}-${i.toString()}`}>{line}</li>
                  ))}
                </ul>
              </div>
            ))}
            {choice === 'all' ? (
              <p className="muted">…and every other record you hold ({records.length} in all).</p>
            ) : null}
          </section>
        )}
        <div className="actions">
          <button
            type="submit"
            disabled={
              action.busy !== undefined ||
              choice === undefined ||
              (preview !== undefined && 'error' in preview)
            }
          >
            Save my emergency choice
          </button>
        </div>
        {action.view}
        {done === undefined ? null : (
          <p className="notice" role="status">
            {done}
          </p>
        )}
      </form>
      <section className="card" aria-labelledby={`${id}-uses`}>
        <h2 id={`${id}-uses`}>Break-glass uses</h2>
        {notifications === undefined ? (
          <p className="muted">This node keeps no notifications.</p>
        ) : uses.length === 0 ? (
          <p>Nobody has broken the glass on your records.</p>
        ) : (
          <BreakGlassList notifications={uses} />
        )}
      </section>
    </>
  );
}

/** Break-glass uses, newest first: when, who (as the credential showed them, and who verified it), why, until when. */
export function BreakGlassList({ notifications }: { notifications: readonly PortalNotification[] }) {
  return (
    <ul className="break-glass">
      {[...notifications].reverse().map((n) => {
        const claims = n.clinicianClaims ?? {};
        const who = [claims.name, claims.role, claims.specialty, claims.organisation]
          .filter(Boolean)
          .join(', ');
        return (
          <li key={n.id} className="emergency">
            <strong>Emergency access</strong> on {formatUntil(new Date(n.at))}
            {n.role === 'guardian' ? (
              <>
                {' '}
                to the records of <span className="mono">{n.patient}</span> (you are their guardian)
              </>
            ) : null}
            : <span className="mono">{n.clinician}</span>
            {who === '' ? '' : ` (${who}`}
            {who === '' ? '' : n.issuerName ? `, verified by ${n.issuerName})` : ')'} opened{' '}
            {n.scope === 'all' ? 'everything allowed' : 'the emergency summary'}
            {n.reason ? ` — reason given: “${n.reason}”` : ''}
            {n.expiresAt ? `; access ends ${formatUntil(new Date(n.expiresAt))}.` : '.'}
          </li>
        );
      })}
    </ul>
  );
}
