// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortalRecord, Resource } from '../lib/records.ts';
import { shareSentence } from '../lib/shareSummary.ts';
import { revokeWords, ShareForm, type ShareRequest } from './Sharing.tsx';

afterEach(cleanup);

const DOCTOR = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function record(n: number, resource: Resource): PortalRecord {
  return {
    recordId: `0x${n.toString(16).padStart(64, '0')}`,
    blobId: 'b',
    publisher: '0x0000000000000000000000000000000000000001',
    state: 'active',
    categoryTag: `0x${'00'.repeat(32)}`,
    stanza: '-> X25519 x\nx',
    resource,
    addedAt: '2026-01-01T00:00:00Z',
  };
}
const lab = (n: number) =>
  record(n, {
    resourceType: 'Observation',
    category: [{ coding: [{ code: 'laboratory' }] }],
    code: { text: `Lab ${n}` },
  });
const RECORDS = [
  lab(1),
  lab(2),
  record(3, { resourceType: 'Condition', code: { text: 'Asthma' } }),
  record(4, { resourceType: 'MedicationRequest', medicationCodeableConcept: { text: 'Salbutamol' } }),
];

describe('share summary', () => {
  it('R-16: one plain sentence names recipient, scope and count, purpose, expiry, and what they will not see', () => {
    const expiresAt = new Date(2026, 11, 3, 14, 2);
    expect(
      shareSentence({
        recipient: DOCTOR,
        kinds: ['Lab results'],
        recordCount: 12,
        purpose: 'TREAT',
        expiresAt,
      }),
    ).toBe(
      `${DOCTOR} will be able to open your lab results (12 records) for treatment until 3 Dec 2026, 14:02. They will see nothing else of yours, and you can revoke the share at any time.`,
    );
    expect(
      shareSentence({ recipient: DOCTOR, kinds: undefined, recordCount: 1, purpose: 'ETREAT', expiresAt }),
    ).toContain(
      'every record you have (1 record), and any added before the share ends for emergency treatment',
    );
  });

  it('R-16: no share without a purpose and a finite expiry; a preset fills both and the sentence appears', () => {
    const shared: ShareRequest[] = [];
    render(<ShareForm records={RECORDS} busy={false} onShare={(r) => shared.push(r)} />);
    expect(screen.getByTestId('share-summary').textContent).toMatch(/^Choose who/u);
    fireEvent.change(screen.getByLabelText("Doctor's address or DID"), { target: { value: DOCTOR } });
    fireEvent.click(screen.getByLabelText('Lab results'));
    fireEvent.click(screen.getByRole('button', { name: 'Share' }));
    expect(screen.getByRole('alert').textContent).toContain('Say who, what, why and until when');
    expect(shared).toEqual([]);
    fireEvent.click(screen.getByRole('button', { name: 'Labs only' }));
    expect(screen.getByTestId('share-summary').textContent).toMatch(
      new RegExp(
        `^${DOCTOR} will be able to open your lab results \\(2 records\\) for treatment until `,
        'u',
      ),
    );
    fireEvent.click(screen.getByRole('button', { name: 'Share' }));
    expect(shared).toEqual([
      {
        with: DOCTOR,
        scope: { kind: 'categories', categories: ['Observation|laboratory'] },
        kinds: ['Lab results'],
        purpose: 'TREAT',
        seconds: 30 * 24 * 3600,
      },
    ]);
  });

  it('a malformed address is refused in plain words before anything is signed', () => {
    const shared: ShareRequest[] = [];
    render(<ShareForm records={RECORDS} busy={false} onShare={(r) => shared.push(r)} />);
    fireEvent.click(screen.getByRole('button', { name: 'Everything for 24 h' }));
    fireEvent.change(screen.getByLabelText("Doctor's address or DID"), { target: { value: '0x1234' } });
    fireEvent.click(screen.getByRole('button', { name: 'Share' }));
    expect(screen.getByRole('alert').textContent).toBe(
      '“0x1234” is not a Carekey address. An address is 0x followed by 40 letters 0–9 and a–f, or a DID like did:ethr:0x7a69:0x….',
    );
    expect(shared).toEqual([]);
  });

  it('T-4: revoking says what stops and what cannot be undone', () => {
    const words = revokeWords(DOCTOR, new Date(2026, 0, 1, 14, 2));
    expect(words).toBe(
      '0x709979…dc79C8 will not be able to open anything more under this share, from now on. Anything they opened before 14:02 may remain with them: a revoke cannot take back copies already made.',
    );
  });
});
