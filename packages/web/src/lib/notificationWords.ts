import { formatUntil } from './shareSummary.ts';

/** The `Recovery` event behind a recovery notification (`@carekey/sdk/emergency` `RecoveryNotification`). */
export type RecoveryEvent = {
  identity?: string;
  guardian?: string;
  newController?: string;
  previousController?: string;
  round?: string;
  approvals?: number;
  threshold?: number;
  /** Chain time (seconds) from which the recovery can be finished. */
  readyAt?: string;
};

/** A recovery notification as the portal reads it from `GET /v1/notifications`. */
export type RecoveryNotice = {
  at: string;
  kind: string;
  patient: string;
  role: string;
  event?: RecoveryEvent;
};

/** A notification in words: what happened, to whom and when, and what to do (if anything). */
export type NoticeWords = {
  text: string;
  /** What the reader should do, or `undefined` when nothing is needed. */
  todo?: string;
  /** It may be an attack on the reader's own identity: shown as an alert, with a way to cancel. */
  urgent: boolean;
};

const NUMBERS = ['No', 'One', 'Two', 'Three', 'Four', 'Five', 'Six', 'Seven', 'Eight', 'Nine', 'Ten'];

/** "Two guardians", "One guardian", "12 guardians". */
function guardians(n: number): string {
  return `${NUMBERS[n] ?? String(n)} guardian${n === 1 ? '' : 's'}`;
}

const shortAddress = (a: string | undefined) =>
  a === undefined || a.length < 12 ? (a ?? 'a guardian') : `${a.slice(0, 8)}…${a.slice(-6)}`;

/**
 * A recovery notification (docs/recovery.md) in plain words for the patient whose identity it is, or for one of their
 * guardians: who did what, when, and what to do ("Two guardians approved a recovery of your identity; it takes effect
 * on … unless you cancel"). `undefined` for a kind this portal does not know (shown by its name).
 */
export function recoveryNoticeWords(n: RecoveryNotice): NoticeWords | undefined {
  const e = n.event ?? {};
  const mine = n.role === 'patient';
  const whose = mine ? 'your identity' : `the identity of ${shortAddress(n.patient)} (whom you guard)`;
  const when = formatUntil(new Date(n.at));
  const by = e.guardian === undefined ? 'A guardian' : `Guardian ${shortAddress(e.guardian)}`;
  const count =
    e.approvals !== undefined && e.threshold !== undefined
      ? ` (${e.approvals} of the ${e.threshold} needed)`
      : '';
  const ready = e.readyAt === undefined ? undefined : formatUntil(new Date(Number(e.readyAt) * 1000));
  const ifNotYou =
    'If you did not ask for it, cancel it now in Guardians: your key stays in control until then.';
  switch (n.kind) {
    case 'recovery-started':
      return mine
        ? {
            text: `${by} started a recovery of your identity on ${when}${count}: if enough guardians approve, your identity moves to a new key.`,
            todo: ifNotYou,
            urgent: true,
          }
        : {
            text: `${by} started a recovery of ${whose} on ${when}${count}.`,
            todo: 'Before you approve, check with them (by phone or in person) that they really lost their device.',
            urgent: false,
          };
    case 'recovery-approved':
      return mine
        ? {
            text: `${by} approved a recovery of your identity on ${when}${count}.`,
            todo: ifNotYou,
            urgent: true,
          }
        : { text: `${by} approved the recovery of ${whose} on ${when}${count}.`, urgent: false };
    case 'recovery-ready': {
      const approved = e.approvals === undefined ? 'Enough guardians' : guardians(e.approvals);
      return mine
        ? {
            text: `${approved} approved a recovery of your identity; it takes effect ${ready === undefined ? 'after the waiting time' : `on ${ready}`} unless you cancel (on ${when}).`,
            todo: ifNotYou,
            urgent: true,
          }
        : {
            text: `${approved} approved the recovery of ${whose} on ${when}; it can be finished ${ready === undefined ? 'after the waiting time' : `from ${ready}`}, unless they cancel.`,
            urgent: false,
          };
    }
    case 'recovery-cancelled':
      return {
        text: `The recovery of ${whose} was cancelled on ${when}: ${mine ? 'your key stays as it was' : 'their key stays as it was'}, and the approvals given count for nothing now.`,
        urgent: false,
      };
    case 'recovery-finished':
      return mine
        ? {
            text: `Your identity was moved to a new key on ${when} (the recovery finished): the old key can no longer act for it.`,
            todo: 'If this was not you, contact your guardians at once.',
            urgent: false,
          }
        : {
            text: `The recovery of ${whose} finished on ${when}: their identity now answers to a new key.`,
            urgent: false,
          };
    default:
      return undefined;
  }
}
