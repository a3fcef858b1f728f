import fc from 'fast-check';
import { type Hex, hashTypedData, recoverTypedDataAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { SignedRequestError } from '../errors/protocol.ts';
import {
  checkKeyRequest,
  checkNodeRequest,
  MAX_REQUEST_LIFETIME,
  toKeyRequestTypedData,
} from './signedRequest.ts';
import { bodyHash, decodeAuthHeader, signKeyRequest, signNodeRequest } from './signRequest.ts';

const account = privateKeyToAccount(generatePrivateKey());
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const;
const audience = 'carekey-node:test';
const grantId = `0x${'11'.repeat(32)}` as Hex;
const recordIds = [`0x${'22'.repeat(32)}`, `0x${'33'.repeat(32)}`] as Hex[];

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    if (error instanceof SignedRequestError) return error.reason;
    throw error;
  }
  return 'accepted';
}

describe('signed key requests', () => {
  it('a fresh request verifies and recovers its signer', async () => {
    const envelope = await signKeyRequest({ account, domain, grantId, recordIds, audience });
    const wire = JSON.parse(JSON.stringify(envelope));
    const { request, signer } = await checkKeyRequest(wire, { domain, audience });
    expect(signer).toBe(account.address);
    expect(request.recordIds).toEqual(recordIds);
    expect(request.grantee).toBe(account.address);
  });

  it('T-6 recovers the same signer and digest as viem, for any key, with v as 27/28 or 0/1; any other v or a mangled signature is bad-signature', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 63 }),
        async (seed, v, flip) => {
          let key: Hex;
          try {
            key = `0x${Buffer.from(seed).toString('hex')}`;
            privateKeyToAccount(key);
          } catch {
            return; // not a valid secp256k1 scalar
          }
          const signer = privateKeyToAccount(key);
          const envelope = await signKeyRequest({ account: signer, domain, grantId, recordIds, audience });
          const wire = JSON.parse(JSON.stringify(envelope));
          const checked = await checkKeyRequest(wire, { domain, audience });
          expect(checked.signer).toBe(signer.address);
          const typedData = toKeyRequestTypedData(domain, checked.request);
          expect(checked.digest).toBe(hashTypedData(typedData));
          // Another v byte: viem and this module agree (same signer, or both refuse).
          const other = `${envelope.signature.slice(0, 130)}${v.toString(16).padStart(2, '0')}` as Hex;
          const viem = await recoverTypedDataAddress({ ...typedData, signature: other }).catch(
            () => 'refused',
          );
          const ours = await checkKeyRequest({ ...wire, signature: other }, { domain, audience }).then(
            (c) => c.signer,
            (e: unknown) => (e instanceof SignedRequestError && e.reason === 'bad-signature' ? 'refused' : e),
          );
          if ([0, 1, 27, 28].includes(v)) expect(ours).toBe(viem);
          else expect(ours).toBe('refused');
          // A flipped byte of r or s never recovers the signer.
          const bytes = Buffer.from(envelope.signature.slice(2), 'hex');
          bytes[flip] = (bytes[flip] ?? 0) ^ 0x01;
          const mangled = await checkKeyRequest(
            { ...wire, signature: `0x${bytes.toString('hex')}` },
            { domain, audience },
          ).then(
            (c) => c.signer,
            () => 'refused',
          );
          expect(mangled).not.toBe(signer.address);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('T-1 refuses a request for another node (audience)', async () => {
    const envelope = await signKeyRequest({
      account,
      domain,
      grantId,
      recordIds,
      audience: 'carekey-node:other',
    });
    expect(await refusal(checkKeyRequest(envelope, { domain, audience }))).toBe('wrong-audience');
  });

  it('T-1 a request signed for another chain or deployment recovers another signer', async () => {
    for (const other of [
      { ...domain, chainId: 1 },
      { ...domain, verifyingContract: '0x0000000000000000000000000000000000000001' as const },
    ]) {
      const envelope = await signKeyRequest({ account, domain: other, grantId, recordIds, audience });
      const { signer } = await checkKeyRequest(envelope, { domain, audience });
      expect(signer).not.toBe(account.address);
    }
  });

  it('T-1 refuses expired, future, and too-long-lived requests (F-6 bounded window)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = await signKeyRequest({ account, domain, grantId, recordIds, audience, now: now - 1000 });
    expect(await refusal(checkKeyRequest(expired, { domain, audience, now }))).toBe('expired');
    const future = await signKeyRequest({ account, domain, grantId, recordIds, audience, now: now + 600 });
    expect(await refusal(checkKeyRequest(future, { domain, audience, now }))).toBe('not-yet-valid');
    const ok = await signKeyRequest({ account, domain, grantId, recordIds, audience, now });
    const stretched = JSON.parse(JSON.stringify(ok));
    stretched.message.expiresAt = String(now + MAX_REQUEST_LIFETIME + 10);
    expect(await refusal(checkKeyRequest(stretched, { domain, audience, now }))).toBe('lifetime-too-long');
  });

  it('T-1 a tampered field changes the recovered signer', async () => {
    const envelope = await signKeyRequest({ account, domain, grantId, recordIds, audience });
    const tampered = JSON.parse(JSON.stringify(envelope));
    tampered.message.recordIds = [`0x${'44'.repeat(32)}`];
    const { signer } = await checkKeyRequest(tampered, { domain, audience });
    expect(signer).not.toBe(account.address);
  });

  it('refuses malformed envelopes with a reason, whatever the junk', async () => {
    const good = JSON.parse(
      JSON.stringify(await signKeyRequest({ account, domain, grantId, recordIds, audience })),
    );
    const cases: unknown[] = [
      null,
      'x',
      [],
      { ...good, kind: 'NodeRequest' },
      { ...good, signature: '0x1234' },
      { ...good, message: { ...good.message, recordIds: [] } },
      { ...good, message: { ...good.message, recordIds: ['0x12'] } },
      { ...good, message: { ...good.message, recordIds: Array(1001).fill(recordIds[0]) } },
      { ...good, message: { ...good.message, grantee: 'not-an-address' } },
      { ...good, message: { ...good.message, nonce: 5 } },
      { ...good, message: { ...good.message, issuedAt: '-1' } },
      { ...good, message: { ...good.message, expiresAt: 12 } },
    ];
    for (const c of cases) expect(await refusal(checkKeyRequest(c, { domain, audience }))).toBe('malformed');
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (junk) => {
        expect(await refusal(checkKeyRequest(junk, { domain, audience }))).toBe('malformed');
      }),
      { numRuns: 300 },
    );
  });
});

