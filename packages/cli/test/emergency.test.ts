/**
 * Break-glass end to end through the real `carekey` binary (the R-3 pass; set-up and refusals in process) against a real node (embedded anvil, PGlite, the HTTP API):
 * the patient imports an IPS and sets policy summary; a clinician credentialed by a trusted board opens the summary
 * without the patient; the patient sees the notification and the audit row; then a revoked credential, no credential
 * and policy off are refused with one line, logged, and nothing is released (THREAT-MODEL R-3, R-6, T-16).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carekey, jsonOf } from './support/carekeyBin.ts';
import { carekeyInProcess } from './support/carekeyInProcess.ts';
import { startTestNode, type TestNode } from './support/startTestNode.ts';

const PASS = 'a long passphrase';
const IPS_FILE = '/work/shared/data/ips/bundle-minimal.json';
const root = mkdtempSync(join(tmpdir(), 'carekey-emergency-'));
let node: TestNode;
const who: Record<string, { address: string; did: string }> = {};
const as = (name: string) => ({
  CAREKEY_HOME: join(root, name),
  CAREKEY_PASSPHRASE: PASS,
  CAREKEY_NODE: node?.url ?? 'http://127.0.0.1:1',
});
// The story's pass through the real binary is the R-3 test; set-up and refusals run the commands in process.
const bin = (name: string, ...args: string[]) => carekey(args, as(name));
const run = (name: string, ...args: string[]) => carekeyInProcess(args, as(name));
const oneLine = (stderr: string) => expect(stderr).toMatch(/^carekey: [^\n]+\n$/u);
const credential = join(root, 'doctor.sd-jwt');
const credential2 = join(root, 'doctor-2.sd-jwt');

beforeAll(async () => {
  const names = ['gov', 'board', 'doctor', 'patient', 'guardian'];
  const created = await Promise.all(
    names.map(async (name) =>
      jsonOf<{ address: string }>(await run(name, 'init', '--json', '--scrypt-log-n', '15')),
    ),
  );
  node = await startTestNode({
    chain: { port: 0, governance: { governors: [created[0]?.address as `0x${string}`], threshold: 1 } },
  } as Parameters<typeof startTestNode>[0]);
  for (const [i, name] of names.entries()) {
    const address = created[i]?.address as string;
    who[name] = { address, did: `did:ethr:0x${node.node.chain.chainId.toString(16)}:${address}` };
  }
  expect((await run('gov', 'issuer', 'add', who.board?.did as string)).stdout).toMatch(
    /now a trusted issuer/u,
  );
  // Two credentials: the first is revoked in the refusal test, the second shows the policy-off refusal.
  for (const out of [credential, credential2]) {
    const issued = await run(
      'board',
      ...[
        'credential',
        'issue',
        '--to',
        who.doctor?.did as string,
        '--role',
        'physician',
        '--licence',
        'MB-9',
      ],
      ...['--specialty', 'emergency medicine', '--org', 'Hospital X', '--issuer-name', 'Medical Board Y'],
      ...['--out', out],
    );
    expect(issued.code, issued.stderr).toBe(0);
  }
}, 240_000);

afterAll(async () => {
  await node?.stop();
  rmSync(root, { recursive: true, force: true });
});

describe('carekey emergency, notifications', () => {
  it('R-3: policy summary, a credentialed clinician opens the summary without the patient; the patient sees the notification and the audit row', async () => {
    const imported = await bin('patient', 'import', IPS_FILE, '--json');
    expect(imported.code, imported.stderr).toBe(0);
    expect(jsonOf<{ emergency?: unknown }>(imported).emergency).toBeUndefined(); // policy off: no summary yet
    const bad = await bin('patient', 'emergency', 'policy', 'sometimes');
    expect(bad.code).toBe(1);
    oneLine(bad.stderr);
    const policy = jsonOf<{ policy: string; summaryRecordId: string; sections: { title: string }[] }>(
      await bin('patient', 'emergency', 'policy', 'summary', '--json'),
    );
    expect(policy.policy).toBe('summary');
    expect(policy.summaryRecordId).toMatch(/^0x[0-9a-f]{64}$/u);
    expect(policy.sections.map((s) => s.title).join(' ')).toMatch(/Allergies/u);
    const guardians = await bin('patient', 'notifications', '--guardian', who.guardian?.did as string);
    expect(guardians.stdout).toMatch(/Notifying: you and 1 guardian/u);

    const opened = await bin(
      'doctor',
      ...['emergency', 'open', who.patient?.did as string, '--reason', 'unconscious after a fall'],
      ...['--credential', credential],
    );
    expect(opened.code, opened.stderr).toBe(0);
    expect(opened.stdout).toMatch(/^EMERGENCY ACCESS 0x/u);
    expect(opened.stdout).toMatch(/Allerg/u);
    expect(opened.stdout).toMatch(/Medication/u);

    const feed = await bin('patient', 'notifications');
    expect(feed.stdout).toMatch(
      /BREAK-GLASS .*physician, emergency medicine, Hospital X — verified by Medical Board Y/u,
    );
    expect(feed.stdout).toMatch(/reason: unconscious after a fall/u);
    expect((await bin('guardian', 'notifications')).stdout).toMatch(
      /opened patient 0x[0-9a-fA-F]{40}'s emergency summary/u,
    );
    const audit = jsonOf<{ entries: { action: string; outcome: string; actor: string }[] }>(
      await bin('patient', 'audit', '--json'),
    );
    expect(audit.entries.filter((e) => e.action === 'break_glass')).toEqual([
      expect.objectContaining({ outcome: 'allowed', actor: who.doctor?.address }),
    ]);
  }, 300_000);

  it('T-16: no credential, a revoked credential, policy off: refused with one line, logged, nothing released', async () => {
    const patient = who.patient?.did as string;
    const none = await run('doctor', 'emergency', 'open', patient, '--reason', 'checking');
    expect(none.code).toBe(1);
    oneLine(none.stderr);
    expect(none.stderr).toMatch(/credential/u);
    expect(none.stdout).toBe('');

    expect((await run('board', 'credential', 'revoke', credential)).code).toBe(0);
    const revoked = await run(
      'doctor',
      'emergency',
      'open',
      patient,
      '--reason',
      'x',
      '--credential',
      credential,
    );
    expect(revoked.code).toBe(1);
    oneLine(revoked.stderr);
    expect(revoked.stderr).toMatch(/revoked/u);
    expect(revoked.stdout).toBe('');

    const switched = await run('patient', 'emergency', 'policy', 'off');
    expect(switched.stdout, switched.stderr).toMatch(/Emergency access is off/u);
    const off = await run(
      'doctor',
      'emergency',
      'open',
      patient,
      '--reason',
      'x',
      '--credential',
      credential2,
    );
    expect(off.code).toBe(1);
    oneLine(off.stderr);
    expect(off.stderr).toMatch(/not allowed emergency access/u);
    expect(off.stdout).toBe('');

    const audit = jsonOf<{
      entries: { action: string; outcome: string; reason: string | null; recordIds: string[] }[];
    }>(await run('patient', 'audit', '--json'));
    const refusals = audit.entries.filter((e) => e.action === 'break_glass' && e.outcome === 'denied');
    expect(refusals.map((e) => e.reason)).toEqual(['no-credential', 'credential:revoked', 'policy-off']);
    expect(refusals.every((e) => e.recordIds.length === 0)).toBe(true);
    // Back on: the summary is rebuilt from the records, the previous summary record among them (synced and checked).
    const again = await run('patient', 'emergency', 'policy', 'summary', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(jsonOf<{ policy: string }>(again).policy).toBe('summary');
    const { notifications } = jsonOf<{ notifications: unknown[] }>(
      await run('patient', 'notifications', '--json'),
    );
    expect(notifications).toHaveLength(1);
  }, 300_000);
});
