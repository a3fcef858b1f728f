import type { WalletKeys } from '@carekey/sdk/wallet';
import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Hex } from 'viem';
import {
  type AccessRequest,
  type AuditEntry,
  deny,
  exportBundle,
  forget,
  type Grant,
  listGrants,
  listRequests,
  type PortalNotification,
  readAudit,
  readNotifications,
  readVerifiedIdentities,
  revoke,
  share,
  type VerifiedIdentity,
} from '../lib/actions.ts';
import { SourceIndex, titleOf } from '../lib/fhirDisplay.ts';
import { deferGuardianPrompt, guardianPromptDeferred, loadGuardianSet } from '../lib/guardians.ts';
import { idbGet, idbSet } from '../lib/idb.ts';
import { isEmergencySummary, type PortalRecord, syncRecords } from '../lib/records.ts';
import { readRecovery } from '../lib/recovery.ts';
import { openSession, type Session } from '../lib/session.ts';
import { formatUntil, purposeLabel } from '../lib/shareSummary.ts';
import { markBackupVerified, revealMnemonic, type StoredWallet } from '../lib/wallet.ts';
import { AccessLog, describeActor } from './AccessLog.tsx';
import { ErrorBoundary } from './ErrorBoundary.tsx';
import { GuardianPrompt, Guardians } from './Guardians.tsx';
import { NoticeItem } from './Notices.tsx';
import { LatestLabs, Timeline, toTimeline } from './Records.tsx';
import { describePending } from './Recovery.tsx';
import { useFileSaver } from './SaveFile.tsx';
import { Requests, revokeWords, ShareForm, type ShareRequest, WhoHasAccess } from './Sharing.tsx';
import { ErrorNote, useAction } from './Status.tsx';
import { short } from './Unlock.tsx';
import { VerifyWords } from './WalletSetup.tsx';

const Clinician = lazy(() => import('./Clinician.tsx').then((m) => ({ default: m.Clinician })));
const Emergency = lazy(() => import('./Emergency.tsx').then((m) => ({ default: m.Emergency })));

/** Performance mark set once the records of a sync are on screen (packages/web/e2e/performance.spec.ts). */
export const RECORDS_SHOWN_MARK = 'carekey:records-shown';

type View =
  | 'home'
  | 'records'
  | 'labs'
  | 'sharing'
  | 'log'
  | 'emergency'
  | 'guardians'
  | 'patients'
  | 'settings';
const VIEWS: { id: View; label: string }[] = [
  { id: 'home', label: 'Home' },
  { id: 'records', label: 'Records' },
  { id: 'labs', label: 'Lab results' },
  { id: 'sharing', label: 'Sharing' },
  { id: 'log', label: 'Access log' },
  { id: 'emergency', label: 'Emergency access' },
  { id: 'guardians', label: 'Guardians' },
  { id: 'patients', label: 'Patients (clinician)' },
  { id: 'settings', label: 'Wallet' },
];

type Confirm = { title: string; text: string; label: string; act: () => Promise<void> };

