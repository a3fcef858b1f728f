import {
  getSignatureContext,
  ScopeKind,
  ShredAction,
  toRevokeTypedData,
  toShredTypedData,
} from '@carekey/sdk/chain';
import { decodeStanza, decryptPayload, unwrapFileKey } from '@carekey/sdk/crypto';
import { signNodeRequest } from '@carekey/sdk/protocol';
import type { LocalAccount } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer } from '../api/createApiServer.ts';
import { createMemoryNonceStore } from '../api/createMemoryNonceStore.ts';
import { routes } from '../api/routes/index.ts';
import { createOutboxWorker } from '../outbox/createOutboxWorker.ts';
import {
  nth,
  OWNER_GRANT,
  randomTag,
  startVaultTestbed,
  TEST_AUDIENCE,
  type TestIdentity,
  type VaultTestbed,
} from './testing/startVaultTestbed.ts';

let t: VaultTestbed;
let server: ReturnType<typeof createApiServer>;

beforeAll(async () => {
  t = await startVaultTestbed();
  server = createApiServer({
    services: {
      chain: { chainId: t.chain.chainId, client: t.chain.client, deployment: t.chain.deployment },
      blobs: t.vault.blobs,
      sql: t.sql,
      // Not started: the testbed drains the outbox itself, so wake() is a no-op here.
      outbox: createOutboxWorker({ sql: t.sql, client: t.chain.client }),
      vault: t.vault,
      audience: TEST_AUDIENCE,
      version: 'test',
    },
    routes,
    nonces: createMemoryNonceStore(),
  });
});
afterAll(async () => {
  await server?.app.close();
  await t?.stop();
});

const json = { 'content-type': 'application/json' };

async function signed(account: LocalAccount, method: 'GET' | 'POST', path: string, body?: unknown) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const auth = await signNodeRequest({
    account,
    domain: { chainId: t.chain.chainId, verifyingContract: t.vault.chain.contracts.consentRegistry },
    method,
    path,
    ...(text === undefined ? {} : { body: text }),
    audience: TEST_AUDIENCE,
  });
  return server.app.inject({
    method,
    url: path,
    headers: { 'carekey-auth': auth, ...(text === undefined ? {} : json) },
    ...(text === undefined ? {} : { payload: text }),
  });
}

const release = (envelope: unknown) =>
  server.app.inject({
    method: 'POST',
    url: '/v1/keys/release',
    headers: json,
    payload: JSON.stringify(envelope),
  });

