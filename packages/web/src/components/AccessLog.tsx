import { useId, useState } from 'react';
import { type AuditEntry, type Grant, identityWords, type VerifiedIdentity } from '../lib/actions.ts';
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

/** "Who looked at my data": the access log, filterable by who and what happened; emergency entries stand out. */
export function AccessLog({
  entries,
  grants,
  me,
  names,
  identities,
}: {
  entries: readonly AuditEntry[];
  grants: readonly Grant[];
  me: string;
  /** Titles of my records by id, to say what was opened. */
  names: ReadonlyMap<string, string>;
  /** Who each actor verifiably is (by lower-case address), once read from the node. */
  identities?: ReadonlyMap<string, VerifiedIdentity | null>;
}) {
  const id = useId();
  const [actor, setActor] = useState('others');
  const [action, setAction] = useState('');
  const actors = [...new Set(entries.map((e) => e.actor.toLowerCase()))];
  const shown = entries
    .filter((e) =>
      actor === 'others'
        ? e.actor.toLowerCase() !== me.toLowerCase()
        : actor === '' || e.actor.toLowerCase() === actor,
    )
    .filter((e) => action === '' || e.action === action)
    .slice()
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
          {shown.map((e) => {
            const who = describeActor(e.actor, me, grants);
            const grant = grants.find((g) => g.grantId.toLowerCase() === e.grantId?.toLowerCase());
            const emergency = grant?.purposeText === 'ETREAT' || e.action === 'break_glass';
            const verified =
              e.actor.toLowerCase() === me.toLowerCase()
                ? ''
                : identityWords(identities?.get(e.actor.toLowerCase()));
            const titles = e.recordIds.map((r) => names.get(r.toLowerCase()) ?? 'a record').slice(0, 3);
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
