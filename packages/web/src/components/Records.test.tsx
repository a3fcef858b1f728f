// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { SourceIndex } from '../lib/fhirDisplay.ts';
import type { PortalRecord, Resource } from '../lib/records.ts';
import { RecordCard, Timeline, toTimeline } from './Records.tsx';

afterEach(cleanup);

function record(n: number, resource: Resource): PortalRecord {
  return {
    recordId: `0x${n.toString(16).padStart(64, '0')}`,
    blobId: 'b',
    publisher: '0x0000000000000000000000000000000000000001',
    state: 'active',
    categoryTag: `0x${'00'.repeat(32)}`,
    resource,
    addedAt: '2026-01-01T00:00:00Z',
  };
}

const XSS =
  '<div xmlns="http://www.w3.org/1999/xhtml">Seen today.<img src="x" onerror="window.__xss=1"/><script>window.__xss=2</script><a href="javascript:window.__xss=3">click</a><iframe src="javascript:window.__xss=4"></iframe></div>';

describe('records', () => {
  it('T-22: FHIR narrative is rendered inert: its text only, no element, no script, no handler', async () => {
    const condition = record(1, {
      resourceType: 'Condition',
      id: 'c1',
      code: { text: 'Asthma' },
      onsetDateTime: '2020-05-01',
      text: { status: 'generated', div: XSS },
    });
    const [item] = toTimeline([condition], new SourceIndex([]));
    if (item === undefined) throw new Error('no item');
    const { container } = render(<RecordCard item={item} />);
    fireEvent.click(screen.getByRole('button', { name: 'Details' }));
    const narrative = container.querySelector('.narrative');
    expect(narrative?.textContent).toContain('Seen today.');
    expect(narrative?.textContent).toContain('click');
    expect(narrative?.textContent).toBe('Note from the source: Seen today. click');
    expect(narrative?.textContent).not.toContain('__xss=2');
    expect(container.querySelectorAll('img, script, iframe, a[href]')).toHaveLength(0);
    expect(container.innerHTML).not.toContain('onerror');
    await new Promise((r) => setTimeout(r, 50));
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
  });

  it('every record says where it came from (institution, author) and its clinical date; filters by institution and type', () => {
    const org = record(10, { resourceType: 'Organization', id: 'org1', name: 'Mercy Hospital' });
    const enc = record(11, {
      resourceType: 'Encounter',
      id: 'e1',
      class: { code: 'AMB' },
      type: [{ text: 'Check-up' }],
      period: { start: '2021-03-03T10:00:00Z' },
      serviceProvider: { reference: 'Organization/org1' },
      participant: [{ individual: { display: 'Dr. Ada Lovelace' } }],
    });
    const cond = record(12, {
      resourceType: 'Condition',
      id: 'c1',
      code: { text: 'Asthma' },
      encounter: { reference: 'Encounter/e1' },
      onsetDateTime: '2021-03-03',
    });
    const other = record(13, {
      resourceType: 'Immunization',
      id: 'i1',
      vaccineCode: { text: 'Influenza' },
      occurrenceDateTime: '2019-10-10',
      performer: [{ actor: { display: 'City Clinic' } }],
    });
    const records = [org, enc, cond, other];
    const items = toTimeline(records, new SourceIndex(records.map((r) => r.resource as Resource)));
    render(<Timeline items={items} />);
    const asthma = screen.getByRole('article', { name: /^Asthma, 3 Mar 2021$/u });
    expect(asthma.textContent).toContain('Mercy Hospital');
    expect(asthma.textContent).toContain('Dr. Ada Lovelace');
    expect(asthma.textContent).toContain('Conditions');
    fireEvent.change(screen.getByLabelText('Type'), { target: { value: 'Immunizations' } });
    expect(screen.queryByRole('article', { name: /^Asthma/u })).toBeNull();
    expect(screen.getByRole('article', { name: /^Influenza, 10 Oct 2019$/u })).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Type'), { target: { value: '' } });
    fireEvent.change(screen.getByLabelText('Institution'), { target: { value: 'Mercy Hospital' } });
    expect(screen.queryByRole('article', { name: /^Influenza/u })).toBeNull();
    expect(screen.getByText('2 records')).toBeTruthy();
  });

  it('a sensitive record is announced, not shown, until selected', () => {
    const r = record(20, {
      resourceType: 'Condition',
      code: { text: 'Depression' },
      meta: { security: [{ code: 'PSY' }] },
      onsetDateTime: '2022-01-01',
    });
    const [item] = toTimeline([r], new SourceIndex([]));
    if (item === undefined) throw new Error('no item');
    render(<RecordCard item={item} />);
    expect(screen.queryByText('Depression')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Sensitive — select to show' }));
    expect(screen.getByText('Depression')).toBeTruthy();
  });

  it('R-2: a record that names no institution says who imported it, from its custodian (meta.source), as the CLI does', () => {
    const ME = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
    const PROVIDER = '0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc';
    const mine = record(30, {
      resourceType: 'DocumentReference',
      id: 'd1',
      status: 'current',
      date: '2026-11-02T10:00:00Z',
      description: 'Discharge letter',
      content: [{ attachment: { contentType: 'application/pdf', title: 'letter.pdf' } }],
      meta: { source: `did:ethr:0x7a69:${ME}` },
    });
    const theirs = record(31, {
      resourceType: 'AllergyIntolerance',
      id: 'a1',
      code: { text: 'Penicillin' },
      recordedDate: '2026-01-01',
      meta: { source: `did:ethr:0x7a69:${PROVIDER}` },
    });
    const named = record(32, {
      resourceType: 'DiagnosticReport',
      id: 'r1',
      status: 'final',
      code: { text: 'Blood count' },
      effectiveDateTime: '2019-10-10',
      performer: [{ reference: 'Organization/lab', display: 'City Lab' }],
      meta: { source: `did:ethr:0x7a69:${ME}` },
    });
    const bare = record(33, {
      resourceType: 'Condition',
      code: { text: 'Asthma' },
      onsetDateTime: '2020-01-01',
    });
    const records = [mine, theirs, named, bare];
    const resources = records.map((r) => r.resource as Resource);
    const institutions = (index: SourceIndex) => resources.map((r) => index.of(r).institution);
    // The patient's own view: checksum case or not, the DID is theirs.
    expect(institutions(new SourceIndex(resources, { me: ME.toLowerCase() }))).toEqual([
      'Imported by you',
      'Published by 0x3c44cd…4293bc',
      'City Lab',
      'Source not stated',
    ]);
    // A clinician reading what the patient shared.
    expect(institutions(new SourceIndex(resources, { me: PROVIDER, patient: ME }))[0]).toBe(
      'Imported by the patient',
    );
    render(<Timeline items={toTimeline(records, new SourceIndex(resources, { me: ME }))} />);
    expect(screen.getByRole('article', { name: /^Discharge letter/u }).textContent).toContain(
      'Imported by you',
    );
    fireEvent.change(screen.getByLabelText('Institution'), { target: { value: 'Imported by you' } });
    expect(screen.getByText('1 record')).toBeTruthy();
  });
});
