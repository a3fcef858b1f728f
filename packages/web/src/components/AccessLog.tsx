import { useId, useState } from 'react';
import {
  type AuditEntry,
  type Grant,
  identityWords,
  type PortalNotification,
  type VerifiedIdentity,
} from '../lib/actions.ts';
import { formatUntil, purposeLabel } from '../lib/shareSummary.ts';
import { short } from './Unlock.tsx';

const ACTIONS: Record<string, string> = {
  release: 'opened',
  refusal: 'was refused',
  grant: 'share created',
  revoke: 'share revoked',
  shred_request: 'forget requested',
  shred_cancel: 'forget cancelled',
  shred: 'forgotten',
  publish: 'records added',
  break_glass: 'broke the glass (emergency access)',
};

/** Why the node allowed or refused, as it logs it (a reason code), in words for the patient. */
const REASONS: Record<string, string> = {
  emergency: 'allowed; you and your guardians were notified',
  'emergency:flagged': 'allowed, and listed for review (frequent emergency use)',
  'emergency:reread': 'the emergency summary read again while the access lasted',
  'policy-off': 'refused: your emergency policy is off',
  'scope-not-allowed': 'refused: you allow your emergency summary only',
  'no-credential': 'refused: no professional credential presented',
  'emergency-rate-limited': 'refused: too many emergency accesses (listed for review)',
  'no-emergency-record': 'refused: no emergency summary kept',
  'wrong-purpose': 'refused: not for emergency treatment',
  replayed: 'refused: a request used before',
  'no-grant': 'refused: no share covers it',
  'wrong-grantee': 'refused: the share is for someone else',
  revoked: 'refused: the share was revoked',
  expired: 'refused: the share had expired',
  unconfirmed: 'refused: the share was not on the ledger yet',
  'not-owner': 'refused: not your key',
};

export function reasonWords(reason: string): string {
  const known = REASONS[reason];
  if (known !== undefined) return known;
  const credential = /^credential[:-](.+)$/u.exec(reason)?.[1];
  if (credential !== undefined)
    return `refused: their credential did not hold (${credential.replaceAll('-', ' ')})`;
  return reason;
}

/** Who an actor is, as far as this person knows: themselves, someone they shared with, or the system. */
export function describeActor(
  actor: string,
  me: string,
  grants: readonly Grant[],
): { who: string; role: string; person: boolean } {
  if (actor.toLowerCase() === me.toLowerCase())
    return { who: 'You', role: 'patient (this wallet)', person: true };
  const grant = grants.find((g) => g.grantee.toLowerCase() === actor.toLowerCase());
  if (grant !== undefined)
    return {
      who: short(actor),
      role: `recipient of your share for ${purposeLabel(grant.purposeText)}`,
      person: true,
    };
  return { who: short(actor), role: 'a provider or an automated system', person: false };
}

/**
 * The reason a clinician gave for the break-glass an allowed `break_glass` row is part of, from my notification
 * feed (the log row holds only the node's code; the reason is kept with the access, T-16): the opening and its
 * notification are written in one transaction, at the same instant, and a re-reading falls within that access's
 * time; of that clinician's accesses to my records, the latest to start by then. `undefined` when none matches.
 */
export function breakGlassReason(
  entry: AuditEntry,
  notifications: readonly PortalNotification[],
  me: string,
): string | undefined {
  if (entry.action !== 'break_glass' || entry.outcome !== 'allowed') return undefined;
  const at = Date.parse(entry.at);
  let best: PortalNotification | undefined;
  for (const n of notifications) {
    if (
      n.kind !== 'emergency-access' ||
      n.reason === undefined ||
      n.patient.toLowerCase() !== me.toLowerCase() ||
      n.clinician?.toLowerCase() !== entry.actor.toLowerCase()
    )
      continue;
    const start = Date.parse(n.at);
    const end = Date.parse(n.expiresAt ?? n.at);
    // A second's slack each way for the two clocks' rounding (both are the node's, in ms).
    if (start > at + 1000 || at > end + 1000) continue;
    if (best === undefined || start > Date.parse(best.at)) best = n;
  }
  return best?.reason;
}

/**
 * "Who looked at my data": the access log, filterable by who and what happened and by any words in an entry (who,
 * what, why, which records); emergency entries stand out, with the reason the clinician gave.
 */