describe('vault HTTP routes', () => {
  let patient: TestIdentity;
  let grantee: TestIdentity;

  it('R-1 POST /v1/keys/release: 200 with stanzas for an active grant; T-15 one 403 body for every refusal', async () => {
    patient = t.newIdentity();
    grantee = t.newIdentity();
    const tag = randomTag();
    const records = await t.publish({ patient, tags: [tag, randomTag()] });
    const grantId = await t.grant({
      patient,
      grantee,
      scopeKind: ScopeKind.Categories,
      scopeData: [tag],
      records: [nth(records, 0)],
    });

    const ok = await release(
      await t.keyRequest({ account: grantee.account, grantId, recordIds: [nth(records, 0).recordId] }),
    );
    expect(ok.statusCode).toBe(200);
    const body = ok.json() as { records: { stanza: string; blobId: string }[]; accessLogId: string };
    const fileKey = await unwrapFileKey({
      stanzas: [decodeStanza(nth(body.records, 0).stanza)],
      identities: [grantee.x25519],
    });
    const chunks: Uint8Array[] = [];
    for await (const c of t.vault.blobs.get(nth(body.records, 0).blobId)) chunks.push(c);
    expect(decryptPayload({ fileKey, payload: new Uint8Array(Buffer.concat(chunks)) })).toEqual(
      nth(records, 0).plaintext,
    );

    const refusals = [
      await t.keyRequest({ account: grantee.account, grantId, recordIds: [nth(records, 1).recordId] }), // not covered
      await t.keyRequest({ account: grantee.account, grantId, recordIds: [randomTag()] }), // no such record
      await t.keyRequest({
        account: grantee.account,
        grantId: randomTag(),
        recordIds: [nth(records, 0).recordId],
      }), // no grant
    ];
    const answers = [];
    for (const envelope of refusals) answers.push(await release(envelope));
    for (const a of answers) {
      expect(a.statusCode).toBe(403);
      expect(a.headers['content-type']).toContain('application/problem+json');
    }
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(nth(answers, 0).json()).toMatchObject({ code: 'access-refused' });
    // Forged signature: 401 before anything else.
    const forged = {
      ...(await t.keyRequest({ account: grantee.account, grantId, recordIds: [nth(records, 0).recordId] })),
    };
    forged.signature = `0x${'11'.repeat(65)}`;
    expect((await release(forged)).statusCode).toBe(401);
  });

  it('R-17 GET /v1/audit, /v1/records, /v1/grants, /v1/shared answer the signer only', async () => {
    const audit = await signed(patient.account, 'GET', '/v1/audit?limit=10');
    expect(audit.statusCode).toBe(200);
    const actions = (audit.json() as { entries: { action: string; actor: string }[] }).entries.map(
      (e) => e.action,
    );
    expect(actions).toEqual(['publish', 'grant', 'release', 'refusal', 'refusal', 'refusal']);
    const mine = await signed(patient.account, 'GET', '/v1/records');
    expect((mine.json() as { records: unknown[] }).records).toHaveLength(2);
    const theirs = await signed(grantee.account, 'GET', '/v1/records');
    expect((theirs.json() as { records: unknown[] }).records).toHaveLength(0);
    const grants = await signed(grantee.account, 'GET', '/v1/grants');
    expect((grants.json() as { grants: { role: string; state: string }[] }).grants).toMatchObject([
      { role: 'grantee', state: 'active' },
    ]);
    const shared = await signed(grantee.account, 'GET', '/v1/shared');
    expect((shared.json() as { records: unknown[] }).records).toHaveLength(1);
    expect((await server.app.inject({ method: 'GET', url: '/v1/audit' })).statusCode).toBe(401);
  });

  it('T-4 POST /v1/grants/{id}/revoke deletes the stanzas at once; the grant then refuses', async () => {
    const g = t.newIdentity();
    const records = await t.publish({ patient, tags: [randomTag()] });
    const grantId = await t.grant({ patient, grantee: g, scopeKind: ScopeKind.All, records });
    const { consentRegistry } = t.vault.chain.contracts;
    const { chainId, nonce, deadline } = await getSignatureContext({
      client: t.relayer,
      contract: 'ConsentRegistry',
      address: consentRegistry,
      identity: patient.address,
    });
    const signature = await patient.account.signTypedData(
      toRevokeTypedData({
        chainId,
        verifyingContract: consentRegistry,
        message: { patient: patient.address, grantId, nonce, deadline },
      }),
    );
    const payload = JSON.stringify({ grantId, nonce: String(nonce), deadline: String(deadline), signature });
    const forged = await server.app.inject({
      method: 'POST',
      url: `/v1/grants/${grantId}/revoke`,
      headers: json,
      payload: JSON.stringify({
        grantId,
        nonce: String(nonce),
        deadline: String(deadline),
        signature: await g.account.signTypedData(
          toRevokeTypedData({
            chainId,
            verifyingContract: consentRegistry,
            message: { patient: patient.address, grantId, nonce, deadline },
          }),
        ),
      }),
    });
    expect(forged.statusCode).toBe(403);
    const revoked = await server.app.inject({
      method: 'POST',
      url: `/v1/grants/${grantId}/revoke`,
      headers: json,
      payload,
    });
    expect(revoked.statusCode).toBe(200);
    expect((revoked.json() as { deletedRecordIds: string[] }).deletedRecordIds).toEqual([
      nth(records, 0).recordId,
    ]);
    await t.drain();
    const after = await release(
      await t.keyRequest({ account: g.account, grantId, recordIds: [nth(records, 0).recordId] }),
    );
    expect(after.statusCode).toBe(403);
  });

  it('R-11 POST /v1/records/{id}/shred shreds at once (delay 0); the owner’s own release is refused', async () => {
    const records = await t.publish({ patient, tags: [randomTag()] });
    const recordId = nth(records, 0).recordId;
    const { recordRegistry } = t.vault.chain.contracts;
    const { chainId, nonce, deadline } = await getSignatureContext({
      client: t.relayer,
      contract: 'RecordRegistry',
      address: recordRegistry,
      identity: patient.address,
    });
    const sign = (action: ShredAction, n: bigint) =>
      patient.account.signTypedData(
        toShredTypedData({
          chainId,
          verifyingContract: recordRegistry,
          message: { patient: patient.address, recordId, action, nonce: n, deadline },
        }),
      );
    const part = async (action: ShredAction, n: bigint) => ({
      nonce: String(n),
      deadline: String(deadline),
      signature: await sign(action, n),
    });
    const answer = await server.app.inject({
      method: 'POST',
      url: `/v1/records/${recordId}/shred`,
      headers: json,
      payload: JSON.stringify({
        action: 'request',
        patient: patient.address,
        recordId,
        request: await part(ShredAction.Request, nonce),
      }),
    });
    expect(answer.statusCode).toBe(200);
    expect(answer.json()).toMatchObject({ state: 'shredded' });
    await t.drain();
    const own = await release(
      await t.keyRequest({ account: patient.account, grantId: OWNER_GRANT, recordIds: [recordId] }),
    );
    expect(own.statusCode).toBe(403);
  });
});
