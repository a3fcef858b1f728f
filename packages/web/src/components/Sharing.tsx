import { parseIdentityRef } from '@carekey/sdk/identity';
import { useId, useMemo, useState } from 'react';
import type { Hex } from 'viem';
import {
  type AccessRequest,
  type AuditEntry,
  categoryOf,
  type Grant,
  identityWords,
  recordsInScope,
  type ShareScope,
  type VerifiedIdentity,
} from '../lib/actions.ts';
import { plainError } from '../lib/errors.ts';
import { kindOf } from '../lib/fhirDisplay.ts';
import type { PortalRecord } from '../lib/records.ts';
import {
  EXPIRIES,
  formatUntil,
  PRESETS,
  PURPOSES,
  purposeLabel,
  shareSentence,
  timeLeft,
} from '../lib/shareSummary.ts';
import { QrInput } from './Qr.tsx';
import { short } from './Unlock.tsx';

export type ShareRequest = {
  with: string;
  scope: ShareScope;
  kinds: string[] | undefined;
  purpose: string;
  seconds: number;
};

/** The share form: presets, what (kinds or everything), who, purpose, finite expiry, and the plain sentence. */
export function ShareForm({
  records,
  busy,
  onShare,
  initialRecipient = '',
}: {
  records: readonly PortalRecord[];
  busy: boolean;
  onShare: (request: ShareRequest) => void;
  initialRecipient?: string;
}) {
  const id = useId();
  const kinds = useMemo(
    () =>
      [
        ...new Set(
          records.filter((r) => r.state === 'active' && r.resource).map((r) => kindOf(r.resource as never)),
        ),
      ].sort(),
    [records],
  );
  const [recipient, setRecipient] = useState(initialRecipient);
  const [everything, setEverything] = useState(false);
  const [chosen, setChosen] = useState<string[]>([]);
  const [purpose, setPurpose] = useState('');
  const [seconds, setSeconds] = useState(0);
  const [problem, setProblem] = useState<string | undefined>(undefined);

  const categoriesOf = (wanted: readonly string[]) => {
    const set = new Set(wanted);
    return [
      ...new Set(
        records
          .filter((r) => r.resource !== undefined && set.has(kindOf(r.resource)))
          .map((r) => categoryOf(r.resource as NonNullable<PortalRecord['resource']>)),
      ),
    ];
  };
  const scope: ShareScope = everything
    ? { kind: 'all' }
    : { kind: 'categories', categories: categoriesOf(chosen) };
  const count = recordsInScope(records, scope).length;
  const ready = recipient.trim() !== '' && purpose !== '' && seconds > 0 && (everything || chosen.length > 0);
  const expiresAt = new Date(Date.now() + (seconds || 0) * 1000);

  return (
    <form
      aria-labelledby={`${id}-title`}
      onSubmit={(e) => {
        e.preventDefault();
        try {
          parseIdentityRef(recipient);
        } catch (error) {
          setProblem(plainError(error));
          return;
        }
        if (!ready) {
          setProblem('Say who, what, why and until when before sharing.');
          return;
        }
        setProblem(undefined);
        onShare({ with: recipient.trim(), scope, kinds: everything ? undefined : chosen, purpose, seconds });
      }}
    >
      <h2 id={`${id}-title`}>Share my records</h2>
      <fieldset>
        <legend>Start from a preset</legend>
        <div className="actions">
          {PRESETS.map((p) => (
            <button
              key={p.id}
              type="button"
              className="secondary"
              onClick={() => {
                setEverything(p.kinds === undefined);
                setChosen(p.kinds?.filter((k) => kinds.includes(k)) ?? []);
                setSeconds(p.seconds);
                setPurpose(p.purpose);
              }}
            >
              {p.label}
            </button>
          ))}
        </div>
      </fieldset>
      <div className="field">
        <label htmlFor={`${id}-who`}>Doctor's address or DID</label>
        <input
          id={`${id}-who`}
          value={recipient}
          autoComplete="off"
          spellCheck={false}
          placeholder="0x… or did:ethr:…"
          onChange={(e) => setRecipient(e.target.value)}
        />
      </div>
      <QrInput disabled={busy} onAddress={setRecipient} />
      <fieldset>
        <legend>What they can open</legend>
        <label className="check">
          <input type="checkbox" checked={everything} onChange={(e) => setEverything(e.target.checked)} />
          Everything, including records added before the share ends
        </label>
        {everything
          ? null
          : kinds.map((k) => (
              <label className="check" key={k}>
                <input
                  type="checkbox"
                  checked={chosen.includes(k)}
                  onChange={(e) =>
                    setChosen(e.target.checked ? [...chosen, k] : chosen.filter((c) => c !== k))
                  }
                />
                {k}
              </label>
            ))}
      </fieldset>
      <div className="field">
        <label htmlFor={`${id}-purpose`}>Purpose</label>
        <select id={`${id}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value)}>
          <option value="">Choose a purpose</option>
          {PURPOSES.map((p) => (
            <option key={p.code} value={p.code}>
              {p.label}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${id}-expiry`}>Access ends after</label>
        <select id={`${id}-expiry`} value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
          <option value={0}>Choose when access ends</option>
          {EXPIRIES.map((x) => (
            <option key={x.seconds} value={x.seconds}>
              {x.label}
            </option>
          ))}
        </select>
      </div>
      <p className="summary" aria-live="polite" data-testid="share-summary">
        {ready
          ? shareSentence({
              recipient,
              kinds: everything ? undefined : chosen,
              recordCount: count,
              purpose,
              expiresAt,
            })
          : 'Choose who, what, a purpose and when access ends; a summary of what they will see appears here.'}
      </p>
      {problem === undefined ? null : (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
      <div className="actions">
        <button type="submit" disabled={busy}>
          Share
        </button>
      </div>
    </form>
  );
}

/** "Who has access now": active shares with time left, whether they opened anything, and one-click revoke. */
export function WhoHasAccess({
  grants,
  audit,
  me,
  busy,
  onRevoke,
  identities,
}: {
  grants: readonly Grant[];
  audit: readonly AuditEntry[];
  me: string;
  busy: boolean;
  onRevoke: (grant: Grant) => void;
  /** Who each recipient verifiably is (by lower-case address), once read from the node. */
  identities?: ReadonlyMap<string, VerifiedIdentity | null>;
}) {
  const given = grants.filter((g) => g.patient.toLowerCase() === me.toLowerCase());
  const active = given.filter((g) => g.state === 'active' || g.state === 'pending');
  const ended = given.filter((g) => !(g.state === 'active' || g.state === 'pending'));
  const opened = (g: Grant) =>
    audit.filter(
      (e) =>
        e.grantId?.toLowerCase() === g.grantId.toLowerCase() &&
        e.action === 'release' &&
        e.outcome === 'allowed',
    );
  return (
    <section aria-labelledby="access-now">
      <h2 id="access-now">Who has access now</h2>
      {active.length === 0 ? <p>Nobody: you have no active shares.</p> : null}
      <ul className="grants">
        {active.map((g) => {
          const reads = opened(g);
          return (
            <li key={g.grantId} className="card">
              <p>
                <strong className="mono">{short(g.grantee)}</strong> for {purposeLabel(g.purposeText)} —{' '}
                {g.state === 'pending' ? 'waiting for the ledger' : timeLeft(Number(g.expiresAt) * 1000)}{' '}
                (until {formatUntil(new Date(Number(g.expiresAt) * 1000))})
              </p>
              <IdentityLine identities={identities} address={g.grantee} />
              <p className="muted">
                {reads.length === 0
                  ? 'They have not opened anything yet.'
                  : `They opened records ${reads.length} time${reads.length === 1 ? '' : 's'}, last on ${formatUntil(new Date(reads.at(-1)?.at ?? ''))}.`}
              </p>
              <button type="button" className="danger" disabled={busy} onClick={() => onRevoke(g)}>
                Revoke access for {short(g.grantee)}
              </button>
            </li>
          );
        })}
      </ul>
      {ended.length === 0 ? null : (
        <details>
          <summary>Ended shares ({ended.length})</summary>
          <ul>
            {ended.map((g) => (
              <li key={g.grantId}>
                <span className="mono">{short(g.grantee)}</span> — {g.state}, {purposeLabel(g.purposeText)}
              </li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

/** Who a recipient or requester verifiably is (their presented credential, re-checked by the node). */
function IdentityLine({
  identities,
  address,
}: {
  identities: ReadonlyMap<string, VerifiedIdentity | null> | undefined;
  address: string;
}) {
  const found = identities?.get(address.toLowerCase());
  if (found === undefined) return null;
  return (
    <p className={found?.verified ? 'verified' : 'unverified'} data-testid="verified-identity">
      {identityWords(found)}
    </p>
  );
}

/** The honest words shown before a revoke is confirmed. */
export function revokeWords(grantee: string, now = new Date()): string {
  const at = now.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  return `${short(grantee)} will not be able to open anything more under this share, from now on. Anything they opened before ${at} may remain with them: a revoke cannot take back copies already made.`;
}

/** Access requests from providers: approve (opens the share form for them) or deny. */
export function Requests({
  requests,
  me,
  busy,
  onApprove,
  onDeny,
  identities,
}: {
  identities?: ReadonlyMap<string, VerifiedIdentity | null>;
  requests: readonly AccessRequest[] | undefined;
  me: string;
  busy: boolean;
  onApprove: (request: AccessRequest) => void;
  onDeny: (requestId: Hex) => void;
}) {
  if (requests === undefined) return null;
  const open = requests.filter(
    (r) => r.patient.toLowerCase() === me.toLowerCase() && r.status === 'pending' && r.requestId !== null,
  );
  return (
    <section aria-labelledby="requests-title">
      <h2 id="requests-title">Access requests</h2>
      {open.length === 0 ? <p>No one is asking for access.</p> : null}
      <ul className="grants">
        {open.map((r) => (
          <li key={r.requestId} className="card">
            <p>
              <strong className="mono">{short(r.requester)}</strong> asks to see your records for{' '}
              {purposeLabel(r.purposeText)}
              {r.expiresAt ? `, until ${formatUntil(new Date(Number(r.expiresAt) * 1000))}` : ''}.
            </p>
            <IdentityLine identities={identities} address={r.requester} />
            <div className="actions">
              <button type="button" disabled={busy} onClick={() => onApprove(r)}>
                Approve request from {short(r.requester)}
              </button>
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => onDeny(r.requestId as Hex)}
              >
                Deny request from {short(r.requester)}
              </button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
