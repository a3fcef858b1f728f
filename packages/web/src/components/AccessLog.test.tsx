// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEntry, PortalNotification, VerifiedIdentity } from '../lib/actions.ts';
import { AccessLog } from './AccessLog.tsx';

afterEach(cleanup);

const ME = '0x70997970c51812dc3a010c7d01b50e0d17dc79c8';
const DOCTOR = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc';
const NURSE = '0x90f79bf6eb2c4f870365e785982e1f101e93b906';
const RECORD = `0x${'01'.repeat(32)}`;

const entry = (id: string, actor: string, action: string, outcome = 'allowed'): AuditEntry => ({
  id,
  at: `2026-12-03T09:0${id}:00Z`,
  actor,
  action,
  recordIds: [RECORD],
  grantId: null,
  outcome,
  reason: null,
});

describe('access log', () => {
  it('R-2 R-6: each actor with who they verifiably are; break-glass stands out; filter by who and by what', () => {
    const identities = new Map<string, VerifiedIdentity | null>([
      [
        DOCTOR,
        {
          identity: DOCTOR,
          verified: true,
          issuerName: 'Medical Council',
          claims: { role: 'physician', specialty: 'cardiology', organisation: 'St Mary Hospital' },
        },
      ],
      [NURSE, null],
    ]);
    render(
      <AccessLog
        entries={[
          entry('1', ME, 'publish'),
          entry('2', DOCTOR, 'release'),
          entry('3', NURSE, 'refusal', 'denied'),
          entry('4', DOCTOR, 'break_glass'),
        ]}
        grants={[]}
        me={ME}
        names={new Map([[RECORD, 'Penicillin allergy']])}
        identities={identities}
      />,
    );
    const rows = screen.getAllByRole('row').slice(1); // newest first, me left out by default
    expect(rows).toHaveLength(3);
    expect(rows[0]?.className).toBe('emergency');
    expect(rows[0]?.textContent).toContain('Emergency: broke the glass (emergency access)');
    expect(rows[0]?.textContent).toContain(
      'licensed physician, cardiology, St Mary Hospital — verified by Medical Council',
    );
    expect(rows[1]?.textContent).toContain('Unverified: no credential presented');
    expect(rows[2]?.textContent).toContain('Penicillin allergy');
    fireEvent.change(screen.getByLabelText('What happened'), { target: { value: 'release' } });
    expect(screen.getAllByRole('row').slice(1)).toHaveLength(1);
    fireEvent.change(screen.getByLabelText('What happened'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Who'), { target: { value: NURSE } });
    expect(
      screen
        .getAllByRole('row')
        .slice(1)
        .map((r) => r.textContent),
    ).toEqual([expect.stringContaining('was refused')]);
  });

  it('T-16 R-3: why the node allowed or refused is said in words (reason codes of break-glass and of key releases)', () => {
    const withReason = (id: string, action: string, outcome: string, reason: string) => ({
      ...entry(id, DOCTOR, action, outcome),
      reason,
    });
    render(
      <AccessLog
        entries={[
          withReason('1', 'break_glass', 'denied', 'no-credential'),
          withReason('2', 'break_glass', 'denied', 'credential:revoked'),
          withReason('3', 'break_glass', 'denied', 'policy-off'),
          withReason('4', 'break_glass', 'denied', 'emergency-rate-limited'),
          withReason('5', 'break_glass', 'allowed', 'emergency:flagged'),
          withReason('6', 'refusal', 'denied', 'expired'),
          withReason('7', 'refusal', 'denied', 'some-new-code'),
        ]}
        grants={[]}
        me={ME}
        names={new Map()}
      />,
    );
    const rows = screen
      .getAllByRole('row')
      .slice(1)
      .map((r) => r.textContent ?? '')
      .reverse();
    expect(rows[0]).toContain('(refused) — refused: no professional credential presented');
    expect(rows[1]).toContain('refused: their credential did not hold (revoked)');
    expect(rows[2]).toContain('refused: your emergency policy is off');
    expect(rows[3]).toContain('refused: too many emergency accesses (listed for review)');
    expect(rows[4]).toContain('allowed, and listed for review (frequent emergency use)');
    expect(rows[5]).toContain('refused: the share had expired');
    expect(rows[6]).toContain('some-new-code');
  });

  it('R-3 T-16: a break-glass row says the reason its clinician gave (the opening and each re-reading), and the log filters on any words of an entry', () => {
    const told = (id: string, clinician: string, at: string, reason: string): PortalNotification => ({
      id,
      at,
      kind: 'emergency-access',
      patient: ME,
      role: 'patient',
      accessId: `0x${id.repeat(64)}`,
      clinician,
      clinicianClaims: { role: 'physician' },
      issuerName: 'Medical Council',
      reason,
      scope: 'summary',
      expiresAt: new Date(Date.parse(at) + 3600_000).toISOString(),
    });
    const row = (id: string, actor: string, at: string, reason: string, outcome = 'allowed'): AuditEntry => ({
      ...entry(id, actor, 'break_glass', outcome),
      at,
      reason,
    });
    render(
      <AccessLog
        entries={[
          row('1', DOCTOR, '2026-12-03T09:00:00.123Z', 'emergency'),
          entry('5', NURSE, 'release'),
          row('2', NURSE, '2026-12-03T09:10:00.000Z', 'emergency'),
          row('3', DOCTOR, '2026-12-03T09:30:00.000Z', 'emergency:reread'),
          row('4', DOCTOR, '2026-12-03T11:00:00.000Z', 'policy-off', 'denied'),
        ]}
        grants={[]}
        me={ME}
        names={new Map([[RECORD, 'Emergency summary']])}
        notifications={[
          told('a', DOCTOR, '2026-12-03T09:00:00.123Z', 'unconscious after a fall'),
          told('b', NURSE, '2026-12-03T09:10:00.000Z', 'chest pain, cannot speak'),
          // Another patient's break-glass I am a guardian for: never put on my own log.
          {
            ...told('c', DOCTOR, '2026-12-03T09:29:00.000Z', 'not about me'),
            patient: NURSE,
            role: 'guardian',
          },
        ]}
      />,
    );
    const reasons = () =>
      screen
        .getAllByRole('row')
        .slice(1)
        .map((r) => r.querySelector('[data-testid="break-glass-reason"]')?.textContent ?? null);
    // Newest first: the refusal (no reason given to me), the re-reading, the nurse's, the release, the opening.
    expect(reasons()).toEqual([
      null,
      'Their reason: “unconscious after a fall”',
      'Their reason: “chest pain, cannot speak”',
      null,
      'Their reason: “unconscious after a fall”',
    ]);
    const search = screen.getByLabelText('Containing (a name, a reason, a record…)');
    fireEvent.change(search, { target: { value: 'FALL' } });
    expect(reasons()).toEqual([
      'Their reason: “unconscious after a fall”',
      'Their reason: “unconscious after a fall”',
    ]);
    fireEvent.change(search, { target: { value: 'policy is off' } });
    expect(screen.getAllByRole('row').slice(1)).toHaveLength(1);
    fireEvent.change(search, { target: { value: 'emergency summary' } }); // a record's title
    expect(screen.getAllByRole('row').slice(1)).toHaveLength(5);
    fireEvent.change(search, { target: { value: 'no such words' } });
    expect(screen.getByText('Nothing in the log for this filter.')).toBeTruthy();
  });
});
