import { useId, useMemo, useState } from 'react';
import {
  type AccessRequest,
  listGrants,
  listRequests,
  refusedShareWords,
  requestAccess,
} from '../lib/actions.ts';
import { PortalError } from '../lib/errors.ts';
import { SourceIndex } from '../lib/fhirDisplay.ts';
import { listSharedWithMe, type PortalRecord, readShared, type SharedGroup } from '../lib/records.ts';
import type { Session } from '../lib/session.ts';
import { EXPIRIES, formatUntil, PURPOSES, purposeLabel } from '../lib/shareSummary.ts';
import { BreakGlass, MyCredential, useHeldCredential } from './ClinicianCredential.tsx';
import { MyIdentityQr } from './Qr.tsx';
import { LatestLabs, RecordCard, Timeline, type TimelineItem, toTimeline } from './Records.tsx';
import { useFileSaver } from './SaveFile.tsx';
import { useAction } from './Status.tsx';
import { short } from './Unlock.tsx';

const NO_RECORDS: PortalRecord[] = [];

/** IPS order for a clinician: problems, allergies, medications, then results. */
const SUMMARY_ORDER = ['Conditions', 'Allergies', 'Medications', 'Immunizations'];

/** Patients who shared with me; open one's records, decrypted here; their labs and trends. */
export function Clinician({ session }: { session: Session }) {
  const [groups, setGroups] = useState<SharedGroup[] | undefined>(undefined);
  const [open, setOpen] = useState<{ group: SharedGroup; records: PortalRecord[] } | undefined>(undefined);
  const action = useAction();
  const credential = useHeldCredential(session);
  const files = useFileSaver(session, open?.records ?? NO_RECORDS);
  const load = () =>
    action.run('Looking for patients who shared with you…', async () => {
      setGroups(await listSharedWithMe(session));
    });
  const read = (group: SharedGroup) =>
    action.run('Opening the shared records…', async (progress) => {
      setOpen(undefined);
      let records: PortalRecord[];
      try {
        records = await readShared(session, group, (done, total, text) => progress({ text, done, total }));
      } catch (error) {
        if ((error as { code?: string }).code !== 'access-refused') throw error;
        // Say why, from this share's own state on the ledger (the node's refusal is the same for every reason).
        const grant = (await listGrants(session).catch(() => [])).find(
          (g) => g.grantId.toLowerCase() === group.grantId.toLowerCase(),
        );
        throw new PortalError(refusedShareWords(grant));
      }
      setOpen({ group, records });
    });
  const items = useMemo<TimelineItem[]>(() => {
    if (open === undefined) return [];
    const resources = open.records.flatMap((r) => (r.resource ? [r.resource] : []));
    return toTimeline(
      open.records,
      new SourceIndex(resources, { me: session.identity, patient: open.group.patient }),
    );
  }, [open, session.identity]);
  return (
    <section aria-labelledby="clinician-title">
      <h2 id="clinician-title">Patients who shared with me</h2>
      <p className="muted">
        Records are decrypted in this browser with your key; every opening is written in the patient's access
        log.
      </p>
      <MyIdentityQr session={session} heading="Show patients who you are" />
      <MyCredential session={session} credential={credential} />
      <div className="actions">
        <button type="button" onClick={() => void load()} disabled={action.busy !== undefined}>
          {groups === undefined ? 'Find patients who shared with me' : 'Refresh the list'}
        </button>
      </div>
      {action.view}
      {groups !== undefined && groups.length === 0 ? (
        <p>No patient has shared records with you (or their shares ended).</p>
      ) : null}
      <ul className="grants">
        {(groups ?? []).map((g) => (
          <li key={g.grantId} className="card">
            <p>
              Patient <span className="mono">{short(g.patient)}</span>: {g.recordIds.length} record
              {g.recordIds.length === 1 ? '' : 's'} shared
            </p>
            <button type="button" disabled={action.busy !== undefined} onClick={() => void read(g)}>
              Open records of {short(g.patient)}
            </button>
          </li>
        ))}
      </ul>
      <RequestAccess session={session} />
      <BreakGlass session={session} credential={credential} />
      {open === undefined ? null : (
        <div className="patient">
          <h2>Summary of patient {short(open.group.patient)}</h2>
          {SUMMARY_ORDER.map((kind) => {
            const list = items.filter((i) => i.kind === kind);
            if (list.length === 0) return null;
            return (
              <section key={kind} aria-label={kind}>
                <h3>{kind}</h3>
                <ul className="compact">
                  {list.slice(0, 20).map((i) => (
                    <li key={i.record.recordId}>
                      <RecordCard item={i} />
                    </li>
                  ))}
                </ul>
              </section>
            );
          })}
          <LatestLabs items={items} />
          {files.view}
          <Timeline items={items} heading="All shared records" onSaveFile={files.onSaveFile} />
        </div>
      )}
    </section>
  );
}

/** Ask a patient for access: a signed request the patient approves or denies in their portal. */
function RequestAccess({ session }: { session: Session }) {
  const id = useId();
  const [patient, setPatient] = useState('');
  const [purpose, setPurpose] = useState('TREAT');
  const [seconds, setSeconds] = useState(7 * 24 * 3600);
  const [mine, setMine] = useState<AccessRequest[] | undefined>(undefined);
  const action = useAction();
  const refresh = async () => {
    const all = await listRequests(session);
    setMine(all?.filter((r) => r.requester.toLowerCase() === session.identity.toLowerCase()));
  };
  return (
    <section className="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Request access from a patient</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void action.run('Signing and sending your request…', async () => {
            await requestAccess(session, { patient, purpose, lifetimeSeconds: seconds });
            setPatient('');
            await refresh();
          });
        }}
      >
        <div className="field">
          <label htmlFor={`${id}-patient`}>Patient's address or DID</label>
          <input
            id={`${id}-patient`}
            value={patient}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => setPatient(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-purpose`}>Purpose of the request</label>
          <select id={`${id}-purpose`} value={purpose} onChange={(e) => setPurpose(e.target.value)}>
            {PURPOSES.map((p) => (
              <option key={p.code} value={p.code}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-expiry`}>Access needed for</label>
          <select id={`${id}-expiry`} value={seconds} onChange={(e) => setSeconds(Number(e.target.value))}>
            {EXPIRIES.map((x) => (
              <option key={x.seconds} value={x.seconds}>
                {x.label}
              </option>
            ))}
          </select>
        </div>
        <div className="actions">
          <button type="submit" disabled={action.busy !== undefined || patient.trim() === ''}>
            Request access
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => void action.run('Reading your requests…', refresh)}
          >
            Show my requests
          </button>
        </div>
      </form>
      {action.view}
      {mine === undefined ? null : mine.length === 0 ? (
        <p>You have not asked anyone yet.</p>
      ) : (
        <ul>
          {mine.map((r) => (
            <li key={r.requestDigest ?? r.requestId ?? r.patient}>
              <span className="mono">{short(r.patient)}</span> for {purposeLabel(r.purposeText)}: {r.status}
              {r.expiresAt ? ` (until ${formatUntil(new Date(Number(r.expiresAt) * 1000))})` : ''}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
