/** Purposes a patient can pick (HL7 v3 PurposeOfUse), in plain words. */
export const PURPOSES: { code: string; label: string }[] = [
  { code: 'TREAT', label: 'treatment' },
  { code: 'CAREMGT', label: 'care coordination' },
  { code: 'ETREAT', label: 'emergency treatment' },
  { code: 'PATRQT', label: 'my own request (a second opinion, a copy)' },
  { code: 'HRESCH', label: 'health research' },
];

/** Finite expiries only: there is no "forever". */
export const EXPIRIES: { seconds: number; label: string }[] = [
  { seconds: 3600, label: '1 hour' },
  { seconds: 24 * 3600, label: '24 hours' },
  { seconds: 7 * 24 * 3600, label: '7 days' },
  { seconds: 30 * 24 * 3600, label: '30 days' },
  { seconds: 90 * 24 * 3600, label: '90 days' },
];

/** Kinds covered by a preset; `undefined` kinds = everything. */
export type SharePreset = { id: string; label: string; kinds?: string[]; seconds: number; purpose: string };

export const PRESETS: SharePreset[] = [
  {
    id: 'visit',
    label: 'Visit summary',
    kinds: ['Conditions', 'Allergies', 'Medications', 'Immunizations'],
    seconds: 7 * 24 * 3600,
    purpose: 'TREAT',
  },
  { id: 'labs', label: 'Labs only', kinds: ['Lab results'], seconds: 30 * 24 * 3600, purpose: 'TREAT' },
  { id: 'all24', label: 'Everything for 24 h', seconds: 24 * 3600, purpose: 'TREAT' },
];

export function purposeLabel(code: string): string {
  return PURPOSES.find((p) => p.code === code)?.label ?? code;
}

export type ShareSummaryParameters = {
  recipient: string;
  /** `undefined`: everything; else the kinds chosen ("Lab results"). */
  kinds: readonly string[] | undefined;
  /** Individually picked records (when not by kind). */
  recordTitles?: readonly string[];
  recordCount: number;
  purpose: string;
  expiresAt: Date;
};

function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** How long until `endMs` (ms since epoch), in words: "42 min left", "3 h left", "5 days left", or "expired". */
export function timeLeft(endMs: number, now = Date.now()): string {
  const seconds = (endMs - now) / 1000;
  if (seconds <= 0) return 'expired';
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min left`;
  if (seconds < 2 * 86400) return `${Math.round(seconds / 3600)} h left`;
  return `${Math.round(seconds / 86400)} days left`;
}

export function formatUntil(date: Date): string {
  return date.toLocaleString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
  });
}

/**
 * The one plain sentence of what the doctor will (and won't) see, shown before a share is signed (UX 6).
 *
 * @example
 * shareSentence({ recipient: '0xab…', kinds: ['Lab results'], recordCount: 12, purpose: 'TREAT', expiresAt })
 * // "0xab… will be able to open your lab results (12 records) for treatment until 3 Dec 2026, 14:02 — nothing else, …"
 */
export function shareSentence(p: ShareSummaryParameters): string {
  const who = p.recipient.trim() === '' ? 'The person you choose' : p.recipient.trim();
  const count = `${p.recordCount} record${p.recordCount === 1 ? '' : 's'}`;
  let what: string;
  let not: string;
  if (p.kinds === undefined && p.recordTitles === undefined) {
    what = `every record you have (${count}), and any added before the share ends`;
    not = 'They cannot change or delete anything';
  } else if (p.recordTitles !== undefined) {
    what = `${p.recordCount === 1 ? 'this record' : `these ${count}`}: ${list(p.recordTitles.slice(0, 3))}${p.recordTitles.length > 3 ? ' and more' : ''}`;
    not = 'nothing else of yours';
  } else {
    what = `your ${list((p.kinds ?? []).map((k) => k.toLowerCase()))} (${count})`;
    not = 'nothing else of yours';
  }
  const tail =
    p.kinds === undefined && p.recordTitles === undefined
      ? `${not}, and you can revoke the share at any time.`
      : `They will see ${not}, and you can revoke the share at any time.`;
  return `${who} will be able to open ${what} for ${purposeLabel(p.purpose)} until ${formatUntil(p.expiresAt)}. ${tail}`;
}
