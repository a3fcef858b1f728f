import { memo, useId, useMemo, useState } from 'react';
import {
  dateOf,
  formatDate,
  imagingFacts,
  isSensitive,
  kindOf,
  narrativeText,
  newestFirst,
  type SourceIndex,
  titleOf,
} from '../lib/fhirDisplay.ts';
import { type FileRef, fileKind, fileRefOf, formatBytes } from '../lib/files.ts';
import { abnormalFirst, type LabValue, labValues } from '../lib/labs.ts';
import { isEmergencySummary, type PortalRecord, type Resource } from '../lib/records.ts';
import { LabValueView, Trend, type TrendPoint } from './LabValue.tsx';

/** A record with what the timeline shows of it. */
export type TimelineItem = {
  record: PortalRecord;
  resource: Resource;
  title: string;
  kind: string;
  date: string | undefined;
  institution: string;
  author: string | undefined;
  labs: LabValue[];
};

export function toTimeline(records: readonly PortalRecord[], sources: SourceIndex): TimelineItem[] {
  const items: TimelineItem[] = [];
  for (const record of records) {
    const resource = record.resource;
    if (resource === undefined || isEmergencySummary(resource)) continue;
    const { institution, author } = sources.of(resource);
    items.push({
      record,
      resource,
      title: titleOf(resource),
      kind: kindOf(resource),
      date: dateOf(resource),
      institution,
      author,
      labs: labValues(resource).sort(abnormalFirst),
    });
  }
  return items.sort((a, b) => newestFirst(a.date, b.date));
}

/** Records rendered at first and added by each "Show more" (the rest are counted, not built). */
export const PAGE = 100;

/**
 * The records timeline across institutions, filterable by institution and kind. Memoised, as every card: a
 * re-render of the page (progress of an action) does not rebuild thousands of records.
 */
