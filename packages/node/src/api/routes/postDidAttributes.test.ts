import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ethereumDidRegistryAbi, X25519_ATTRIBUTE_NAME } from '@carekey/sdk/chain';
import { createNodeClient, NodeProblemError } from '@carekey/sdk/client';
import { armor, encrypt, X25519Identity, X25519Recipient } from '@carekey/sdk/crypto';
import {
  type CategoryKeyEscrow,
  categoryKey,
  categoryKeyId,
  getCategoryKeyEscrow,
  openCategoryKey,
  openCategoryKeyEscrow,
  putCategoryKeyEscrow,
  resolveCategoryKey,
  sealCategoryKey,
  sessionCategoryKey,
} from '@carekey/sdk/fhir';
import { changeDid } from '@carekey/sdk/recovery';
import { bytesToHex, type Hex, hexToBytes, type LocalAccount, stringToHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chain } from '../../chain/startChain.ts';
import { MAX_EARLIER_SEALS } from '../../identity/routes/categoryKeyEscrow.ts';
import { type CarekeyNode, startNode } from '../../startNode.ts';
import { didAttributeHash } from '../didAttributeHash.ts';
import { requestNode } from '../testing/requestNode.ts';

let node: CarekeyNode;
let chain: Chain;
let url: string;
const json = { 'content-type': 'application/json' };

beforeAll(async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'carekey-did-'));
  node = await startNode({ dataDir, shredDelay: 0, chain: { port: 0, blockTime: 0 }, api: { port: 0 } });
  chain = node.chain;
  url = node.api.url;
}, 300_000); // PGlite's first initdb takes seconds to tens of seconds

afterAll(async () => {
  await node?.stop();
});

const get = (path: string) => requestNode({ url, method: 'GET', path });
const post = (body: unknown) =>
  requestNode({ url, method: 'POST', path: '/v1/did/attributes', body: JSON.stringify(body), headers: json });

async function signAttribute(
  account: LocalAccount,
  identity: `0x${string}`,
  recipient: string,
  validity = 86_400n,
) {
  const nonce = (await get(`/v1/did/${identity}/nonce`)).json as { nonce: string; didRegistry: Hex };
  const hash = didAttributeHash({
    didRegistry: nonce.didRegistry,
    nonce: BigInt(nonce.nonce),
    identity,
    name: X25519_ATTRIBUTE_NAME,
    value: bytesToHex(new X25519Recipient(recipient).publicKey),
    validity,
  });
  return {
    identity,
    recipient,
    validity: validity.toString(),
    signature: await (account.sign as NonNullable<LocalAccount['sign']>)({ hash }),
  };
}

const recipientOf = (seed: number) => new X25519Recipient(new Uint8Array(32).fill(seed)).toString();

