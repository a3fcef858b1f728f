// @vitest-environment happy-dom
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { PortalNotification } from '../lib/actions.ts';
import { buildEmergencySummary, summarySections } from '../lib/emergency.ts';
import { SourceIndex } from '../lib/fhirDisplay.ts';
import { isEmergencySummary, type PortalRecord, type Resource } from '../lib/records.ts';
import { BreakGlassList } from './Emergency.tsx';
import { toTimeline } from './Records.tsx';

afterEach(cleanup);

const ME = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const IPS = join(
  import.meta.dirname,
  '../../../../../shared/data/ips/Bundle-IPS-examples-Bundle-minimal.json',
);

function record(n: number, resource: Resource): PortalRecord {
  return {
    recordId: `0x${n.toString(16).padStart(64, '0')}`,
    blobId: 'b',
    publisher: ME,
    state: 'active',
    categoryTag: `0x${'00'.repeat(32)}`,
    stanza: '-> X25519 x\nx',
    resource,
    addedAt: '2026-01-01T00:00:00Z',
  };
}

/** The HL7 minimal IPS example's resources as imported records (the Composition left out). */
function ipsRecords(): PortalRecord[] {
  const bundle = JSON.parse(readFileSync(IPS, 'utf8')) as { entry: { resource: Resource }[] };
  return bundle.entry
    .map((e) => e.resource)
    .filter((r) => r.resourceType !== 'Composition')
    .map((r, i) => record(i + 1, r));
}

describe('emergency summary preview', () => {
  it('R-3: what a clinician sees is the SDK-built IPS of my records, in words, and it stays out of my timeline', () => {
    const records = ipsRecords();
    const ips = buildEmergencySummary(records, ME);
    expect(isEmergencySummary(ips)).toBe(true);
    const sections = summarySections(ips);
    expect(sections[0]?.title).toBe('Patient');
    const allergies = sections.find((s) => /allerg/iu.test(s.title));
    expect(allergies?.lines.join(' ')).toMatch(/penicillin/u);
    const medications = sections.find((s) => /medication/iu.test(s.title));
    expect(medications?.lines.length).toBeGreaterThan(0);
    // Published as a record of mine, the summary is not a timeline card (the records it summarises are).
    const all = [...records, record(99, ips)];
    const items = toTimeline(all, new SourceIndex(all.flatMap((r) => (r.resource ? [r.resource] : []))));
    expect(items).toHaveLength(records.length);
  });

  it('refuses in plain words when there is no Patient record to summarise', () => {
    const records = ipsRecords().filter((r) => r.resource?.resourceType !== 'Patient');
    expect(() => buildEmergencySummary(records, ME)).toThrow(
      /An emergency summary needs your records first/u,
    );
    expect(() => buildEmergencySummary([], ME)).toThrow(/Nothing was changed/u);
  });
});

describe('break-glass uses', () => {
  const use: PortalNotification = {
    id: '7',
    at: '2026-12-03T09:15:00Z',
    kind: 'emergency-access',
    patient: ME,
    role: 'patient',
    accessId: `0x${'ab'.repeat(32)}`,
    clinician: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    clinicianClaims: { role: 'physician', specialty: 'emergency medicine', organisation: 'St Mary Hospital' },
    issuerName: 'Medical Council',
    reason: 'unconscious after a road accident',
    scope: 'summary',
    expiresAt: '2026-12-04T09:14:00Z',
  };

  it('R-6: each use says who (as verified, and by whom), what, why and until when, newest first', () => {
    const guardianSees: PortalNotification = {
      ...use,
      id: '8',
      at: '2026-12-03T10:00:00Z',
      role: 'guardian',
      patient: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
      scope: 'all',
    };
    render(<BreakGlassList notifications={[use, guardianSees]} />);
    const items = screen.getAllByRole('listitem');
    expect(items).toHaveLength(2);
    const [newest, oldest] = items.map((i) => i.textContent ?? '');
    expect(newest).toMatch(/^Emergency access on /u);
    expect(newest).toContain('0x90F79bf6EB2c4f870365E785982E1f101E93b906');
    expect(newest).toContain('(you are their guardian)');
    expect(newest).toContain('opened everything allowed');
    expect(oldest).toContain(use.clinician);
    expect(oldest).toContain(
      '(physician, emergency medicine, St Mary Hospital, verified by Medical Council)',
    );
    expect(oldest).toContain('opened the emergency summary');
    expect(oldest).toContain('reason given: “unconscious after a road accident”');
    expect(oldest).toMatch(/access ends /u);
  });
});