export const Timeline = memo(function Timeline({
  items,
  onForget,
  onSaveFile,
  heading = 'My records',
}: {
  items: readonly TimelineItem[];
  onForget?: (record: PortalRecord) => void;
  onSaveFile?: (ref: FileRef) => void;
  heading?: string;
}) {
  const [institution, setInstitution] = useState('');
  const [kind, setKind] = useState('');
  const [shown, setShown] = useState(PAGE);
  const [trend, setTrend] = useState<string | undefined>(undefined);
  const id = useId();
  const institutions = useMemo(() => [...new Set(items.map((i) => i.institution))].sort(), [items]);
  const kinds = useMemo(() => [...new Set(items.map((i) => i.kind))].sort(), [items]);
  const filtered = useMemo(
    () =>
      items.filter(
        (i) => (institution === '' || i.institution === institution) && (kind === '' || i.kind === kind),
      ),
    [items, institution, kind],
  );
  return (
    <section aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{heading}</h2>
      <div className="filters">
        <div className="field">
          <label htmlFor={`${id}-inst`}>Institution</label>
          <select
            id={`${id}-inst`}
            value={institution}
            onChange={(e) => {
              setInstitution(e.target.value);
              setShown(PAGE);
            }}
          >
            <option value="">All institutions</option>
            {institutions.map((i) => (
              <option key={i} value={i}>
                {i}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={`${id}-kind`}>Type</label>
          <select
            id={`${id}-kind`}
            value={kind}
            onChange={(e) => {
              setKind(e.target.value);
              setShown(PAGE);
            }}
          >
            <option value="">All types</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p className="muted" aria-live="polite">
        {filtered.length} record{filtered.length === 1 ? '' : 's'}
        {filtered.length > shown ? `, showing the ${shown} most recent` : ''}
      </p>
      {trend === undefined ? null : (
        <TrendPanel code={trend} items={items} onClose={() => setTrend(undefined)} />
      )}
      <ol className="timeline">
        {filtered.slice(0, shown).map((item) => (
          <li key={item.record.recordId}>
            <RecordCard
              item={item}
              onTrend={setTrend}
              {...(onForget ? { onForget } : {})}
              {...(onSaveFile ? { onSaveFile } : {})}
            />
          </li>
        ))}
      </ol>
      {filtered.length > shown ? (
        <button type="button" className="secondary" onClick={() => setShown(shown + PAGE)}>
          Show {Math.min(PAGE, filtered.length - shown)} more
        </button>
      ) : null}
    </section>
  );
});

export function TrendPanel({
  code,
  items,
  onClose,
}: {
  code: string;
  items: readonly TimelineItem[];
  onClose: () => void;
}) {
  const points: TrendPoint[] = [];
  for (const item of items) {
    for (const v of item.labs)
      if (v.code === code)
        points.push({ id: `${item.record.recordId}-${v.name}`, value: v, source: item.institution });
  }
  const name = points[0]?.value.name ?? code;
  return (
    <section className="card" aria-label={`Trend of ${name}`}>
      <Trend name={name} points={points} />
      <button type="button" className="secondary" onClick={onClose}>
        Close trend
      </button>
    </section>
  );
}

/** One record: where it came from, when, what it says; sensitive ones only on request; narrative as plain text. */
export const RecordCard = memo(function RecordCard({
  item,
  onTrend,
  onForget,
  onSaveFile,
}: {
  item: TimelineItem;
  onTrend?: (code: string) => void;
  onForget?: (record: PortalRecord) => void;
  onSaveFile?: (ref: FileRef) => void;
}) {
  const [open, setOpen] = useState(false);
  const file = useMemo(() => fileRefOf(item.resource), [item.resource]);
  const [reveal, setReveal] = useState(false);
  const sensitive = isSensitive(item.resource);
  const pending = item.record.state === 'pending_shred';
  if (sensitive && !reveal) {
    return (
      <article className="record" aria-label={`Sensitive record from ${item.institution}`}>
        <p>
          <strong>Sensitive record</strong> from {item.institution}, {formatDate(item.date)}.
        </p>
        <button type="button" className="secondary" onClick={() => setReveal(true)}>
          Sensitive — select to show
        </button>
      </article>
    );
  }
  const narrative = open ? narrativeText(item.resource) : undefined;
  const imaging = imagingFacts(item.resource);
  return (
    <article className="record" aria-label={`${item.title}, ${formatDate(item.date)}`}>
      <header>
        <h3>{item.title}</h3>
        <span className="kind">{item.kind}</span>
      </header>
      <p className="source">
        <span>{item.institution}</span>
        {item.author ? <span> · {item.author}</span> : null}
        <span> · </span>
        <time dateTime={item.date}>{formatDate(item.date)}</time>
        {pending ? <span className="flag flag-out"> Being forgotten</span> : null}
      </p>
      {item.labs.map((v) => (
        <LabValueView
          key={`${v.code}-${v.name}`}
          value={v}
          {...(onTrend ? { onTrend: () => onTrend(v.code) } : {})}
        />
      ))}
      {imaging === undefined ? null : <p className="imaging">{imaging}</p>}
      {file !== undefined && onSaveFile ? (
        <p className="file">
          <button type="button" className="secondary" onClick={() => onSaveFile(file)}>
            Save the {fileKind(file.contentType)} ({formatBytes(file.size)})
          </button>{' '}
          <span className="muted">decrypted in this browser as it downloads</span>
        </p>
      ) : null}
      <button type="button" className="link" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide details' : 'Details'}
      </button>
      {open ? (
        <div className="details">
          {narrative === undefined ? null : (
            <p className="narrative">
              <span className="muted">Note from the source: </span>
              {narrative}
            </p>
          )}
          <p className="muted">
            Record <span className="mono">{item.record.recordId.slice(0, 18)}…</span>,{' '}
            {item.resource.resourceType}
          </p>
          {onForget && item.record.state === 'active' ? (
            <button type="button" className="danger" onClick={() => onForget(item.record)}>
              Forget this record…
            </button>
          ) : null}
        </div>
      ) : null}
    </article>
  );
});

/** The latest result of each test, abnormal first, each opening its trend in one action. */
export function LatestLabs({ items }: { items: readonly TimelineItem[] }) {
  const [trend, setTrend] = useState<string | undefined>(undefined);
  const latest = new Map<string, LabValue>();
  for (const item of items) {
    if (item.kind !== 'Lab results') continue;
    for (const v of item.labs) {
      const seen = latest.get(v.code);
      if (seen === undefined || (v.date ?? '') > (seen.date ?? '')) latest.set(v.code, v);
    }
  }
  const values = [...latest.values()].sort((a, b) => abnormalFirst(a, b) || a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="labs-title">
      <h2 id="labs-title">Lab results</h2>
      {values.length === 0 ? <p>No lab results yet.</p> : null}
      {trend === undefined ? null : (
        <TrendPanel code={trend} items={items} onClose={() => setTrend(undefined)} />
      )}
      <ul className="labs">
        {values.map((v) => (
          <li key={v.code}>
            <LabValueView value={v} onTrend={() => setTrend(v.code)} />
            <span className="muted">Latest: {formatDate(v.date)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
