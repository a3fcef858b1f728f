import { formatDate, newestFirst } from '../lib/fhirDisplay.ts';
import { fmt, type LabValue, labSentence, rangeWords } from '../lib/labs.ts';

/** Where a value sits on a line from below the range to above it (SVG, no colour needed: a text flag says it). */
export function NumberLine({ value }: { value: LabValue }) {
  const { low, high } = value;
  if (low === undefined && high === undefined) return null;
  const lo = low ?? 0;
  const hi = high ?? lo * 2;
  const span = hi - lo || Math.abs(hi) || 1;
  const min = Math.min(lo - span * 0.5, value.value);
  const max = Math.max(hi + span * 0.5, value.value);
  const x = (v: number) => 8 + ((v - min) / (max - min || 1)) * 284;
  return (
    <svg
      className="numberline"
      viewBox="0 0 300 36"
      role="img"
      aria-label={`Number line: ${labSentence(value)}`}
    >
      <line x1="8" y1="18" x2="292" y2="18" className="nl-axis" />
      <rect x={x(lo)} y="10" width={Math.max(2, x(hi) - x(lo))} height="16" className="nl-band" />
      <circle
        cx={x(value.value)}
        cy="18"
        r="6"
        className={`nl-dot ${value.flag === 'Normal' ? 'ok' : 'out'}`}
      />
      {low === undefined ? null : (
        <text x={x(lo)} y="34" textAnchor="middle" className="nl-label">
          {fmt(lo)}
        </text>
      )}
      {high === undefined ? null : (
        <text x={x(hi)} y="34" textAnchor="middle" className="nl-label">
          {fmt(hi)}
        </text>
      )}
    </svg>
  );
}

/** One lab value: name, value and unit, reference range, a text flag, and its place on a number line. */
export function LabValueView({ value, onTrend }: { value: LabValue; onTrend?: () => void }) {
  const abnormal = value.flag !== 'Normal' && value.flag !== 'No range';
  return (
    <div className={`lab ${abnormal ? 'abnormal' : ''}`}>
      <div className="lab-head">
        <span className="lab-name">{value.name}</span>
        <span className="lab-value">
          {fmt(value.value)} {value.unit}
        </span>
        {value.flag === 'No range' ? null : (
          <span className={`flag ${abnormal ? 'flag-out' : 'flag-ok'}`}>{value.flag}</span>
        )}
      </div>
      <div className="lab-range">Normal range: {rangeWords(value)}</div>
      <NumberLine value={value} />
      {onTrend === undefined ? null : (
        <button type="button" className="link" onClick={onTrend}>
          Trend of {value.name}
        </button>
      )}
    </div>
  );
}

export type TrendPoint = { id: string; value: LabValue; source: string };

/** A trend over time: points with date and source, a shaded reference band, and the same data as a table. */
export function Trend({ name, points }: { name: string; points: readonly TrendPoint[] }) {
  const sorted = [...points].sort((a, b) => newestFirst(b.value.date, a.value.date));
  const values = sorted.map((p) => p.value.value);
  const lows = sorted.map((p) => p.value.low).filter((v): v is number => v !== undefined);
  const highs = sorted.map((p) => p.value.high).filter((v): v is number => v !== undefined);
  const band =
    lows.length > 0 || highs.length > 0
      ? {
          low: lows.length ? Math.min(...lows) : undefined,
          high: highs.length ? Math.max(...highs) : undefined,
        }
      : undefined;
  const all = [
    ...values,
    ...(band?.low === undefined ? [] : [band.low]),
    ...(band?.high === undefined ? [] : [band.high]),
  ];
  const min = Math.min(...all);
  const max = Math.max(...all);
  const pad = (max - min) * 0.1 || 1;
  const W = 600;
  const H = 220;
  const L = 48;
  const y = (v: number) => 10 + (1 - (v - (min - pad)) / (max - min + 2 * pad)) * (H - 40);
  const x = (i: number) =>
    L + (sorted.length === 1 ? (W - L - 10) / 2 : (i / (sorted.length - 1)) * (W - L - 20));
  const unit = sorted[0]?.value.unit ?? '';
  const path = sorted
    .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p.value.value).toFixed(1)}`)
    .join(' ');
  return (
    <figure className="trend" aria-label={`Trend of ${name}`}>
      <figcaption>
        {name} over time ({unit})
      </figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`Chart of ${sorted.length} ${name} results; the table below has the same data`}
      >
        {band === undefined ? null : (
          <rect
            x={L}
            width={W - L - 10}
            y={y(band.high ?? max + pad)}
            height={Math.max(1, y(band.low ?? min - pad) - y(band.high ?? max + pad))}
            className="trend-band"
          />
        )}
        <line x1={L} y1={H - 30} x2={W - 10} y2={H - 30} className="nl-axis" />
        <text x={L - 6} y={y(max) + 4} textAnchor="end" className="nl-label">
          {fmt(max)}
        </text>
        <text x={L - 6} y={y(min) + 4} textAnchor="end" className="nl-label">
          {fmt(min)}
        </text>
        <path d={path} className="trend-line" />
        {sorted.map((p, i) => (
          <circle
            key={p.id}
            cx={x(i)}
            cy={y(p.value.value)}
            r="5"
            className={`nl-dot ${p.value.flag === 'Normal' || p.value.flag === 'No range' ? 'ok' : 'out'}`}
          >
            <title>{`${formatDate(p.value.date)}: ${fmt(p.value.value)} ${p.value.unit} (${p.value.flag}) — ${p.source}`}</title>
          </circle>
        ))}
      </svg>
      <table>
        <caption>{name}: every result</caption>
        <thead>
          <tr>
            <th scope="col">Date</th>
            <th scope="col">Value</th>
            <th scope="col">Flag</th>
            <th scope="col">Normal range</th>
            <th scope="col">Source</th>
          </tr>
        </thead>
        <tbody>
          {sorted.map((p, _i) => (
            <tr key={p.id}>
              <td>{formatDate(p.value.date)}</td>
              <td>
                {fmt(p.value.value)} {p.value.unit}
              </td>
              <td>{p.value.flag === 'No range' ? '—' : p.value.flag}</td>
              <td>{rangeWords(p.value)}</td>
              <td>{p.source}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
