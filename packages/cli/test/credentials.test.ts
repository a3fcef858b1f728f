/**
 * Provider credentials through the real `carekey` binary against a real node (embedded anvil, 2-of-3 TrustedIssuers
 * governance): did resolve, issuer add, credential issue → present → verify, the share flow showing who the grantee
 * verifiably is, and revocation (THREAT-MODEL T-7).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../../node/src/startNode.ts';
import { carekey, jsonOf } from './support/carekeyBin.ts';
import { carekeyInProcess } from './support/carekeyInProcess.ts';

const PASS = 'a long passphrase';
const root = mkdtempSync(join(tmpdir(), 'carekey-credentials-'));
let node: CarekeyNode;
const who: Record<string, { address: string; did: string }> = {};
const as = (name: string) => ({
  CAREKEY_HOME: join(root, name),
  CAREKEY_PASSPHRASE: PASS,
  CAREKEY_NODE: node?.api.url ?? 'http://127.0.0.1:1',
});
const run = (name: string, ...args: string[]) => carekey(args, as(name));
const oneLine = (stderr: string) => expect(stderr).toMatch(/^carekey: [^\n]+\n$/u);

beforeAll(async () => {
  const names = ['gov1', 'gov2', 'board', 'doctor', 'patient'];
  const created = await Promise.all(
    names.map(async (name) =>
      jsonOf<{ address: string }>(await run(name, 'init', '--json', '--scrypt-log-n', '15')),
    ),
  );
  const dataDir = join(root, 'node');
  const outsider = privateKeyToAccount(generatePrivateKey()).address;
  node = await startNode({
    dataDir,
    shredDelay: 0,
    chain: {
      port: 0,
      governance: { governors: [created[0]?.address, created[1]?.address, outsider], threshold: 2 },
    } as NonNullable<StartNodeParameters['chain']>,
    api: { port: 0 },
  });
  for (const [i, name] of names.entries()) {
    const address = created[i]?.address as string;
    who[name] = { address, did: `did:ethr:0x${node.chain.chainId.toString(16)}:${address}` };
  }
}, 240_000);

afterAll(async () => {
  await node?.stop();
  rmSync(root, { recursive: true, force: true });
});

const did = (name: string) => who[name]?.did as string;

describe('carekey did, issuer, credential', () => {
  it('T-7: did resolve through ethr-did-resolver; issuer add needs 2 of 3 governors; replays and outsiders refused', async () => {
    const resolved = jsonOf<{ owner: string; document: { id: string } }>(
      await run('patient', 'did', 'resolve', did('board'), '--json'),
    );
    expect(resolved.owner).toBe(who.board?.address);
    expect(resolved.document.id).toBe(did('board'));
    const unresolvable = await run(
      'patient',
      'did',
      'resolve',
      'did:ethr:0x1:0x0000000000000000000000000000000000000001',
    );
    expect(unresolvable.code).toBe(1);
    oneLine(unresolvable.stderr);

    const first = await run('gov1', 'issuer', 'add', did('board'));
    expect(first.stdout).toMatch(/1 of 2 approvals/u);
    const again = await run('gov1', 'issuer', 'add', did('board'));
    expect(again.code).toBe(1);
    oneLine(again.stderr);
    expect(again.stderr).toMatch(/already approved|AlreadyApproved/u);
    const outsider = await run('board', 'issuer', 'add', did('board'));
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toMatch(/not a TrustedIssuers governor/u);
    const second = await run('gov2', 'issuer', 'add', did('board'));
    expect(second.stdout).toMatch(/now a trusted issuer/u);
  }, 300_000);

  it('T-7: issue → present selectively → verify; replay to another verifier or a stale nonce refused; shown in share; revoked', async () => {
    const credential = join(root, 'doctor.sd-jwt');
    const presentation = join(root, 'doctor.presentation');
    const issued = await run(
      'board',
      'credential',
      'issue',
      '--to',
      did('doctor'),
      '--role',
      'physician',
      '--licence',
      'MB-778812',
      '--specialty',
      'cardiology',
      '--org',
      'Hospital X',
      '--issuer-name',
      'Medical Board Y',
      '--out',
      credential,
    );
    expect(issued.stderr).toBe('');
    const presented = await run(
      'doctor',
      'credential',
      'present',
      credential,
      '--disclose',
      'role,specialty,org',
      '--audience',
      did('patient'),
      '--nonce',
      'n-1',
      '--out',
      presentation,
    );
    expect(presented.code).toBe(0);
    const verified = await run('patient', 'credential', 'verify', presentation, '--nonce', 'n-1');
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toMatch(/VALID credential/u);
    expect(verified.stdout).toMatch(/specialty\s+cardiology/u);
    expect(verified.stdout).toMatch(/withheld\s+licence/u);
    expect(verified.stdout).not.toContain('MB-778812');

    const stale = await run('patient', 'credential', 'verify', presentation, '--nonce', 'n-2');
    expect(stale.code).toBe(1);
    oneLine(stale.stderr);
    expect(stale.stderr).toMatch(/wrong-nonce/u);
    const replayed = await run('gov1', 'credential', 'verify', presentation, '--nonce', 'n-1');
    expect(replayed.code).toBe(1);
    expect(replayed.stderr).toMatch(/wrong-audience/u);

    expect((await run('doctor', 'publish-key')).code).toBe(0);
    const before = await run('patient', 'share', '--all', '--with', did('doctor'), '--no-wait');
    expect(before.stdout).toMatch(/who\s+UNVERIFIED/u);
    const toNode = await run(
      'doctor',
      'credential',
      'present',
      credential,
      '--disclose',
      'role,specialty,org',
    );
    expect(toNode.stdout).toMatch(
      /licensed physician, cardiology, Hospital X — verified by Medical Board Y/u,
    );
    const after = await run('patient', 'share', '--all', '--with', did('doctor'), '--no-wait');
    expect(after.stdout).toMatch(
      /who\s+licensed physician, cardiology, Hospital X — verified by Medical Board Y/u,
    );

    expect((await run('board', 'credential', 'revoke', credential)).code).toBe(0);
    const revoked = await run('patient', 'credential', 'verify', presentation, '--nonce', 'n-1');
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/revoked/u);
    const shown = await run('patient', 'share', '--all', '--with', did('doctor'), '--no-wait');
    expect(shown.stdout).toMatch(/UNVERIFIED: the credential .* no longer holds: revoked/u);
  }, 400_000);

  it('T-7: a delegate key issues and revokes for the board (`--issuer`); a key the board never named is refused with one line, nothing published', async () => {
    const inProcess = (name: string, ...args: string[]) => carekeyInProcess(args, as(name));
    const staff = jsonOf<{ address: string }>(
      await inProcess('staff', 'init', '--json', '--scrypt-log-n', '15'),
    ).address;
    const stranger = await inProcess(
      'patient',
      'credential',
      'issue',
      '--issuer',
      did('board'),
      '--to',
      did('doctor'),
      '--role',
      'physician',
      '--licence',
      'L-2',
      '--specialty',
      'cardiology',
      '--org',
      'Hospital X',
    );
    expect(stranger.code).toBe(1);
    oneLine(stranger.stderr);
    expect(stranger.stderr).toContain(`cannot sign for ${did('board')}`);
    expect(
      (await inProcess('board', 'did', 'delegate', 'add', staff, '--type', 'veriKey', '--validity', '1h'))
        .code,
    ).toBe(0);
    const file = join(root, 'by-staff.sd-jwt');
    const issued = await inProcess(
      'staff',
      'credential',
      'issue',
      '--issuer',
      did('board'),
      '--to',
      did('doctor'),
      '--role',
      'physician',
      '--licence',
      'L-2',
      '--specialty',
      'neurology',
      '--org',
      'Hospital X',
      '--issuer-name',
      'Medical Board Y',
      '--out',
      file,
    );
    expect(issued.stderr).toBe('');
    const shown = await inProcess('doctor', 'credential', 'present', file, '--disclose', 'role,specialty');
    expect(shown.stdout).toMatch(/licensed physician, neurology — verified by Medical Board Y/u);
    expect((await inProcess('staff', 'credential', 'revoke', file, '--issuer', did('board'))).code).toBe(0);
    const again = await inProcess('doctor', 'credential', 'present', file, '--disclose', 'role');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/revoked/u);
  }, 120_000);
});
