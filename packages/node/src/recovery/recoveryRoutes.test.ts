/**
 * Stolen-phone recovery through the node (THREAT-MODEL T-17, T-6): the node deploys `Recovery`, relays guardian
 * approvals, the owner's cancellation and the execution, and accepts ERC-1271 owners (a `RecoveryAccount`) in its
 * signed-request checks, so after the rotation the old key is refused everywhere and the new one accepted. Every
 * refusal has a clear code, changes nothing, and is a row in `identity_attempts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ZERO_BYTES32 } from '@carekey/sdk/chain';
import { createNodeClient, type NodeClient, NodeProblemError } from '@carekey/sdk/client';
import { X25519Identity } from '@carekey/sdk/crypto';
import type { Notification } from '@carekey/sdk/emergency';
import {
  cancelRecovery,
  changeDid,
  configureRecovery,
  enableRecovery,
  executeRecovery,
  getRecovery,
  sendRecoveryApproval,
  signRecoveryApproval,
} from '@carekey/sdk/recovery';
import { type Address, type Hex, stringToHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../startNode.ts';

const patient = privateKeyToAccount(generatePrivateKey());
const newKey = privateKeyToAccount(generatePrivateKey());
const guardians = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()));
const outsider = privateKeyToAccount(generatePrivateKey());
const DELAY = 2n;

let node: CarekeyNode;
let dir: string;
const client = (account = patient, identity?: Address): NodeClient =>
  createNodeClient({ url: node.api.url, account, ...(identity === undefined ? {} : { identity }) });

async function problem(promise: Promise<unknown>): Promise<{ status: number; code: string; detail: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NodeProblemError);
  const p = error as NodeProblemError;
  return { status: p.status, code: p.code, detail: p.detail };
}

async function refusals(): Promise<string[]> {
  const { rows } = await node.sql.query<{ operation: string; reason: string | null }>(
    "select operation, reason from identity_attempts where outcome = 'refused' order by id",
  );
  return rows.map((r) => `${r.operation}:${r.reason}`);
}

const approve = async (i: number, to: Address, signer = guardians[i]) =>
  sendRecoveryApproval(
    client(),
    await signRecoveryApproval({
      node: client(),
      account: signer as (typeof guardians)[number],
      guardian: (guardians[i] as (typeof guardians)[number]).address,
      identity: patient.address,
      newController: to,
    }),
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carekey-recovery-routes-'));
  node = await startNode({
    dataDir: dir,
    shredDelay: 0,
    chain: { port: 0 } as NonNullable<StartNodeParameters['chain']>,
    api: { port: 0, portalDir: null },
    // The recovery test's webhook points at loopback: deliveries are queued (and fail), which is what is checked.
    emergency: { allowPrivateWebhooks: true },
  });
}, 120_000);
afterAll(async () => {
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('stolen-phone recovery through the node', () => {
  it('T-17 T-6 k approvals and the delay rotate the key: the old key is refused everywhere, the new one accepted; bad approvals and cancellation are refused or void, and logged', async () => {
    expect(node.chain.deployment.contracts.recovery.address).toMatch(/^0x[0-9a-fA-F]{40}$/u);
    await enableRecovery({
      node: client(),
      account: patient,
      identity: patient.address,
      settings: { guardians: guardians.map((g) => g.address), threshold: 2, delay: DELAY },
    });
    const enabled = await getRecovery(client(), patient.address);
    expect(enabled.enabled).toBe(true);
    expect(enabled.owner).toBe(enabled.account);
    expect(enabled.controller).toBe(patient.address);
    // The patient's own key still speaks for the identity, now through the account (ERC-1271).
    await expect(client().listRecords()).resolves.toEqual(expect.objectContaining({ records: [] }));

    // A non-guardian, and someone signing as a guardian they do not own, are refused.
    const nonGuardian = await problem(
      sendRecoveryApproval(
        client(),
        await signRecoveryApproval({
          node: client(),
          account: outsider,
          guardian: outsider.address,
          identity: patient.address,
          newController: outsider.address,
        }),
      ),
    );
    expect(nonGuardian).toMatchObject({ status: 403, code: 'not-guardian' });
    expect(nonGuardian.detail).toContain('not a guardian');
    expect(await problem(approve(0, outsider.address, outsider))).toMatchObject({ code: 'bad-signature' });

    // One guardian alone is not enough; the same approval twice counts once.
    const first = await signRecoveryApproval({
      node: client(),
      account: guardians[0] as (typeof guardians)[number],
      guardian: (guardians[0] as (typeof guardians)[number]).address,
      identity: patient.address,
      newController: outsider.address,
    });
    await sendRecoveryApproval(client(), first);
    expect((await getRecovery(client(), patient.address)).pending).toMatchObject({
      approvals: 1,
      readyAt: '0',
    });
    expect(await problem(executeRecovery(client(), patient.address))).toMatchObject({ code: 'not-ready' });
    expect(await problem(sendRecoveryApproval(client(), first))).toMatchObject({ code: 'already-approved' });

    // Two guardians: the delay starts; someone else cannot cancel, the patient's key can.
    await approve(1, outsider.address);
    expect(await problem(executeRecovery(client(), patient.address))).toMatchObject({ code: 'not-ready' });
    expect(
      await problem(cancelRecovery({ node: client(), account: outsider, identity: patient.address })),
    ).toMatchObject({ status: 401, code: 'bad-signature' });
    await cancelRecovery({ node: client(), account: patient, identity: patient.address });
    const cancelled = await getRecovery(client(), patient.address);
    expect(cancelled.pending).toBeNull();
    expect(cancelled.round).toBe('1');
    // The cancelled round's approval, replayed, counts for nothing; nothing executes after the delay.
    const replay = await problem(sendRecoveryApproval(client(), first));
    expect(replay).toMatchObject({ status: 409, code: 'stale-round' });
    expect(replay.detail).toContain('replayed');
    await new Promise((resolve) => setTimeout(resolve, Number(DELAY) * 1000 + 1500));
    expect(await problem(executeRecovery(client(), patient.address))).toMatchObject({
      code: 'nothing-pending',
    });
    expect((await getRecovery(client(), patient.address)).controller).toBe(patient.address);

    // The real recovery: two guardians approve the new device's key, the delay passes, anyone executes.
    await approve(0, newKey.address);
    await approve(2, newKey.address);
    expect(await problem(executeRecovery(client(), patient.address))).toMatchObject({ code: 'not-ready' });
    await new Promise((resolve) => setTimeout(resolve, Number(DELAY) * 1000 + 1500));
    await executeRecovery(client(), patient.address);
    const after = await getRecovery(client(), patient.address);
    expect(after.controller).toBe(newKey.address);
    expect(after.owner).toBe(after.account);

    // The old key is powerless: signed node requests, key requests, DID changes.
    expect(await problem(client().listRecords())).toMatchObject({ status: 403, code: 'not-owner' });
    expect(
      await problem(
        client().releaseKeys({ grantId: ZERO_BYTES32, recordIds: [`0x${'11'.repeat(32)}` as Hex] }),
      ),
    ).toMatchObject({ status: 403 });
    const { rows: released } = await node.sql.query<{ reason: string | null }>(
      "select reason from access_log where action = 'refusal' order by id desc limit 1",
    );
    expect(released[0]?.reason).toBe('not-owner');
    expect(
      await problem(
        changeDid({
          node: client(patient, patient.address),
          account: patient,
          identity: patient.address,
          change: { kind: 'changeOwner', newOwner: outsider.address },
        }),
      ),
    ).toMatchObject({ status: 401, code: 'not-owner' });

    // The new key speaks for the identity: node requests, a new X25519 key on the DID, a delegate.
    const fresh = client(newKey, patient.address);
    await expect(fresh.listRecords()).resolves.toEqual(expect.objectContaining({ records: [] }));
    const recipient = X25519Identity.generate().recipient.toString();
    await fresh.publishEncryptionKey({ recipient });
    expect((await fresh.getDid(patient.address)).recipient).toBe(recipient);
    await changeDid({
      node: fresh,
      account: newKey,
      identity: patient.address,
      change: {
        kind: 'addDelegate',
        delegateType: stringToHex('sigAuth', { size: 32 }),
        delegate: guardians[0]?.address as Address,
        validity: 3600n,
      },
    });

    expect(await refusals()).toEqual([
      'recovery-approve:not-guardian',
      'recovery-approve:bad-signature',
      'recovery-execute:not-ready',
      'recovery-approve:already-approved',
      'recovery-execute:not-ready',
      'recovery-cancel:bad-signature',
      'recovery-approve:stale-round',
      'recovery-execute:nothing-pending',
      'recovery-execute:not-ready',
      'did-change:not-owner',
    ]);
  }, 120_000);

  it("T-17 R-17: every recovery event reaches the feed of the patient and of the guardians its Recovery contract names (and its webhook); guardians other than the contract's are refused; a re-share is anchored, an older epoch refused", async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const next = privateKeyToAccount(generatePrivateKey());
    const [g0, g1, g2] = guardians as [
      (typeof guardians)[number],
      (typeof guardians)[number],
      (typeof guardians)[number],
    ];
    const approveFor = async (g: typeof g0, to: Address) =>
      sendRecoveryApproval(
        client(),
        await signRecoveryApproval({
          node: client(),
          account: g,
          guardian: g.address,
          identity: owner.address,
          newController: to,
        }),
      );
    // After the recovery the patient reads its feed with the new key.
    let patientKey = owner;
    const feed = async (reader: typeof g0): Promise<Notification[]> =>
      (
        await (reader === owner ? client(patientKey, owner.address) : client(reader)).call<{
          notifications: Notification[];
        }>({
          method: 'GET',
          path: '/v1/notifications',
          signed: true,
        })
      ).notifications.filter((n) => n.patient === owner.address);
    const kinds = async (reader: typeof g0) => (await feed(reader)).map((n) => n.kind);
    /** The indexer writes the rows: wait for the state needed, with a deadline. */
    const until = async (reader: typeof g0, kind: Notification['kind'], count = 1) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const seen = (await kinds(reader)).filter((k) => k === kind).length;
        if (seen >= count) return;
        if (Date.now() > deadline) throw new Error(`no ${kind} notification for ${reader.address}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const settings = (body: { guardians: Address[]; webhook: { url: string } | null }) =>
      client(owner).call<{ guardians: Address[]; guardiansFrom: string }>({
        method: 'PUT',
        path: '/v1/notifications/settings',
        json: body,
        signed: true,
      });

    // Before recovery is on, the patient names guardians to the node; once it is on, the contract's count.
    expect((await settings({ guardians: [g2.address], webhook: null })).guardiansFrom).toBe('settings');
    await enableRecovery({
      node: client(owner),
      account: owner,
      identity: owner.address,
      settings: { guardians: [g0.address, g1.address], threshold: 2, delay: DELAY },
    });
    const mismatch = await problem(settings({ guardians: [g2.address], webhook: null }));
    expect(mismatch).toMatchObject({ status: 409, code: 'guardians-mismatch' });
    expect(mismatch.detail).toContain(g0.address);
    const answer = await settings({
      guardians: [g1.address, g0.address],
      webhook: { url: 'https://127.0.0.1:9/carekey-hook' },
    });
    expect(answer).toMatchObject({ guardiansFrom: 'recovery-contract' });
    expect([...answer.guardians].sort()).toEqual([g0.address, g1.address].sort());

    // A guardian starts a recovery: the patient and both contract guardians are told; g2 (named before) is not.
    await approveFor(g0, next.address);
    for (const reader of [owner, g0, g1]) await until(reader as typeof g0, 'recovery-started');
    const started = (await feed(owner)).find((n) => n.kind === 'recovery-started');
    expect(started).toMatchObject({
      role: 'patient',
      event: {
        identity: owner.address,
        guardian: g0.address,
        newController: next.address,
        approvals: 1,
        threshold: 2,
      },
    });
    expect((await feed(g1)).find((n) => n.kind === 'recovery-started')?.role).toBe('guardian');
    expect(await kinds(g2)).toEqual([]);
    await approveFor(g1, next.address);
    await until(owner as typeof g0, 'recovery-ready');
    expect(await kinds(owner)).toEqual(['recovery-started', 'recovery-approved', 'recovery-ready']);
    await cancelRecovery({ node: client(owner), account: owner, identity: owner.address });
    await until(g1, 'recovery-cancelled');

    // Then the real one: the key is replaced, everyone hears that it finished.
    await approveFor(g0, next.address);
    await approveFor(g1, next.address);
    await until(owner as typeof g0, 'recovery-ready', 2);
    await new Promise((resolve) => setTimeout(resolve, Number(DELAY) * 1000 + 1500));
    await executeRecovery(client(), owner.address);
    patientKey = next;
    for (const reader of [owner, g0, g1]) await until(reader as typeof g0, 'recovery-finished');
    expect((await feed(g0)).find((n) => n.kind === 'recovery-finished')).toMatchObject({
      event: {
        previousController: owner.address,
        newController: next.address,
      },
    });
    // The webhook got one signed delivery per event, with the public facts only.
    const { rows } = await node.sql.query<{ body: string }>(
      'select body from webhook_deliveries where patient = $1 order by id',
      [Buffer.from(owner.address.slice(2), 'hex')],
    );
    const types = rows.map((r) => (JSON.parse(r.body) as { type: string }).type);
    expect(types).toEqual([
      'recovery.started',
      'recovery.approved',
      'recovery.ready',
      'recovery.cancelled',
      'recovery.started',
      'recovery.approved',
      'recovery.ready',
      'recovery.finished',
    ]);

    // A re-share with the new key is anchored: new guardians, a higher epoch. An older epoch, or the old key, refused.
    const state = await getRecovery(client(), owner.address);
    const reshare = (epoch: number, account = next) =>
      configureRecovery({
        node: client(account, owner.address),
        account,
        identity: owner.address,
        settings: {
          guardians: [g1.address, g2.address],
          threshold: 2,
          delay: DELAY,
          shareSetRoot: `0x${'ab'.repeat(32)}`,
          shareEpoch: epoch,
        },
      });
    expect(await problem(reshare(state.shareEpoch + 1, owner))).toMatchObject({
      status: 401,
      code: 'bad-signature',
    });
    await reshare(state.shareEpoch + 1);
    const anchored = await getRecovery(client(), owner.address);
    expect(anchored).toMatchObject({
      shareSetRoot: `0x${'ab'.repeat(32)}`,
      shareEpoch: state.shareEpoch + 1,
    });
    expect(anchored.guardians).toEqual([g1.address, g2.address]);
    expect(await problem(reshare(state.shareEpoch + 1))).toMatchObject({
      status: 409,
      code: 'stale-share-set',
    });
    // From now on the new guardian set is the one told (g2 in, g0 out).
    await approveFor(g2, owner.address);
    await until(g2, 'recovery-started');
    expect((await kinds(g0)).filter((k) => k === 'recovery-started')).toHaveLength(2);
    expect(await refusals()).toEqual(
      expect.arrayContaining(['recovery-configure:bad-signature', 'recovery-configure:stale-share-set']),
    );
  }, 120_000);
});
