// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortalNotification } from '../lib/actions.ts';
import { recoveryNoticeWords } from '../lib/notificationWords.ts';
import { formatUntil } from '../lib/shareSummary.ts';
import { NoticeItem } from './Notices.tsx';

afterEach(cleanup);

const ME = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const GUARDIAN = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';
const NEW_KEY = '0x90F79bf6EB2c4f870365E785982E1f101E93b906';
const AT = '2026-12-03T10:00:00.000Z';
const READY = 1_796_400_000; // seconds: 2026-12-05

function notice(kind: string, role: 'patient' | 'guardian', event: PortalNotification['event'] = {}) {
  return {
    id: `${kind}-${role}`,
    at: AT,
    kind,
    patient: ME,
    role,
    event: { identity: ME, newController: NEW_KEY, ...event },
  } satisfies PortalNotification;
}

describe('recovery notifications in words', () => {
  it('T-17: each kind says who, what, when and what to do — for the patient and for a guardian', () => {
    const when = formatUntil(new Date(AT));
    const ready = formatUntil(new Date(READY * 1000));
    const words = (kind: string, role: 'patient' | 'guardian', event?: PortalNotification['event']) =>
      recoveryNoticeWords(notice(kind, role, event));

    const started = words('recovery-started', 'patient', { guardian: GUARDIAN, approvals: 1, threshold: 2 });
    expect(started?.text).toBe(
      `Guardian 0x3C44Cd…4293BC started a recovery of your identity on ${when} (1 of the 2 needed): if enough guardians approve, your identity moves to a new key.`,
    );
    expect(started?.todo).toMatch(/^If you did not ask for it, cancel it now in Guardians/u);
    expect(started?.urgent).toBe(true);
    expect(words('recovery-started', 'guardian', { guardian: GUARDIAN })?.todo).toMatch(
      /check with them .* that they really lost their device/u,
    );

    expect(
      words('recovery-approved', 'patient', { guardian: GUARDIAN, approvals: 2, threshold: 2 })?.text,
    ).toBe(`Guardian 0x3C44Cd…4293BC approved a recovery of your identity on ${when} (2 of the 2 needed).`);

    const readyWords = words('recovery-ready', 'patient', {
      approvals: 2,
      threshold: 2,
      readyAt: String(READY),
    });
    expect(readyWords?.text).toBe(
      `Two guardians approved a recovery of your identity; it takes effect on ${ready} unless you cancel (on ${when}).`,
    );
    expect(readyWords?.urgent).toBe(true);
    expect(words('recovery-ready', 'guardian', { approvals: 3, readyAt: String(READY) })?.text).toBe(
      `Three guardians approved the recovery of the identity of 0x709979…dc79C8 (whom you guard) on ${when}; it can be finished from ${ready}, unless they cancel.`,
    );

    const cancelled = words('recovery-cancelled', 'patient', { round: '1' });
    expect(cancelled?.text).toBe(
      `The recovery of your identity was cancelled on ${when}: your key stays as it was, and the approvals given count for nothing now.`,
    );
    expect(cancelled?.urgent).toBe(false);
    expect(cancelled?.todo).toBeUndefined();

    const finished = words('recovery-finished', 'patient', { previousController: ME });
    expect(finished?.text).toMatch(
      /^Your identity was moved to a new key on .*the old key can no longer act for it\.$/u,
    );
    expect(finished?.todo).toBe('If this was not you, contact your guardians at once.');
    expect(words('recovery-finished', 'guardian')?.text).toMatch(
      /\(whom you guard\) finished on .*a new key\.$/u,
    );

    // Without the event's details the words still hold.
    expect(words('recovery-ready', 'patient', {})?.text).toMatch(
      /^Enough guardians approved a recovery of your identity; it takes effect after the waiting time unless you cancel/u,
    );
    expect(recoveryNoticeWords({ ...notice('something-new', 'patient') })).toBeUndefined();
  });

  it('an urgent one offers to review it in Guardians; an unknown kind is shown by its name', () => {
    let reviewed = 0;
    render(
      <ul>
        <NoticeItem
          notice={notice('recovery-ready', 'patient', { approvals: 2, threshold: 2, readyAt: String(READY) })}
          onRecovery={() => reviewed++}
        />
        <NoticeItem notice={notice('recovery-cancelled', 'patient')} onRecovery={() => reviewed++} />
        <NoticeItem notice={notice('key-rotated', 'patient')} onRecovery={() => reviewed++} />
      </ul>,
    );
    const items = screen.getAllByRole('listitem');
    expect(items[0]?.textContent).toMatch(
      /^Two guardians approved a recovery of your identity; it takes effect on /u,
    );
    expect(items[1]?.textContent).toMatch(/^The recovery of your identity was cancelled/u);
    expect(items[2]?.textContent).toMatch(/: key rotated$/u);
    expect(screen.getAllByRole('button', { name: 'Review it in Guardians' })).toHaveLength(1);
    fireEvent.click(screen.getByRole('button', { name: 'Review it in Guardians' }));
    expect(reviewed).toBe(1);
  });
});
