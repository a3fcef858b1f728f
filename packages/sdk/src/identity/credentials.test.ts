/**
 * Provider credentials end to end on a live anvil with the node's deployment (ERC-1056 registry, TrustedIssuers):
 * DID resolution, m-of-n issuer governance, issue → present → verify, and every refusal of THREAT-MODEL T-7.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Chain, startChain } from '@carekey/node/chain';
import { base64urlnopad } from '@scure/base';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeIdentityOwner, createChainClient, setEncryptionKey } from '../chain/index.ts';
import {
  CredentialError,
  createDidResolver,
  IssuerAction,
  issueCredential,
  isTrustedIssuer,
  presentCredential,
  resolveDid,
  signStatusList,
  toDid,
  trustedIssuersAbi,
  type VerifiedCredential,
  verifyPresentation,
} from './index.ts';

const DEV_KEYS: Hex[] = [
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
];
const CLAIMS = {
  role: 'physician',
  licence: 'MB-778812',
  specialty: 'cardiology',
  organisation: 'Hospital X',
};

let chain: Chain;
let dir: string;
let resolver: ReturnType<typeof createDidResolver>;
const governors = DEV_KEYS.map((key) => privateKeyToAccount(key));
const boardKey = generatePrivateKey();
const board = privateKeyToAccount(boardKey).address;
const rogueKey = generatePrivateKey();
const rogue = privateKeyToAccount(rogueKey).address;
let clinicianKey = generatePrivateKey();
const clinician = privateKeyToAccount(clinicianKey).address;
let boardDid: string;
let clinicianDid: string;
const lists = new Map<string, string>();
const LIST_URI = 'https://node.example/v1/status-lists/board/1';
const statuses = [0, 0, 0, 0];

function publish(): void {
  lists.set(LIST_URI, signStatusList({ issuerDid: boardDid, privateKey: boardKey, uri: LIST_URI, statuses }));
}

async function verify(
  presentation: string,
  audience = 'did:ethr:verifier',
  nonce = 'n-1',
): Promise<VerifiedCredential> {
  const { client, deployment } = chain;
  return verifyPresentation({
    presentation,
    audience,
    nonce,
    resolveOwner: async (did) => (await resolveDid({ resolver, did })).owner,
    isTrustedIssuer: (issuer) =>
      isTrustedIssuer({ client, trustedIssuers: deployment.contracts.trustedIssuers.address, issuer }),
    fetchStatusList: async (uri) => {
      const list = lists.get(uri);
      if (list === undefined) throw new Error('404');
      return list;
    },
  });
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CredentialError);
  return (error as CredentialError).reason;
}

async function credential(overrides: Partial<Parameters<typeof issueCredential>[0]> = {}): Promise<string> {
  return issueCredential({
    issuerDid: boardDid,
    privateKey: boardKey,
    issuerName: 'Medical Board Y',
    subjectDid: clinicianDid,
    claims: CLAIMS,
    status: { uri: LIST_URI, idx: 0 },
    expiresAt: Math.floor(Date.now() / 1000) + 86_400,
    ...overrides,
  });
}

async function approve(governor: number, action: number, issuer: Address): Promise<void> {
  const client = createChainClient({
    rpcUrl: chain.rpcUrl,
    chainId: chain.chainId,
    account: governors[governor] as ReturnType<typeof privateKeyToAccount>,
  });
  const hash = await client.writeContract({
    abi: trustedIssuersAbi,
    address: chain.deployment.contracts.trustedIssuers.address,
    functionName: 'approve',
    args: [client.account.address, action, issuer],
  });
  await client.waitForTransactionReceipt({ hash });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'carekey-identity-'));
  chain = await startChain({
    dataDir: dir,
    port: 0,
    blockTime: 0,
    shredDelay: 0,
    governance: { governors: governors.map((g) => g.address), threshold: 2 },
  });
  resolver = createDidResolver({
    chainId: chain.chainId,
    rpcUrl: chain.rpcUrl,
    didRegistry: chain.deployment.contracts.didRegistry.address,
  });
  boardDid = toDid({ address: board, chainId: chain.chainId });
  clinicianDid = toDid({ address: clinician, chainId: chain.chainId });
  await approve(0, IssuerAction.Add, board);
  await approve(1, IssuerAction.Add, board);
  publish();
}, 120_000);

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('DIDs on the Carekey chain (ethr-did-resolver)', () => {
  it('resolves a DID with its controller and the X25519 key agreement attribute', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const publicKey = new Uint8Array(32).fill(7);
    await setEncryptionKey({
      client: chain.client,
      didRegistry: chain.deployment.contracts.didRegistry.address,
      identity: account.address,
      signer: account,
      publicKey,
    });
    const did = toDid({ address: account.address, chainId: chain.chainId });
    const resolved = await resolveDid({ resolver, did });
    expect(resolved.owner).toBe(account.address);
    expect(resolved.document.id).toBe(did);
    expect(resolved.keyAgreement.at(-1)?.publicKeyBase64).toBe(Buffer.from(publicKey).toString('base64'));
  });

  it('T-7: a DID that does not resolve (other chain, malformed) is refused with a clear reason', async () => {
    expect(await refusal(resolveDid({ resolver, did: `did:ethr:0x1:${board}` }))).toBe('did-unresolvable');
    expect(await refusal(resolveDid({ resolver, did: 'did:web:example.com' }))).toBe('did-unresolvable');
  });
});

describe('TrustedIssuers governance', () => {
  it('T-7: the board is trusted after 2 of 3 approvals; one approval is not enough for another issuer', async () => {
    const { client, deployment } = chain;
    const trustedIssuers = deployment.contracts.trustedIssuers.address;
    expect(await isTrustedIssuer({ client, trustedIssuers, issuer: board })).toBe(true);
    await approve(2, IssuerAction.Add, rogue);
    expect(await isTrustedIssuer({ client, trustedIssuers, issuer: rogue })).toBe(false);
  });
});

describe('SD-JWT VC credentials', () => {
  it('presents only the disclosed claims, key-bound to the clinician DID', async () => {
    const presentation = await presentCredential({
      credential: await credential(),
      disclose: ['role', 'specialty', 'organisation'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    const verified = await verify(presentation);
    expect(verified.claims).toEqual({
      role: 'physician',
      specialty: 'cardiology',
      organisation: 'Hospital X',
    });
    expect(verified.issuer).toBe(boardDid);
    expect(verified.issuerName).toBe('Medical Board Y');
    expect(verified.subject).toBe(clinicianDid);
    expect(presentation).not.toContain('MB-778812');
    const disclosedText = presentation
      .split('~')
      .slice(1, -1)
      .map((d) => new TextDecoder().decode(base64urlnopad.decode(d)))
      .join();
    expect(disclosedText).not.toContain('licence');
  });

  it('T-7: forged (signed by a key that is not the issuer owner) → bad-signature', async () => {
    const forged = await credential({ privateKey: rogueKey });
    const p = await presentCredential({
      credential: forged,
      disclose: ['role'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    expect(await refusal(verify(p))).toBe('bad-signature');
  });

  it('T-7: untrusted issuer → untrusted-issuer', async () => {
    const rogueDid = toDid({ address: rogue, chainId: chain.chainId });
    const c = await credential({ issuerDid: rogueDid, privateKey: rogueKey });
    const p = await presentCredential({
      credential: c,
      disclose: ['role'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    expect(await refusal(verify(p))).toBe('untrusted-issuer');
  });

  it('T-7: expired → expired', async () => {
    const c = await credential({
      expiresAt: Math.floor(Date.now() / 1000) - 10,
      issuedAt: Math.floor(Date.now() / 1000) - 1000,
    });
    const p = await presentCredential({
      credential: c,
      disclose: ['role'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    expect(await refusal(verify(p))).toBe('expired');
  });

  it('T-7: replayed to another verifier → wrong-audience; stale nonce → wrong-nonce; old KB → stale-presentation', async () => {
    const c = await credential();
    const p = await presentCredential({
      credential: c,
      disclose: ['role'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    expect(await refusal(verify(p, 'did:ethr:other-verifier'))).toBe('wrong-audience');
    expect(await refusal(verify(p, 'did:ethr:verifier', 'n-2'))).toBe('wrong-nonce');
    const old = await presentCredential({
      credential: c,
      disclose: ['role'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
      issuedAt: Math.floor(Date.now() / 1000) - 3600,
    });
    expect(await refusal(verify(old))).toBe('stale-presentation');
  });

  it('T-7: a tampered disclosure (claim altered) → tampered-disclosure; a missing KB-JWT → missing-key-binding', async () => {
    const c = await credential();
    const p = await presentCredential({
      credential: c,
      disclose: ['specialty'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    const parts = p.split('~');
    const disclosure = JSON.parse(
      new TextDecoder().decode(base64urlnopad.decode(parts[1] as string)),
    ) as unknown[];
    disclosure[2] = 'neurosurgery';
    parts[1] = base64urlnopad.encode(new TextEncoder().encode(JSON.stringify(disclosure)));
    expect(await refusal(verify(parts.join('~')))).toBe('tampered-disclosure');
    expect(await refusal(verify(`${parts[0]}~`))).toBe('missing-key-binding');
  });

  it('T-7: alg none / HS256 headers → unsupported-alg', async () => {
    const c = await credential();
    const p = await presentCredential({
      credential: c,
      disclose: ['role'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    const [jwt, ...rest] = p.split('~');
    const [, body] = (jwt as string).split('.');
    for (const alg of ['none', 'HS256']) {
      const header = base64urlnopad.encode(
        new TextEncoder().encode(JSON.stringify({ alg, typ: 'dc+sd-jwt' })),
      );
      expect(await refusal(verify([`${header}.${body}.`, ...rest].join('~')))).toBe('unsupported-alg');
    }
  });

  it('T-7: revoked through the issuer status list → revoked; a list not signed by the issuer → status-unavailable', async () => {
    const c = await credential({ status: { uri: LIST_URI, idx: 2 } });
    const present = () =>
      presentCredential({
        credential: c,
        disclose: ['role'],
        privateKey: clinicianKey,
        audience: 'did:ethr:verifier',
        nonce: 'n-1',
      });
    await expect(verify(await present())).resolves.toBeDefined();
    statuses[2] = 1;
    publish();
    expect(await refusal(verify(await present()))).toBe('revoked');
    lists.set(
      LIST_URI,
      signStatusList({ issuerDid: boardDid, privateKey: rogueKey, uri: LIST_URI, statuses: [0, 0, 0, 0] }),
    );
    expect(await refusal(verify(await present()))).toBe('status-unavailable');
    statuses[2] = 0;
    publish();
  });

  it('T-6: after changeOwner the clinician old key cannot present, the new key can (identityOwner everywhere)', async () => {
    const c = await credential();
    const newKey = generatePrivateKey();
    await changeIdentityOwner({
      client: chain.client,
      didRegistry: chain.deployment.contracts.didRegistry.address,
      identity: clinician,
      signer: privateKeyToAccount(clinicianKey),
      newOwner: privateKeyToAccount(newKey).address,
    });
    const oldKeyPresentation = await presentCredential({
      credential: c,
      disclose: ['role'],
      privateKey: clinicianKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    expect(await refusal(verify(oldKeyPresentation))).toBe('bad-key-binding');
    clinicianKey = newKey;
    const resolved = await resolveDid({ resolver, did: clinicianDid });
    expect(resolved.owner).toBe(privateKeyToAccount(newKey).address);
    const p = await presentCredential({
      credential: c,
      disclose: ['role'],
      privateKey: newKey,
      audience: 'did:ethr:verifier',
      nonce: 'n-1',
    });
    expect((await verify(p)).claims.role).toBe('physician');
  });
});
