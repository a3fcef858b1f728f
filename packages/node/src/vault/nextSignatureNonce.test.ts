/**
 * `GET /v1/nonces/{address}` under relayed writes in a row (issue 3: `ConsentRegistryInvalidNonce(…, 32, 31)` after
 * ~40 grants). One real node (embedded anvil with 1 s blocks, PGlite, outbox worker, indexer, HTTP API), no mocks.
 *
 * The race: the route read `nonces(identity)` at the head, then the outbox rows still pending or submitted; a
 * write mined in the next block and marked confirmed by the worker between the two reads was in neither, so the
 * route handed out a nonce already used.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consentRegistryAbi, purposeOfUse, ScopeKind, signAccessRequestForRelay } from '@carekey/sdk/chain';
import { createNodeClient, type NodeClient, type NodeDescription } from '@carekey/sdk/client';
import { X25519Identity } from '@carekey/sdk/crypto';
import type { Address, Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { readContract } from 'viem/actions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CarekeyNode, type StartNodeParameters, startNode } from '../startNode.ts';
import { relayTestGrant } from '../testing/relayTestGrant.ts';
import { listAccessRequests } from './listAccessRequests.ts';
import { listGrants } from './listGrants.ts';
import { nextSignatureNonce } from './nextSignatureNonce.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'carekey-nonces-'));
let node: CarekeyNode;
let description: NodeDescription;

beforeAll(async () => {
  node = await startNode({
    dataDir,
    shredDelay: 0,
    // Blocks every second: a relayed grant waits in the mempool, then is mined while the next one is signed.
    chain: { port: 0, blockTime: 1 } as NonNullable<StartNodeParameters['chain']>,
    api: { port: 0 },
  });
  description = await createNodeClient({ url: node.api.url }).describe();
}, 300_000);
afterAll(async () => {
  await node?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function outboxSettled(timeoutMs = 90_000): Promise<{ kind: string; last_error: string | null }[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await node.sql.query(`select 1 from outbox where status in ('pending', 'submitted')`);
    if (rows.length === 0) break;
    if (Date.now() > deadline) throw new Error('the outbox did not settle');
    node.outbox.wake();
    await sleep(100);
  }
  const failed = await node.sql.query<{ kind: string; last_error: string | null }>(
    `select kind, last_error from outbox where status = 'failed' order by id`,
  );
  return failed.rows;
}

const chainNonce = (identity: Address) =>
  readContract(node.chain.client, {
    abi: consentRegistryAbi,
    address: description.contracts.consentRegistry,
    functionName: 'nonces',
    args: [identity],
  });

/** One grant as `carekey share --all` relays it; returns the nonce it was signed with. */
async function grant(client: NodeClient, patient: LocalAccount): Promise<bigint> {
  const relayed = await relayTestGrant({ client, patient, description });
  lastGrantDigest = relayed.grantDigest;
  return relayed.nonce;
}
let lastGrantDigest: Hex | undefined;

