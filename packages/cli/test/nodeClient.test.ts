import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobIdFromDigest } from '@carekey/sdk/blobs';
import {
  createNodeClient,
  NodeProblemError,
  NodeResponseError,
  NodeUnreachableError,
} from '@carekey/sdk/client';
import { newWalletSecrets, walletKeys } from '@carekey/sdk/wallet';
import { sha256 } from '@noble/hashes/sha2.js';
import { privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTRIBUTE_WAIT_MS } from '../../node/src/api/routes/postDidAttributes.ts';
import { publishKey } from '../src/commands/publishKey.ts';
import { carekeyHome } from '../src/home/carekeyHome.ts';
import { startTestNode, type TestNode } from './support/startTestNode.ts';

const PHRASE = 'test test test test test test test test test test test junk';
let node: TestNode;
beforeAll(async () => {
  node = await startTestNode();
}, 180_000);
afterAll(async () => node?.stop());

function keys(account = 0) {
  const k = walletKeys(newWalletSecrets({ mnemonic: PHRASE, account }));
  return { ...k, account: privateKeyToAccount(k.privateKey) };
}

describe('@carekey/sdk/client against a real node', () => {
  it('describes the node and publishes an X25519 key on the DID', async () => {
    const me = keys(3);
    const client = createNodeClient({ url: node.url, account: me.account });
    const description = await client.describe();
    expect(description.chainId).toBe(31337);
    expect(description.audience).toBe(node.node.audience);

    const before = await client.getDid(me.address).catch((e: unknown) => e);
    expect(before).toBeInstanceOf(NodeProblemError);
    expect((before as NodeProblemError).status).toBe(404);
    expect((before as NodeProblemError).code).toBe('no-encryption-key');

    const receipt = await client.publishEncryptionKey({ recipient: me.recipient });
    // 200 once mined, or 202 while the node's outbox still holds it
    if (receipt.status === undefined) expect(receipt.transactionHash).toMatch(/^0x[0-9a-f]{64}$/u);
    let did = await client.getDid(me.address).catch(() => undefined);
    for (let i = 0; i < 30 && did === undefined; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      did = await client.getDid(me.address).catch(() => undefined);
    }
    if (did === undefined) throw new Error('the key never reached the DID');
    expect(did).toMatchObject({ identity: me.address, owner: me.address, recipient: me.recipient });
    expect(did.did).toBe(`did:ethr:0x7a69:${me.address}`);
  }, 60_000);

  it('uploads and downloads a payload, checking its hash; refusals carry the node’s code (T-1)', async () => {
    const me = keys(4);
    const client = createNodeClient({ url: node.url, account: me.account });
    const payload = new Uint8Array(70_000).map((_, i) => (i * 7919) & 255);
    const stored = await client.putBlob(payload);
    expect(stored).toEqual({ cid: blobIdFromDigest(sha256(payload)).id, size: payload.length });
    expect(await client.getBlob(stored.cid)).toEqual(payload);

    const missing = blobIdFromDigest(sha256(new Uint8Array([1, 2, 3]))).id;
    const notFound = await client.getBlob(missing).catch((e: unknown) => e);
    expect(notFound).toMatchObject({ name: 'NodeProblemError', status: 404, code: 'blob-not-found' });

    // signing for an identity the key does not own
    const impostor = createNodeClient({ url: node.url, account: me.account, identity: keys(5).address });
    const refused = await impostor.getBlob(stored.cid).catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 403, code: 'not-owner' });
    expect((refused as Error).message).toMatch(/not the current owner/u);

    // no key at all
    const anonymous = createNodeClient({ url: node.url });
    await expect(anonymous.getBlob(stored.cid)).rejects.toBeInstanceOf(NodeResponseError);
  }, 60_000);

  it('init’s key publication returns once the key is on the DID, also when the node answers 202 (its outbox held past the node’s wait)', async () => {
    const me = keys(6);
    const dir = mkdtempSync(join(tmpdir(), 'carekey-publish-key-'));
    const saved = process.env.CAREKEY_NODE;
    process.env.CAREKEY_NODE = node.url;
    try {
      await node.node.outbox.stop();
      let settled = false;
      const published = publishKey(carekeyHome({ CAREKEY_HOME: dir }), me.account, me.recipient).finally(
        () => {
          settled = true;
        },
      );
      // The node gives up waiting for the chain and answers 202; the key is not on the DID yet.
      await new Promise((r) => setTimeout(r, ATTRIBUTE_WAIT_MS + 3_000));
      expect(settled).toBe(false);
      node.node.outbox.start();
      expect(await published).toMatchObject({ published: true });
      // A share to this wallet right after init finds its key.
      expect(await createNodeClient({ url: node.url }).getDid(me.address)).toMatchObject({
        recipient: me.recipient,
      });
    } finally {
      node.node.outbox.start();
      if (saved === undefined) delete process.env.CAREKEY_NODE;
      else process.env.CAREKEY_NODE = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('says plainly when the node cannot be reached', async () => {
    const client = createNodeClient({ url: 'http://127.0.0.1:9', timeoutMs: 5_000 });
    const error = await client.describe().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NodeUnreachableError);
    expect((error as Error).message).toMatch(
      /cannot reach the Carekey node at http:\/\/127\.0\.0\.1:9 .*CAREKEY_NODE/u,
    );
  });
});