export function AccessLog({
  entries,
  grants,
  me,
  names,
  identities,
  notifications,
}: {
  entries: readonly AuditEntry[];
  grants: readonly Grant[];
  me: string;
  /** Titles of my records by id, to say what was opened. */
  names: ReadonlyMap<string, string>;
  /** Who each actor verifiably is (by lower-case address), once read from the node. */
  identities?: ReadonlyMap<string, VerifiedIdentity | null>;
  /** My notification feed, to give each break-glass the reason its clinician gave. */
  notifications?: readonly PortalNotification[] | undefined;
}) {
  const id = useId();
  const [actor, setActor] = useState('others');
  const [action, setAction] = useState('');
  const [words, setWords] = useState('');
  const actors = [...new Set(entries.map((e) => e.actor.toLowerCase()))];
  const needle = words.trim().toLowerCase();
  const shown = entries
    .filter((e) =>
      actor === 'others'
        ? e.actor.toLowerCase() !== me.toLowerCase()
        : actor === '' || e.actor.toLowerCase() === actor,
    )
    .filter((e) => action === '' || e.action === action)
    .map((e) => {
      const who = describeActor(e.actor, me, grants);
      const grant = grants.find((g) => g.grantId.toLowerCase() === e.grantId?.toLowerCase());
      const verified =
        e.actor.toLowerCase() === me.toLowerCase()
          ? ''
          : identityWords(identities?.get(e.actor.toLowerCase()));
      const titles = e.recordIds.map((r) => names.get(r.toLowerCase()) ?? 'a record');
      const why = breakGlassReason(e, notifications ?? [], me);
      const text = [
        e.actor,
        who.who,
        who.role,
        verified,
        ACTIONS[e.action] ?? e.action,
        e.reason === null ? '' : reasonWords(e.reason),
        why ?? '',
        grant === undefined ? '' : purposeLabel(grant.purposeText),
        ...titles,
      ]
        .join('\n')
        .toLowerCase();
      return { e, who, grant, verified, titles: titles.slice(0, 3), why, text };
    })
    .filter((row) => needle === '' || row.text.includes(needle))
    .reverse();
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Who looked at my data</h2>
      <div className="filters">
        <div className="field">
          <label htmlFor={`${id}-who`}>Who</label>
          <select id={`${id}-who`} value={actor} onChange={(e) => setActor(e.target.value)}>
            <option value="others">Everyone but me</option>
            <option value="">Everyone, including me</option>
            {actors.map((a) => (
              <option key={a} value={a}>
                {describeActor(a, me, grants).who}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-what`}>What happened</label>
          <select id={`${id}-what`} value={action} onChange={(e) => setAction(e.target.value)}>
            <option value="">Anything</option>
            {Object.entries(ACTIONS).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-words`}>Containing (a name, a reason, a record…)</label>
          <input
            id={`${id}-words`}
            type="search"
            value={words}
            autoComplete="off"
            onChange={(e) => setWords(e.target.value)}
          />
        </div>
      </div>
      {shown.length === 0 ? <p>Nothing in the log for this filter.</p> : null}
      <table className="log">
        <caption className="sr-only">Access log, newest first</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Who</th>
            <th scope="col">What</th>
            <th scope="col">Records</th>
            <th scope="col">Under</th>
          </tr>
        </thead>
        <tbody>
          {shown.map(({ e, who, grant, verified, titles, why }) => {
            const emergency = grant?.purposeText === 'ETREAT' || e.action === 'break_glass';
            return (
              <tr key={e.id} className={emergency ? 'emergency' : e.outcome === 'denied' ? 'refused' : ''}>
                <td>{formatUntil(new Date(e.at))}</td>
                <td>
                  <span className="mono">{who.who}</span>
                  <br />
                  <span className="muted">{who.role}</span>
                  {verified === '' ? null : (
                    <>
                      <br />
                      <span className={verified.startsWith('Unverified') ? 'unverified' : 'verified'}>
                        {verified}
                      </span>
                    </>
                  )}
                </td>
                <td>
                  {emergency ? <strong>Emergency: </strong> : null}
                  {ACTIONS[e.action] ?? e.action}
                  {e.outcome === 'denied' && e.action !== 'refusal' ? ' (refused)' : ''}
                  {e.reason ? <span className="muted"> — {reasonWords(e.reason)}</span> : null}
                  {why === undefined ? null : (
                    <>
                      <br />
                      <span data-testid="break-glass-reason">Their reason: “{why}”</span>
                    </>
                  )}
                </td>
                <td>
                  {e.recordIds.length} record{e.recordIds.length === 1 ? '' : 's'}
                  {titles.length > 0 ? (
                    <span className="muted">
                      : {titles.join(', ')}
                      {e.recordIds.length > 3 ? '…' : ''}
                    </span>
                  ) : null}
                </td>
                <td>
                  {grant
                    ? `share for ${purposeLabel(grant.purposeText)}`
                    : e.grantId && !/^0x0+$/u.test(e.grantId)
                      ? 'a share'
                      : '—'}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