describe('the next-nonce route with relayed writes in flight', () => {
  it('counts a write the outbox marks confirmed between the chain read and the outbox read (no used nonce handed out)', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url: node.api.url, account: patient });
    expect(await grant(client, patient)).toBe(0n);
    // The route's chain read happens, then — before it reads the outbox — the grant is mined and the worker marks
    // it confirmed: the interleaving the loaded machine produced by chance, made certain.
    const chain = node.vault.chain;
    let headRead = false;
    const racing = {
      ...chain,
      contracts: chain.contracts,
      chainId: chain.chainId,
      head: async () => {
        const head = await chain.head();
        headRead = true;
        return head;
      },
      readNonce: async (...args: Parameters<typeof chain.readNonce>) => {
        const nonce = await chain.readNonce(...args);
        expect(headRead).toBe(true);
        expect(nonce).toBe(0n); // read at a head without the grant
        const deadline = Date.now() + 30_000;
        for (;;) {
          await node.outbox.tick();
          const { rows } = await node.sql.query<{ status: string }>('select status from outbox');
          if (rows.every((r) => r.status === 'confirmed')) break;
          if (Date.now() > deadline) throw new Error('the grant was not confirmed');
          await sleep(100);
        }
        return nonce;
      },
    };
    const next = await nextSignatureNonce({
      vault: { ...node.vault, chain: racing },
      contract: 'ConsentRegistry',
      identity: patient.address,
    });
    expect(await chainNonce(patient.address)).toBe(1n);
    expect(next.chainNonce).toBe(0n);
    expect(next.nonce).toBe(1n);
    expect(next.queued).toBe(1);
  }, 60_000);

  it('50 grants by one patient relayed back to back, each signed with the route’s nonce: all land, in order, none fails', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url: node.api.url, account: patient });
    const nonces: bigint[] = [];
    for (let i = 0; i < 50; i++) nonces.push(await grant(client, patient));
    expect(nonces).toEqual(Array.from({ length: 50 }, (_, i) => BigInt(i)));
    expect(await outboxSettled()).toEqual([]);
    expect(await chainNonce(patient.address)).toBe(50n);
  }, 120_000);

  it('lists a grant mined but not yet indexed as queued, then with its digest once indexed (revoke of a `share --no-wait` grant)', async () => {
    const patient = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url: node.api.url, account: patient });
    await node.indexer.stop();
    try {
      await grant(client, patient);
      const digest = lastGrantDigest;
      expect(digest).toMatch(/^0x[0-9a-f]{64}$/u);
      expect(await outboxSettled()).toEqual([]);
      expect(await chainNonce(patient.address)).toBe(1n); // mined; its GrantCreated not indexed (indexer stopped)
      const listed = await listGrants({ vault: node.vault, identity: patient.address });
      expect(listed.queued).toEqual([expect.objectContaining({ grantDigest: digest, state: 'queued' })]);
      expect(listed.grants.some((g) => g.grantDigest === digest)).toBe(false);
    } finally {
      node.indexer.start();
    }
    const deadline = Date.now() + 60_000;
    for (;;) {
      const listed = await listGrants({ vault: node.vault, identity: patient.address });
      if (listed.queued.length === 0) {
        expect(listed.grants).toEqual([
          expect.objectContaining({ grantDigest: lastGrantDigest, state: 'active' }),
        ]);
        break;
      }
      if (Date.now() > deadline) throw new Error('the indexer never attached the digest');
      await sleep(200);
    }
  }, 120_000);

  it('lists an access request mined but not yet indexed as queued, then once, with its id, once indexed (`request-access --no-wait`)', async () => {
    const requester = privateKeyToAccount(generatePrivateKey());
    const patient = privateKeyToAccount(generatePrivateKey()).address;
    const client = createNodeClient({ url: node.api.url, account: requester });
    await client.publishEncryptionKey({ recipient: X25519Identity.generate().recipient.toString() });
    expect(await outboxSettled()).toEqual([]);
    const mine = async () =>
      (await listAccessRequests({ vault: node.vault, identity: requester.address })).requests;
    let digest: Hex | undefined;
    await node.indexer.stop();
    try {
      const { nonce } = await client.call<{ nonce: string }>({
        method: 'GET',
        path: `/v1/nonces/${requester.address}?contract=ConsentRegistry`,
      });
      const now = BigInt(Math.floor(Date.now() / 1000));
      const signed = await signAccessRequestForRelay({
        account: requester,
        chainId: description.chainId,
        verifyingContract: description.contracts.consentRegistry,
        nonce: BigInt(nonce),
        deadline: now + 600n,
        request: {
          requester: requester.address,
          patient,
          scopeKind: ScopeKind.All,
          scopeData: [],
          purpose: purposeOfUse('TREAT'),
          expiresAt: now + 86_400n,
        },
      });
      digest = ((await client.createAccessRequest({ request: signed.body })) as { requestDigest: Hex })
        .requestDigest;
      expect(await outboxSettled()).toEqual([]); // mined; its AccessRequested not indexed (indexer stopped)
      expect(await mine()).toEqual([
        expect.objectContaining({ requestDigest: digest, requestId: undefined, status: 'queued' }),
      ]);
    } finally {
      node.indexer.start();
    }
    const deadline = Date.now() + 60_000;
    while ((await mine())[0]?.requestId === undefined) {
      if (Date.now() > deadline) throw new Error('the indexer never listed the request');
      await sleep(200);
    }
    expect(await mine()).toEqual([
      expect.objectContaining({ requestDigest: digest, requestId: expect.any(String), status: 'pending' }),
    ]);
  }, 120_000);
});