export function Portal({
  keys,
  stored,
  onLock,
  onStored,
  session: given,
}: {
  keys: WalletKeys;
  stored: StoredWallet;
  onLock: () => void;
  onStored: (stored: StoredWallet) => void;
  session?: Session;
}) {
  const session = useMemo(
    () => given ?? openSession(keys, { identity: stored.identity }),
    [given, keys, stored.identity],
  );
  // The identity I act for: my wallet's address, or the one a stolen-phone recovery moved to this key.
  const me = session.identity;
  const [view, setView] = useState<View>('home');
  const [records, setRecords] = useState<PortalRecord[]>([]);
  const [grants, setGrants] = useState<Grant[]>([]);
  const [audit, setAudit] = useState<AuditEntry[]>([]);
  const [requests, setRequests] = useState<AccessRequest[] | undefined>(undefined);
  const [notifications, setNotifications] = useState<PortalNotification[] | undefined>(undefined);
  const [recoveryAlert, setRecoveryAlert] = useState<string | undefined>(undefined);
  const [identities, setIdentities] = useState<Map<string, VerifiedIdentity | null> | undefined>(undefined);
  const [lastVisit, setLastVisit] = useState<string | undefined>(undefined);
  const [keyStatus, setKeyStatus] = useState<string>('Checking that others can share with you…');
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [confirm, setConfirm] = useState<Confirm | undefined>(undefined);
  const [approving, setApproving] = useState<AccessRequest | undefined>(undefined);
  const [syncCount, setSyncCount] = useState(0);
  const [guardianPrompt, setGuardianPrompt] = useState(false);
  const action = useAction();
  const started = useRef(false);

  const refreshShares = useCallback(async () => {
    const [g, a, r, n, recovery] = await Promise.all([
      listGrants(session),
      readAudit(session),
      listRequests(session),
      readNotifications(session),
      readRecovery(session).catch(() => undefined),
    ]);
    setGrants(g);
    setAudit(a);
    setRequests(r);
    setNotifications(n);
    setRecoveryAlert(recovery === undefined ? undefined : describePending(recovery));
  }, [session]);

  const refreshAll = useCallback(
    () =>
      action.run('Getting your records…', async (progress) => {
        const synced = await syncRecords(session, (done, total, text) => progress({ text, done, total }));
        setRecords(synced);
        setSyncCount((n) => n + 1);
        progress({ text: 'Reading shares and the access log…' });
        await refreshShares();
      }),
    [action.run, session, refreshShares],
  );

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const key = `seen:${me.toLowerCase()}`;
    void Promise.all([loadGuardianSet(me), guardianPromptDeferred(me)]).then(([set, later]) =>
      setGuardianPrompt(set === undefined && !later),
    );
    void idbGet<string>(key).then((seen) => {
      setLastVisit(seen);
      void idbSet(key, new Date().toISOString());
    });
    void (async () => {
      try {
        const did = await session.node.getDid(me).catch(() => undefined);
        if (did?.recipient !== keys.recipient) {
          setKeyStatus('Publishing your encryption key so others can share with you…');
          await session.node.publishEncryptionKey({ recipient: keys.recipient });
          // Relayed through the node's outbox: wait until the ledger shows it.
          for (let i = 0; i < 60; i++) {
            const now = await session.node.getDid(me).catch(() => undefined);
            if (now?.recipient === keys.recipient) break;
            await new Promise((r) => setTimeout(r, 500));
          }
        }
        setKeyStatus('Your encryption key is published: others can share records with you.');
      } catch (error) {
        setKeyStatus(
          `Your encryption key is not published yet, so nobody can share with you. ${String((error as Error).message ?? '')}`,
        );
      }
    })();
    void refreshAll();
  }, [me, keys.recipient, session, refreshAll]);

  const sources = useMemo(
    () =>
      new SourceIndex(
        records.flatMap((r) => (r.resource ? [r.resource] : [])),
        { me },
      ),
    [records, me],
  );
  const items = useMemo(() => toTimeline(records, sources), [records, sources]);
  useEffect(() => {
    // After the commit that shows the synced records (a public count, nothing else): the browser test's timer.
    if (syncCount > 0) performance.mark(RECORDS_SHOWN_MARK, { detail: { records: records.length } });
  }, [syncCount, records.length]);
  const names = useMemo(
    () =>
      new Map(
        records.map((r) => [
          r.recordId.toLowerCase(),
          r.resource
            ? isEmergencySummary(r.resource)
              ? 'your emergency summary'
              : titleOf(r.resource)
            : 'a forgotten record',
        ]),
      ),
    [records],
  );

  const onImport = (file: File) =>
    action.run(`Reading ${file.name}…`, async (progress) => {
      const { importAnyFile } = await import('../lib/fileImport.ts');
      const added = await importAnyFile(session, file, (done, total, text) =>
        progress({ text, done, total }),
      );
      setRecords((current) => [...current, ...added]);
      setNotice(`Imported ${added.length} records from ${file.name}.`);
      await refreshShares();
    });

  const onShare = (request: ShareRequest) =>
    action.run('Sharing: wrapping keys for the recipient and signing…', async () => {
      const result = await share(session, {
        records,
        with: request.with,
        scope: request.scope,
        purpose: request.purpose,
        lifetimeSeconds: request.seconds,
        ...(approving?.requestId ? { requestId: approving.requestId } : {}),
      });
      setApproving(undefined);
      setNotice(
        `Shared ${result.recordCount} records with ${short(result.grantee)} for ${purposeLabel(request.purpose)} until ${formatUntil(result.expiresAt)}.`,
      );
      for (let i = 0; i < 20; i++) {
        await refreshShares();
        const { grants: latest } = await session.node.listGrants();
        if (
          latest.some((g) => g.grantee.toLowerCase() === result.grantee.toLowerCase() && g.state === 'active')
        )
          break;
        await new Promise((r) => setTimeout(r, 500));
      }
      await refreshShares();
    });

  const onRevoke = (grant: Grant) =>
    setConfirm({
      title: `Revoke access for ${short(grant.grantee)}?`,
      text: revokeWords(grant.grantee),
      label: 'Revoke now',
      act: async () => {
        const at = await revoke(session, grant.grantId);
        setNotice(
          `Revoked at ${at.toLocaleTimeString('en-GB')}: ${short(grant.grantee)} can open nothing more under this share.`,
        );
        await refreshShares();
      },
    });

  const onForget = (record: PortalRecord) =>
    setConfirm({
      title: `Forget “${record.resource ? titleOf(record.resource) : 'this record'}”?`,
      text:
        'Forgetting destroys the keys of this record, here and on the node: nobody can open it again through Carekey, you included, and shares stop covering it at once. ' +
        'What is NOT removed: the copy kept by the institution that created it, and any copy someone already opened or downloaded. The encrypted bytes stay on the node, unreadable. This cannot be undone.',
      label: 'Forget this record',
      act: async () => {
        const state = await forget(session, record.recordId);
        setRecords((current) =>
          current.flatMap((r) =>
            r.recordId !== record.recordId ? [r] : state === 'shredded' ? [] : [{ ...r, state }],
          ),
        );
        setNotice(
          state === 'shredded'
            ? 'Forgotten: its keys are destroyed.'
            : 'Being forgotten: nobody can open it any more; its keys are destroyed when the waiting period ends.',
        );
        await refreshShares();
      },
    });

  const files = useFileSaver(session, records);

  // One function for the whole session, so the memoised timeline and its cards are not rebuilt on every render.
  const forgetLatest = useRef(onForget);
  forgetLatest.current = onForget;
  const onForgetStable = useCallback((record: PortalRecord) => forgetLatest.current(record), []);

  const onExport = () =>
    action.run('Preparing your export…', async () => {
      const text = exportBundle(records, audit, me);
      const url = URL.createObjectURL(new Blob([text], { type: 'application/fhir+json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `carekey-export-${new Date().toISOString().slice(0, 10)}.json`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      setNotice(
        `Exported ${records.filter((r) => r.resource).length} records and ${audit.length} access-log entries (decrypted: keep the file safe).`,
      );
    });

  const busy = action.busy !== undefined;

  // Who each actor of the log verifiably is, read when the log is shown (the node re-checks each credential).
  // On Sharing, who each recipient and requester is (UX 6).
  useEffect(() => {
    if (view !== 'log' && view !== 'sharing') return;
    const people =
      view === 'log'
        ? audit.map((e) => e.actor)
        : [...grants.map((g) => g.grantee), ...(requests ?? []).map((r) => r.requester)];
    const actors = [...new Set(people.map((a) => a.toLowerCase()))].filter((a) => a !== me.toLowerCase());
    void readVerifiedIdentities(session, actors).then(setIdentities);
  }, [view, audit, grants, requests, me, session]);

  return (
    <div className="portal">
      <header className="topbar">
        <span className="brand">Carekey</span>
        <span className="muted">
          My address:{' '}
          <span className="mono" data-testid="my-address">
            {me}
          </span>
        </span>
        <button type="button" className="secondary" onClick={onLock}>
          Lock
        </button>
      </header>
      <nav aria-label="Portal">
        <ul>
          {VIEWS.map((v) => (
            <li key={v.id}>
              <button
                type="button"
                className="tab"
                aria-current={view === v.id ? 'page' : undefined}
                onClick={() => setView(v.id)}
              >
                {v.label}
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        {stored.backupVerified ? null : (
          <p className="warning" role="note">
            Your recovery phrase backup is not checked yet.{' '}
            <button type="button" className="link" onClick={() => setView('settings')}>
              Check it now
            </button>
          </p>
        )}
        {action.view}
        {notice === undefined ? null : (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {confirm === undefined ? null : (
          <section
            className="card confirm"
            role="dialog"
            aria-labelledby="confirm-title"
            aria-describedby="confirm-text"
          >
            <h2 id="confirm-title">{confirm.title}</h2>
            <p id="confirm-text">{confirm.text}</p>
            <div className="actions">
              <button
                type="button"
                className="danger"
                disabled={busy}
                onClick={() => {
                  const c = confirm;
                  setConfirm(undefined);
                  void action.run(`${c.label}…`, c.act);
                }}
              >
                {confirm.label}
              </button>
              <button type="button" className="secondary" onClick={() => setConfirm(undefined)}>
                Cancel
              </button>
            </div>
          </section>
        )}
        {view === 'home' && guardianPrompt ? (
          <GuardianPrompt
            onSetUp={() => setView('guardians')}
            onLater={() => {
              setGuardianPrompt(false);
              void deferGuardianPrompt(me);
            }}
          />
        ) : null}
        {view === 'guardians' ? (
          <Guardians session={session} stored={stored} onMade={() => setGuardianPrompt(false)} />
        ) : null}
        {view === 'home' ? (
          <Home
            items={items}
            records={records}
            audit={audit}
            grants={grants}
            me={me}
            lastVisit={lastVisit}
            keyStatus={keyStatus}
            onImport={onImport}
            busy={busy}
            notifications={notifications}
            onEmergency={() => setView('emergency')}
            recoveryAlert={recoveryAlert}
            onRecovery={() => setView('guardians')}
          />
        ) : null}
        {view === 'records' ? (
          <>
            <ImportFile onImport={onImport} busy={busy} />
            {files.view}
            <Timeline items={items} onForget={onForgetStable} onSaveFile={files.onSaveFile} />
          </>
        ) : null}
        {view === 'labs' ? <LatestLabs items={items} /> : null}
        {view === 'sharing' ? (
          <>
            {approving ? (
              <p className="notice">
                Approving the request of <span className="mono">{short(approving.requester)}</span>: choose
                what they may see.
              </p>
            ) : null}
            <ShareForm
              key={approving?.requestId ?? 'new'}
              records={records}
              busy={busy}
              onShare={(r) => void onShare(r)}
              initialRecipient={approving?.requester ?? ''}
            />
            <WhoHasAccess
              grants={grants}
              audit={audit}
              me={me}
              busy={busy}
              onRevoke={onRevoke}
              {...(identities ? { identities } : {})}
            />
            <Requests
              {...(identities ? { identities } : {})}
              requests={requests}
              me={me}
              busy={busy}
              onApprove={(r) => setApproving(r)}
              onDeny={(id: Hex) =>
                void action.run('Denying…', async () => {
                  await deny(session, id);
                  setNotice('Request denied.');
                  await refreshShares();
                })
              }
            />
            <button
              type="button"
              className="secondary"
              disabled={busy}
              onClick={() => void action.run('Refreshing…', refreshShares)}
            >
              Refresh shares
            </button>
          </>
        ) : null}
        {view === 'log' ? (
          <>
            <AccessLog
              entries={audit}
              grants={grants}
              me={me}
              names={names}
              notifications={notifications}
              {...(identities ? { identities } : {})}
            />
            <div className="actions">
              <button
                type="button"
                className="secondary"
                disabled={busy}
                onClick={() => void action.run('Refreshing the log…', refreshShares)}
              >
                Refresh the log
              </button>
            </div>
          </>
        ) : null}
        {view === 'emergency' ? (
          <ErrorBoundary>
            <Suspense fallback={<p role="status">Loading…</p>}>
              <Emergency
                session={session}
                records={records}
                notifications={notifications}
                onPublished={(added) => setRecords((current) => [...current, ...added])}
              />
            </Suspense>
          </ErrorBoundary>
        ) : null}
        {view === 'patients' ? (
          <ErrorBoundary>
            <Suspense fallback={<p role="status">Loading…</p>}>
              <Clinician session={session} />
            </Suspense>
          </ErrorBoundary>
        ) : null}
        {view === 'settings' ? (
          <Settings
            stored={stored}
            onStored={onStored}
            onExport={() => void onExport()}
            busy={busy}
            keyStatus={keyStatus}
            me={me}
          />
        ) : null}
      </main>
    </div>
  );
}

function ImportFile({ onImport, busy }: { onImport: (file: File) => void; busy: boolean }) {
  return (
    <div className="field import">
      <label htmlFor="import-file">
        Import a FHIR file, a DICOM image or a PDF (for example a Synthea patient bundle or a scan)
      </label>
      <input
        id="import-file"
        type="file"
        accept=".json,application/json,application/fhir+json,.dcm,.dicom,application/dicom,.pdf,application/pdf"
        disabled={busy}
        onChange={(e) => {
          const file = e.target.files?.[0];
          e.target.value = '';
          if (file) onImport(file);
        }}
      />
    </div>
  );
}

/** One screen: what's new, who looked, what is shared (UX 1). */
function Home({
  items,
  records,
  audit,
  grants,
  me,
  lastVisit,
  keyStatus,
  onImport,
  busy,
  notifications,
  onEmergency,
  recoveryAlert,
  onRecovery,
}: {
  items: ReturnType<typeof toTimeline>;
  records: readonly PortalRecord[];
  audit: readonly AuditEntry[];
  grants: readonly Grant[];
  me: string;
  lastVisit: string | undefined;
  keyStatus: string;
  onImport: (file: File) => void;
  busy: boolean;
  notifications: readonly PortalNotification[] | undefined;
  onEmergency: () => void;
  recoveryAlert: string | undefined;
  onRecovery: () => void;
}) {
  const since = lastVisit ?? '';
  const breakGlass = (notifications ?? []).filter((n) => n.kind === 'emergency-access');
  const freshBreakGlass = breakGlass.filter((n) => n.at > since);
  const other = (notifications ?? []).filter((n) => n.kind !== 'emergency-access' && n.at > since);
  const fresh = items.filter((i) => i.record.addedAt > since);
  const byInstitution = new Map<string, number>();
  for (const i of fresh) byInstitution.set(i.institution, (byInstitution.get(i.institution) ?? 0) + 1);
  const looked = audit.filter(
    (e) =>
      e.actor.toLowerCase() !== me.toLowerCase() &&
      (e.action === 'release' || e.action === 'refusal') &&
      e.at > since,
  );
  const active = grants.filter((g) => g.patient.toLowerCase() === me.toLowerCase() && g.state === 'active');
  return (
    <>
      <section aria-labelledby="notes-title" className="card">
        <h2 id="notes-title">Notifications</h2>
        {recoveryAlert === undefined ? null : (
          <div className="emergency-alert" role="alert">
            <p>
              <strong>{recoveryAlert}</strong> If you did not ask for it, cancel it now.
            </p>
            <button type="button" className="link" onClick={onRecovery}>
              Review it in Guardians
            </button>
          </div>
        )}
        {freshBreakGlass.length > 0 ? (
          <div className="emergency-alert" role="alert">
            <p>
              <strong>
                Someone broke the glass: {freshBreakGlass.length} emergency access
                {freshBreakGlass.length === 1 ? '' : 'es'} to your records
                {lastVisit ? ' since your last visit' : ''}.
              </strong>
            </p>
            <ul>
              {freshBreakGlass
                .slice(-5)
                .reverse()
                .map((n) => (
                  <li key={n.id}>
                    {formatUntil(new Date(n.at))}: <span className="mono">{short(n.clinician ?? '')}</span>
                    {n.clinicianClaims?.organisation ? ` (${n.clinicianClaims.organisation})` : ''}
                    {n.role === 'guardian' ? ` on ${short(n.patient)}, whom you guard` : ''}
                    {n.reason ? `: “${n.reason}”` : ''}
                  </li>
                ))}
            </ul>
            <button type="button" className="link" onClick={onEmergency}>
              See every emergency access
            </button>
          </div>
        ) : null}
        <ul>
          <li>
            {fresh.length === 0
              ? 'No new records for you'
              : `${fresh.length} new record${fresh.length === 1 ? '' : 's'} for you`}
            {lastVisit ? ' since your last visit' : ''}.
          </li>
          <li>
            {looked.length === 0
              ? 'Nobody used a share of your records'
              : `Your records were opened or asked for ${looked.length} time${looked.length === 1 ? '' : 's'}`}
            {lastVisit ? ' since your last visit' : ''}.
          </li>
          <li>
            {breakGlass.length === 0
              ? 'Nobody has broken the glass on your records.'
              : `${breakGlass.length} emergency access${breakGlass.length === 1 ? '' : 'es'} in all.`}
          </li>
          {other.map((n) => (
            <NoticeItem key={n.id} notice={n} onRecovery={onRecovery} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="new-title" className="card">
        <h2 id="new-title">What's new{lastVisit ? ` since ${formatUntil(new Date(lastVisit))}` : ''}</h2>
        {fresh.length === 0 ? <p>No new records.</p> : null}
        <ul>
          {[...byInstitution].map(([inst, n]) => (
            <li key={inst}>
              {n} new record{n === 1 ? '' : 's'} from {inst}
            </li>
          ))}
        </ul>
        <p className="muted">
          {records.length} records in all. {keyStatus}
        </p>
        <ImportFile onImport={onImport} busy={busy} />
      </section>
      <section aria-labelledby="looked-title" className="card">
        <h2 id="looked-title">Who looked</h2>
        {looked.length === 0 ? (
          <p>Nobody opened your records{lastVisit ? ' since your last visit' : ''}.</p>
        ) : null}
        <ul>
          {looked
            .slice(-10)
            .reverse()
            .map((e) => {
              const who = describeActor(e.actor, me, grants);
              return (
                <li key={e.id}>
                  {formatUntil(new Date(e.at))}: <span className="mono">{who.who}</span> (
                  {who.person ? 'a person' : 'a system'}, {who.role}){' '}
                  {e.action === 'release'
                    ? `opened ${e.recordIds.length} record${e.recordIds.length === 1 ? '' : 's'}`
                    : 'was refused'}
                </li>
              );
            })}
        </ul>
      </section>
      <section aria-labelledby="shared-title" className="card">
        <h2 id="shared-title">What is shared</h2>
        {active.length === 0 ? <p>Nothing is shared right now.</p> : null}
        <ul>
          {active.map((g) => (
            <li key={g.grantId}>
              <span className="mono">{short(g.grantee)}</span> for {purposeLabel(g.purposeText)}, until{' '}
              {formatUntil(new Date(Number(g.expiresAt) * 1000))}
            </li>
          ))}
        </ul>
      </section>
    </>
  );
}

function Settings({
  stored,
  onStored,
  onExport,
  busy,
  keyStatus,
  me,
}: {
  stored: StoredWallet;
  onStored: (s: StoredWallet) => void;
  onExport: () => void;
  busy: boolean;
  keyStatus: string;
  me: string;
}) {
  const [passphrase, setPassphrase] = useState('');
  const [phrase, setPhrase] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  return (
    <>
      <section className="card" aria-labelledby="wallet-title">
        <h2 id="wallet-title">My wallet</h2>
        <p>
          Address: <span className="mono">{me}</span>
        </p>
        <p className="muted">{keyStatus}</p>
        <p>
          Your keys stay in this browser, locked with your passphrase; the portal locks itself after 10
          minutes without use.
        </p>
      </section>
      <section className="card" aria-labelledby="backup-title">
        <h2 id="backup-title">Recovery phrase backup</h2>
        <p>{stored.backupVerified ? 'Your backup was checked.' : 'Your backup is not checked yet.'}</p>
        {phrase === undefined ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              setError(undefined);
              revealMnemonic(stored, passphrase)
                .then((m) => {
                  setPhrase(m);
                  setPassphrase('');
                })
                .catch(setError);
            }}
          >
            <div className="field">
              <label htmlFor="backup-pass">Passphrase</label>
              <input
                id="backup-pass"
                type="password"
                autoComplete="current-password"
                value={passphrase}
                onChange={(e) => setPassphrase(e.target.value)}
              />
            </div>
            <button type="submit">Check my recovery phrase backup</button>
            <ErrorNote error={error} />
          </form>
        ) : (
          <VerifyWords
            mnemonic={phrase}
            onVerified={() => {
              setPhrase(undefined);
              void markBackupVerified(stored).then(onStored);
            }}
          />
        )}
      </section>
      <section className="card" aria-labelledby="export-title">
        <h2 id="export-title">Export everything</h2>
        <p>Downloads all your records (decrypted, as one FHIR Bundle) and your access log as a JSON file.</p>
        <button type="button" disabled={busy} onClick={onExport}>
          Export all my records
        </button>
      </section>
    </>
  );
}