describe('signed node requests', () => {
  const call = (body?: string) => ({ method: 'POST', path: '/v1/stanzas', bodyHash: bodyHash(body) });

  it('verifies a request bound to its method, path and body', async () => {
    const header = await signNodeRequest({
      account,
      domain,
      method: 'post',
      path: '/v1/stanzas',
      body: '{"a":1}',
      audience,
    });
    const { signer } = await checkNodeRequest(decodeAuthHeader(header), call('{"a":1}'), {
      domain,
      audience,
    });
    expect(signer).toBe(account.address);
  });

  it('T-1 refuses the same signature on another path, method or body', async () => {
    const header = await signNodeRequest({
      account,
      domain,
      method: 'POST',
      path: '/v1/stanzas',
      body: 'x',
      audience,
    });
    const envelope = decodeAuthHeader(header);
    expect(
      await refusal(checkNodeRequest(envelope, { ...call('x'), path: '/v1/audit' }, { domain, audience })),
    ).toBe('request-mismatch');
    expect(
      await refusal(checkNodeRequest(envelope, { ...call('x'), method: 'GET' }, { domain, audience })),
    ).toBe('request-mismatch');
    expect(await refusal(checkNodeRequest(envelope, call('y'), { domain, audience }))).toBe('body-mismatch');
  });

  it('refuses a header that is not base64url JSON', () => {
    expect(decodeAuthHeader('%%%')).toBeUndefined();
    expect(decodeAuthHeader('a'.repeat(9000))).toBeUndefined();
    expect(decodeAuthHeader('bm90IGpzb24')).toBeUndefined();
  });
});