describe('DID routes', () => {
  it('GET /v1/did/{address} is 404 no-encryption-key before a key is published; the nonce route gives signing inputs', async () => {
    const identity = privateKeyToAccount(generatePrivateKey());
    const none = await get(`/v1/did/${identity.address}`);
    expect(none.status).toBe(404);
    expect(none.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(none.json).toMatchObject({ code: 'no-encryption-key' });
    const nonce = await get(`/v1/did/${identity.address.toLowerCase()}/nonce`);
    expect(nonce.status).toBe(200);
    expect(nonce.json).toEqual({
      identity: identity.address,
      owner: identity.address,
      nonce: '0',
      queued: 0,
      didRegistry: chain.deployment.contracts.didRegistry.address,
      attributeName: X25519_ATTRIBUTE_NAME,
    });
    expect((await get('/v1/did/0x1234')).status).toBe(400);
    expect((await get('/v1/did/not-an-address')).json).toMatchObject({ code: 'invalid-request' });
  });

  it('POST /v1/did/attributes relays a signed X25519 key; GET then answers the owner and the age1 recipient', async () => {
    const identity = privateKeyToAccount(generatePrivateKey());
    const recipient = recipientOf(7);
    const relayed = await post(await signAttribute(identity, identity.address, recipient));
    expect(relayed.status).toBe(200);
    expect(relayed.json).toMatchObject({ transactionHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const did = await get(`/v1/did/${identity.address}`);
    expect(did.status).toBe(200);
    expect(did.json).toEqual({
      identity: identity.address,
      did: `did:ethr:0x7a69:${identity.address}`,
      owner: identity.address,
      recipient,
    });
  });

  it('T-6 refuses (403) a key signed by someone else, and a replay of a relayed signature, without sending anything', async () => {
    const identity = privateKeyToAccount(generatePrivateKey());
    const stranger = privateKeyToAccount(generatePrivateKey());
    const relayer = chain.relayer;
    const before = await chain.client.getTransactionCount({ address: relayer });
    const forged = await post(await signAttribute(stranger, identity.address, recipientOf(9)));
    expect(forged.status).toBe(403);
    expect(forged.json).toMatchObject({ code: 'not-owner' });
    expect(await chain.client.getTransactionCount({ address: relayer })).toBe(before);
    expect((await get(`/v1/did/${identity.address}`)).status).toBe(404);

    const body = await signAttribute(identity, identity.address, recipientOf(10));
    expect((await post(body)).status).toBe(200);
    const replay = await post(body);
    expect(replay.status).toBe(403);
    expect(replay.json).toMatchObject({ code: 'not-owner' });
  });

  it('T-6 two DID changes back to back both land: the nonce route counts the identity’s DID writes still queued in the outbox', async () => {
    const me = privateKeyToAccount(generatePrivateKey());
    const delegate = privateKeyToAccount(generatePrivateKey()).address;
    const client = createNodeClient({ url, account: me });
    const nonceOf = async () =>
      (await get(`/v1/did/${me.address}/nonce`)).json as { nonce: string; queued: number };
    const until = async (queued: number) => {
      const deadline = Date.now() + 15_000;
      const count = async () =>
        (
          await node.sql.query<{ n: number }>(
            `select count(*)::int as n from outbox where status = 'pending'`,
          )
        ).rows[0]?.n;
      while ((await count()) !== queued) {
        if (Date.now() > deadline) throw new Error(`never ${queued} queued`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await node.outbox.stop(); // holds the first write queued (not mined) while the second is signed
    try {
      const first = client.publishEncryptionKey({ recipient: recipientOf(12) });
      await until(1);
      expect(await nonceOf()).toMatchObject({ nonce: '1', queued: 1 });
      const second = changeDid({
        node: client,
        account: me,
        identity: me.address,
        change: {
          kind: 'addDelegate',
          delegateType: stringToHex('sigAuth', { size: 32 }),
          delegate,
          validity: 3_600n,
        },
      });
      await until(2);
      node.outbox.start();
      const receipts = await Promise.all([first, second]);
      for (const receipt of receipts)
        expect(receipt).toMatchObject({ transactionHash: expect.stringMatching(/^0x/) });
    } finally {
      node.outbox.start();
    }
    expect((await get(`/v1/did/${me.address}`)).json).toMatchObject({ recipient: recipientOf(12) });
    const valid = await chain.client.readContract({
      abi: ethereumDidRegistryAbi,
      address: chain.deployment.contracts.didRegistry.address,
      functionName: 'validDelegate',
      args: [me.address, stringToHex('sigAuth', { size: 32 }), delegate],
    });
    expect(valid).toBe(true);
    expect(await nonceOf()).toMatchObject({ nonce: '2', queued: 0 });
  }, 60_000);

  it('refuses malformed bodies with 400 problems', async () => {
    const identity = privateKeyToAccount(generatePrivateKey());
    const good = await signAttribute(identity, identity.address, recipientOf(11));
    const cases: [unknown, string][] = [
      [{ ...good, recipient: 'age1nope' }, 'invalid-recipient'],
      [{ ...good, signature: '0x12' }, 'invalid-request'],
      [{ ...good, validity: '-1' }, 'invalid-request'],
      [{ ...good, extra: 1 }, 'invalid-request'],
      [{ identity: good.identity }, 'invalid-request'],
    ];
    for (const [body, code] of cases) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((r.json as { code: string }).code).toBe(code);
    }
  });
});

describe('category key escrow (GET/PUT /v1/identity/category-key)', () => {
  it('T-11 R-16 keeps the key sealed to the patient: re-sealed at will, never swapped; bad input refused with a reason, nothing changed, logged', async () => {
    const me = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url, account: me });
    const x = X25519Identity.generate();
    const y = X25519Identity.generate();
    const key = new Uint8Array(32).fill(7);
    expect(await getCategoryKeyEscrow(client)).toBeUndefined();
    // A wallet of before the escrow: its derived key is escrowed at first use.
    const first = await resolveCategoryKey({ node: client, identity: x, privateKey: `0x${'11'.repeat(32)}` });
    expect(first.source).toBe('derived');
    expect(first.key).toEqual(categoryKey(`0x${'11'.repeat(32)}`));
    const kept = await getCategoryKeyEscrow(client);
    expect(kept?.keyId).toBe(categoryKeyId(first.key));
    // The node holds only a sealed file: it opens with the patient's X25519 key alone.
    expect(kept?.sealed).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----/u);
    expect(await openCategoryKey({ sealed: kept?.sealed as string, identities: [x] })).toEqual(first.key);
    // Another device (a restore, the portal) with the same X25519 key gets it from the escrow.
    expect(
      await resolveCategoryKey({ node: client, identity: x, privateKey: `0x${'22'.repeat(32)}` }),
    ).toMatchObject({ source: 'escrow', key: first.key });
    // A rotation: re-sealed to the new key (y), same id.
    const moved = await resolveCategoryKey({
      node: client,
      identity: x,
      privateKey: `0x${'22'.repeat(32)}`,
      sealTo: y.recipient.toString(),
    });
    expect(moved.key).toEqual(first.key);
    await expect(
      openCategoryKey({ sealed: (await getCategoryKeyEscrow(client))?.sealed as string, identities: [x] }),
    ).rejects.toThrow(/does not open/u);
    expect(
      await resolveCategoryKey({ node: client, identity: y, privateKey: `0x${'33'.repeat(32)}` }),
    ).toMatchObject({
      source: 'escrow',
      key: first.key,
    });

    const before = await getCategoryKeyEscrow(client);
    const put = (json: unknown) =>
      client
        .call({ method: 'PUT', path: '/v1/identity/category-key', json, signed: true })
        .catch((e: unknown) => e);
    const sealed = await sealCategoryKey({ key, recipient: y.recipient.toString() });
    const twoStanzas = armor(
      await encrypt({
        recipients: [new X25519Recipient(y.recipient.toString()), x.recipient],
        plaintext: key,
      }),
    );
    const cases: [unknown, number, string][] = [
      // Another key than the identity's: never swapped (a thief's key, a client bug).
      [{ keyId: categoryKeyId(key), sealed }, 409, 'category-key-mismatch'],
      [{ keyId: before?.keyId, sealed: 'not an age file' }, 400, 'invalid-sealed-key'],
      [{ keyId: before?.keyId, sealed: twoStanzas }, 400, 'invalid-sealed-key'],
      [{ keyId: before?.keyId, sealed: 'x'.repeat(2000) }, 400, 'invalid-request'],
      [{ keyId: '0x12', sealed }, 400, 'invalid-request'],
    ];
    for (const [body, status, code] of cases) {
      const refused = await put(body);
      expect(refused, JSON.stringify(body).slice(0, 80)).toBeInstanceOf(NodeProblemError);
      expect(refused).toMatchObject({ status, code });
    }
    expect(await getCategoryKeyEscrow(client)).toEqual(before);
    const { rows } = await node.sql.query<{ reason: string }>(
      "select reason from identity_attempts where operation = 'category-key' and actor = $1 and outcome = 'refused' order by id",
      [hexToBytes(me.address)],
    );
    expect(rows.map((r) => r.reason)).toEqual([
      'category-key-mismatch',
      'invalid-sealed-key',
      'invalid-sealed-key',
    ]);
    // Unsigned, or signed by someone else: nothing of it shows.
    const anonymous = await createNodeClient({ url })
      .call({ method: 'GET', path: '/v1/identity/category-key' })
      .catch((e: unknown) => e);
    expect(anonymous).toMatchObject({ status: 401 });
    const other = createNodeClient({ url, account: privateKeyToAccount(generatePrivateKey()) });
    expect(await getCategoryKeyEscrow(other)).toBeUndefined();
  }, 60_000);

  it('T-6 T-17 R-16 a thief who re-seals the escrow to its own key cannot take the patient’s seal away: the recovered device opens an earlier one, even after a flood', async () => {
    const me = privateKeyToAccount(generatePrivateKey());
    const client = createNodeClient({ url, account: me });
    const phone = X25519Identity.generate();
    const thief = X25519Identity.generate();
    const newPhone = X25519Identity.generate();
    const mine = await resolveCategoryKey({
      node: client,
      identity: phone,
      privateKey: `0x${'44'.repeat(32)}`,
    });
    // The thief holds the stolen wallet (its category key, and the identity's key, so its requests are signed as
    // the patient's): it re-seals the escrow to a key of its own, more often than the node keeps seals.
    for (let n = 0; n < MAX_EARLIER_SEALS + 3; n++) {
      await putCategoryKeyEscrow(client, { key: mine.key, recipient: thief.recipient.toString() });
    }
    const robbed = await getCategoryKeyEscrow(client);
    await expect(openCategoryKey({ sealed: robbed?.sealed as string, identities: [phone] })).rejects.toThrow(
      /does not open/u,
    );
    expect(robbed?.earlier?.length).toBeLessThanOrEqual(MAX_EARLIER_SEALS);
    const { rows } = await node.sql.query<{ n: number }>(
      'select count(*)::int as n from category_key_seals where identity = $1',
      [hexToBytes(me.address)],
    );
    expect(rows[0]?.n).toBe(MAX_EARLIER_SEALS);
    // The recovered device holds the old X25519 key again (from the guardians' shares): it opens the patient's own
    // seal, the one made before the theft, and re-seals to the new device's key.
    expect(await openCategoryKeyEscrow({ escrow: robbed as CategoryKeyEscrow, identities: [phone] })).toEqual(
      mine.key,
    );
    const recovered = await resolveCategoryKey({
      node: client,
      identity: phone,
      privateKey: `0x${'55'.repeat(32)}`,
      sealTo: newPhone.recipient.toString(),
    });
    expect(recovered).toMatchObject({ source: 'escrow', key: mine.key });
    const after = await getCategoryKeyEscrow(client);
    expect(await openCategoryKey({ sealed: after?.sealed as string, identities: [newPhone] })).toEqual(
      mine.key,
    );
    // Without recovery a stranger's key opens none of the seals, and a seal of another key is never taken as it.
    await expect(
      openCategoryKeyEscrow({ escrow: after as CategoryKeyEscrow, identities: [X25519Identity.generate()] }),
    ).rejects.toThrow(/does not open/u);
    const swapped = { ...(after as CategoryKeyEscrow), keyId: categoryKeyId(new Uint8Array(32).fill(9)) };
    await expect(openCategoryKeyEscrow({ escrow: swapped, identities: [newPhone] })).rejects.toThrow(
      /does not match its id/u,
    );
  }, 120_000);

  it('T-11 sessionCategoryKey (the CLI and the portal): resolved once per session, the held key escrowed; a failure is not kept, a bad held key refused', async () => {
    const privateKey = generatePrivateKey();
    const client = createNodeClient({ url, account: privateKeyToAccount(privateKey) });
    const identity = X25519Identity.generate();
    // The node unreachable: refused, and not kept for the session — the next call asks again.
    const session = {
      node: createNodeClient({ url: 'http://127.0.0.1:9', account: privateKeyToAccount(privateKey) }),
      keys: { identity, privateKey },
    };
    await expect(sessionCategoryKey(session)).rejects.toThrow();
    session.node = client;
    const first = sessionCategoryKey(session);
    expect(sessionCategoryKey(session)).toBe(first);
    expect(await first).toEqual(categoryKey(privateKey));
    expect((await getCategoryKeyEscrow(client))?.keyId).toBe(categoryKeyId(await first));
    // A wallet that holds its key (since a rotation): that key, and the escrow is re-sealed to it.
    const held = new Uint8Array(32).fill(9);
    const heldClient = createNodeClient({ url, account: privateKeyToAccount(generatePrivateKey()) });
    const wallet = {
      node: heldClient,
      keys: { identity, privateKey: generatePrivateKey() },
      heldCategoryKey: `0x${'09'.repeat(32)}` as const,
    };
    expect(await sessionCategoryKey(wallet)).toEqual(held);
    expect((await getCategoryKeyEscrow(heldClient))?.keyId).toBe(categoryKeyId(held));
    await expect(
      sessionCategoryKey({ ...wallet, heldCategoryKey: '0x1234' as `0x${string}` }),
    ).rejects.toThrow(/not 32 bytes of 0x-hex/u);
  }, 60_000);
});
