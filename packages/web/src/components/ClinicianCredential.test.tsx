// @vitest-environment happy-dom
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeProblemError } from '@carekey/sdk/client';
import { issueCredential, toDid } from '@carekey/sdk/identity';
import { cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { type Hex, zeroAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import type { Grant } from '../lib/actions.ts';
import { emergencyRefusalWords, type OpenedEmergency, readCredential } from '../lib/clinicianCredential.ts';
import { buildEmergencySummary } from '../lib/emergency.ts';
import type { KeptAccess } from '../lib/emergencyAccesses.ts';
import type { PortalRecord, Resource } from '../lib/records.ts';
import { OpenedSummary, RunningAccesses } from './ClinicianCredential.tsx';
import { WhoHasAccess } from './Sharing.tsx';

afterEach(cleanup);

const CHAIN = 31337;
const doctorKey = generatePrivateKey();
const DOCTOR = privateKeyToAccount(doctorKey).address;
const boardKey = generatePrivateKey();
const BOARD_DID = toDid({ address: privateKeyToAccount(boardKey).address, chainId: CHAIN });

function issue(to: Hex, expiresAt = Math.floor(Date.now() / 1000) + 3600): Promise<string> {
  return issueCredential({
    issuerDid: BOARD_DID,
    privateKey: boardKey,
    issuerName: 'Medical Board Y',
    subjectDid: toDid({ address: to, chainId: CHAIN }),
    claims: { role: 'physician', licence: 'MB-9', specialty: 'cardiology', organisation: 'Hospital X' },
    status: { uri: 'http://127.0.0.1:1/v1/status-lists/x/y', idx: 0 },
    expiresAt,
  });
}

const problem = (status: number, code: string, detail = '') =>
  new NodeProblemError({
    problem: { type: 'about:blank', title: 't', status, code, detail },
    method: 'POST',
    path: '/v1/emergency/access',
  });

describe('clinician credential in the portal', () => {
  it('T-7: a credential issued by the SDK is read with every claim; someone else’s, an expired one, another network’s and garbage are refused in words', async () => {
    const held = readCredential(`${await issue(DOCTOR)}\n`, { me: DOCTOR, chainId: CHAIN });
    expect(held.issuerName).toBe('Medical Board Y');
    expect(held.claims).toEqual({
      role: 'physician',
      licence: 'MB-9',
      specialty: 'cardiology',
      organisation: 'Hospital X',
    });
    const other = privateKeyToAccount(generatePrivateKey()).address;
    expect(() => readCredential(held.raw, { me: other, chainId: CHAIN })).toThrow(
      /issued to someone else .*Only the clinician it names can present it/u,
    );
    expect(() => readCredential(held.raw, { me: DOCTOR, chainId: 1 })).toThrow(/another Carekey network/u);
    const expired = await issue(DOCTOR, Math.floor(Date.now() / 1000) - 60);
    expect(() => readCredential(expired, { me: DOCTOR, chainId: CHAIN })).toThrow(/expired on/u);
    for (const junk of ['', 'not.a.credential~', 'a.b.c', `${held.raw.split('~')[0]}~`]) {
      expect(() => readCredential(junk, { me: DOCTOR, chainId: CHAIN })).toThrow(
        /not a Carekey clinician credential/u,
      );
    }
  });

  it('T-16 T-24: every break-glass and credential refusal of the node in plain words; other errors left to the general words', () => {
    const cases: [NodeProblemError, RegExp][] = [
      [problem(403, 'no-credential'), /needs your professional credential.*Nothing was opened/u],
      [
        problem(403, 'credential-refused', 'the credential was refused: revoked'),
        /your licensing board has revoked it\. Nothing was opened/u,
      ],
      [
        problem(403, 'credential-refused', 'the credential is not the clinician’s'),
        /names another clinician/u,
      ],
      [
        problem(403, 'credential-refused', 'the credential was refused: untrusted-issuer'),
        /not a licensing board this node trusts/u,
      ],
      [problem(403, 'policy-off'), /has not allowed emergency access \(their policy is off\)/u],
      [problem(403, 'scope-not-allowed'), /allows their emergency summary only/u],
      [problem(429, 'emergency-rate-limited'), /reached the limit of emergency accesses.*listed for review/u],
      [problem(404, 'no-emergency-record'), /keeps no emergency summary/u],
      [problem(403, 'access-expired'), /^This emergency access has expired: it can no longer be re-opened/u],
      [problem(404, 'unknown-access'), /no emergency access of yours with that id, so nothing was opened/u],
      [
        problem(403, 'revoked', 'revoked'),
        /^The node refused your credential: your licensing board has revoked it/u,
      ],
    ];
    for (const [error, words] of cases) expect(emergencyRefusalWords(error)).toMatch(words);
    expect(emergencyRefusalWords(problem(503, 'chain-unavailable'))).toBeUndefined();
    expect(emergencyRefusalWords(new Error('x'))).toBeUndefined();
  });

  it('R-3: a clinician’s running break-glass accesses list the patient and time left, each re-opened in one action; an ended one says so and offers nothing', () => {
    const patient = (n: string) => `0x${n.repeat(40)}` as Hex;
    const kept: KeptAccess[] = [
      {
        accessId: `0x${'aa'.repeat(32)}`,
        patient: patient('1'),
        scope: 'summary',
        expiresAt: new Date(Date.now() - 5 * 60_000).toISOString(),
      },
      {
        accessId: `0x${'bb'.repeat(32)}`,
        patient: patient('2'),
        scope: 'summary',
        expiresAt: new Date(Date.now() + 42 * 60_000 - 1_000).toISOString(),
      },
      {
        accessId: `0x${'cc'.repeat(32)}`,
        patient: patient('3'),
        scope: 'all',
        expiresAt: new Date(Date.now() + 3 * 3600_000).toISOString(),
      },
    ];
    const reopened: string[] = [];
    render(<RunningAccesses kept={kept} busy={false} onReopen={(a) => reopened.push(a.accessId)} />);
    const items = within(screen.getByTestId('emergency-accesses')).getAllByRole('listitem');
    expect(items.map((i) => i.textContent)).toEqual([
      expect.stringMatching(
        /^Patient 0x111111…111111 \(emergency summary\): expired on .*: it can no longer be re-opened\. Break the glass again if you still need it\.$/u,
      ),
      expect.stringMatching(
        /^Patient 0x222222…222222 \(emergency summary\): 42 min left \(until .*\)\. Re-open$/u,
      ),
      expect.stringMatching(/^Patient 0x333333…333333 \(everything the patient allows\): 3 h left/u),
    ]);
    expect(within(items[0] as HTMLElement).queryByRole('button')).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Re-open the emergency access to 0x222222…222222' }));
    expect(reopened).toEqual([`0x${'bb'.repeat(32)}`]);
  });

  it('R-3: what a break-glass opened reads summary first (the patient, then the IPS sections), with its time limit', () => {
    // The summary as the patient's portal builds it from the HL7 minimal IPS example (what break-glass releases).
    const example = JSON.parse(
      readFileSync(
        join(import.meta.dirname, '../../../../../shared/data/ips/Bundle-IPS-examples-Bundle-minimal.json'),
        'utf8',
      ),
    ) as { entry: { resource: Resource }[] };
    const records: PortalRecord[] = example.entry
      .map((e) => e.resource)
      .filter((r) => r.resourceType !== 'Composition')
      .map((resource, i) => ({
        recordId: `0x${(i + 1).toString(16).padStart(64, '0')}`,
        blobId: 'b',
        publisher: zeroAddress,
        state: 'active',
        categoryTag: `0x${'00'.repeat(32)}`,
        stanza: '-> X25519 x\nx',
        resource,
        addedAt: '2026-01-01T00:00:00Z',
      }));
    const bundle = buildEmergencySummary(records, zeroAddress);
    const opened: OpenedEmergency = {
      access: {
        accessId: `0x${'11'.repeat(32)}`,
        patient: zeroAddress,
        clinician: DOCTOR,
        scope: 'summary',
        expiresAt: '2026-12-03T15:34:00Z',
        records: [],
      },
      summary: bundle,
      records: [],
    };
    render(<OpenedSummary opened={opened} />);
    const region = screen.getByRole('region', { name: 'Emergency summary' });
    expect(within(region).getByRole('status').textContent).toMatch(
      /^Emergency access to patient .* until .*the patient is notified\.$/u,
    );
    const headings = within(region)
      .getAllByRole('heading')
      .map((h) => h.textContent);
    expect(headings[0]).toBe('Patient');
    expect(headings.join(' ')).toMatch(/Allerg/u);
    expect(region.textContent).toMatch(/penicillin/u);
  });

  it('R-2: who has access shows who each recipient verifiably is, or that they are unverified', () => {
    const grant = (grantee: string): Grant =>
      ({
        grantId: `0x${grantee.slice(2, 10).padEnd(64, '0')}`,
        patient: zeroAddress,
        grantee,
        state: 'active',
        expiresAt: String(Math.floor(Date.now() / 1000) + 3600),
        purposeText: 'TREAT',
      }) as unknown as Grant;
    const stranger = privateKeyToAccount(generatePrivateKey()).address;
    render(
      <WhoHasAccess
        grants={[grant(DOCTOR), grant(stranger)]}
        audit={[]}
        me={zeroAddress}
        busy={false}
        onRevoke={() => {}}
        identities={
          new Map([
            [
              DOCTOR.toLowerCase(),
              {
                identity: DOCTOR,
                verified: true,
                issuerName: 'Medical Board Y',
                claims: { role: 'physician', specialty: 'cardiology', organisation: 'Hospital X' },
              },
            ],
            [stranger.toLowerCase(), null],
          ])
        }
      />,
    );
    const lines = screen.getAllByTestId('verified-identity').map((p) => p.textContent);
    expect(lines).toEqual([
      'licensed physician, cardiology, Hospital X — verified by Medical Board Y',
      'Unverified: no credential presented',
    ]);
  });
});
