import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../test/chain/startTestChain.ts';
import { ContractRevertError } from '../../errors/chain.ts';
import { buildRecordIdTree } from '../merkle.ts';
import { purposeOfUse, ScopeKind } from '../typedData.ts';
import { denyAccessRequest } from './denyAccessRequest.ts';
import { getConsentRegistry } from './getConsentRegistry.ts';
import { grantAccess } from './grantAccess.ts';
import { readGrant } from './readGrant.ts';
import { relayGrant } from './relayGrant.ts';
import { requestAccess } from './requestAccess.ts';
import { revokeGrant } from './revokeGrant.ts';
import { signGrant } from './signGrant.ts';

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(async () => {
  await t?.stop();
});

const TREAT = purposeOfUse('TREAT');

async function chainTime(): Promise<bigint> {
  return (await t.relayer.getBlock({ blockTag: 'latest' })).timestamp;
}

/** Grant count and nonce of a patient: what a rejected grant must leave untouched. */
async function patientState(patient: `0x${string}`) {
  const registry = getConsentRegistry({ address: t.consentRegistry, client: t.relayer });
  return { grants: await registry.read.grantCount([patient]), nonce: await registry.read.nonces([patient]) };
}

async function expectRevert(promise: Promise<unknown>, errorName: string): Promise<ContractRevertError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ContractRevertError);
  expect((error as ContractRevertError).errorName).toBe(errorName);
  expect((error as Error).message).toContain(errorName);
  return error as ContractRevertError;
}

describe('grants through the typed clients (live ConsentRegistry)', () => {
  it('relays an EIP-712 grant signed by the patient; the patient pays no gas', async () => {
    const patient = t.newKey();
    const grantee = t.newKey();
    const expiresAt = (await chainTime()) + 3600n;
    const { grantId, blockNumber } = await grantAccess({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      signer: patient,
      patient: patient.address,
      grantee: grantee.address,
      scopeKind: ScopeKind.Categories,
      scopeData: [`0x${'ab'.repeat(32)}`],
      purpose: TREAT,
      expiresAt,
    });
    const grant = await readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId });
    expect(grant).toMatchObject({
      patient: patient.address,
      grantee: grantee.address,
      scopeKind: ScopeKind.Categories,
      scopeData: [`0x${'ab'.repeat(32)}`],
      purpose: TREAT,
      expiresAt,
      revoked: false,
      active: true,
    });
    expect(grant.blockNumber).toBeGreaterThanOrEqual(blockNumber);
    expect(await t.relayer.getBalance({ address: patient.address })).toBe(0n);
  });

  it('T-6 rejects a grant signed by someone else than the patient, and changes nothing', async () => {
    const patient = t.newKey();
    const intruder = t.newKey();
    const before = await patientState(patient.address);
    const error = await expectRevert(
      grantAccess({
        client: t.relayer,
        consentRegistry: t.consentRegistry,
        signer: intruder,
        patient: patient.address,
        grantee: intruder.address,
        scopeKind: ScopeKind.All,
        scopeData: [],
        purpose: TREAT,
        expiresAt: (await chainTime()) + 3600n,
      }),
      'ConsentRegistryInvalidSignature',
    );
    expect(error.args).toEqual([patient.address, patient.address]);
    expect(error.message).toContain('ConsentRegistry.createGrantSigned reverted with');
    expect(await patientState(patient.address)).toEqual(before);
  });

  it('T-1 rejects a grant signed for another chain id, and changes nothing', async () => {
    const patient = t.newKey();
    const before = await patientState(patient.address);
    const signedGrant = await signGrant({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      signer: patient,
      chainId: 1,
      patient: patient.address,
      grantee: t.newKey().address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: TREAT,
      expiresAt: (await chainTime()) + 3600n,
    });
    await expectRevert(relayGrant({ client: t.relayer, signedGrant }), 'ConsentRegistryInvalidSignature');
    expect(await patientState(patient.address)).toEqual(before);
  });

  it('T-1 rejects a replayed grant signature (nonce already used), and changes nothing', async () => {
    const patient = t.newKey();
    const signedGrant = await signGrant({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      signer: patient,
      patient: patient.address,
      grantee: t.newKey().address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: TREAT,
      expiresAt: (await chainTime()) + 3600n,
    });
    await relayGrant({ client: t.relayer, signedGrant });
    const before = await patientState(patient.address);
    expect(before).toEqual({ grants: 1n, nonce: 1n });
    const error = await expectRevert(
      relayGrant({ client: t.relayer, signedGrant }),
      'ConsentRegistryInvalidNonce',
    );
    expect(error.args).toEqual([patient.address, 1n, 0n]);
    expect(await patientState(patient.address)).toEqual(before);
  });

  it('rejects a grant whose expiry is already past (chain time), and changes nothing', async () => {
    const patient = t.newKey();
    const before = await patientState(patient.address);
    const now = await chainTime();
    const error = await expectRevert(
      grantAccess({
        client: t.relayer,
        consentRegistry: t.consentRegistry,
        signer: patient,
        patient: patient.address,
        grantee: t.newKey().address,
        scopeKind: ScopeKind.All,
        scopeData: [],
        purpose: TREAT,
        expiresAt: now - 1n,
      }),
      'ConsentRegistryExpiryInPast',
    );
    expect(error.args[0]).toBe(now - 1n);
    expect(await patientState(patient.address)).toEqual(before);
  });

  it('T-4 revocation makes isActive false from the block that includes it', async () => {
    const patient = t.newKey();
    const { grantId } = await grantAccess({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      signer: patient,
      patient: patient.address,
      grantee: t.newKey().address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: TREAT,
      expiresAt: (await chainTime()) + 3600n,
    });
    const { blockNumber } = await revokeGrant({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      grantId,
      signer: patient,
    });
    const at = (n: bigint) =>
      readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId, blockNumber: n });
    expect((await at(blockNumber - 1n)).active).toBe(true);
    expect(await at(blockNumber)).toMatchObject({ active: false, revoked: true });
    await expectRevert(
      revokeGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId, signer: patient }),
      'ConsentRegistryGrantAlreadyRevoked',
    );
  });

  it('T-6 rejects a revocation signed by someone else than the patient', async () => {
    const patient = t.newKey();
    const { grantId } = await grantAccess({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      signer: patient,
      patient: patient.address,
      grantee: t.newKey().address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: TREAT,
      expiresAt: (await chainTime()) + 3600n,
    });
    await expectRevert(
      revokeGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId, signer: t.newKey() }),
      'ConsentRegistryInvalidSignature',
    );
    expect((await readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId })).active).toBe(
      true,
    );
  });

  it('T-3 expiry is judged by chain time, not the local clock', async () => {
    const patient = t.newKey();
    const expiresAt = (await chainTime()) + 120n;
    const { grantId } = await grantAccess({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      signer: patient,
      patient: patient.address,
      grantee: t.newKey().address,
      scopeKind: ScopeKind.Records,
      scopeData: [buildRecordIdTree([`0x${'01'.repeat(32)}`, `0x${'02'.repeat(32)}`]).root],
      purpose: TREAT,
      expiresAt,
    });
    const wallBefore = Date.now();
    expect((await readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId })).active).toBe(
      true,
    );
    await t.advanceTime(121);
    const after = await readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId });
    expect(after.chainTime).toBeGreaterThanOrEqual(expiresAt);
    expect(after.active).toBe(false);
    expect(after.revoked).toBe(false);
    // Less than two minutes of wall time passed: only chain time decided.
    expect(Date.now() - wallBefore).toBeLessThan(120_000);
  });

  it('a provider requests access (relayed) and the patient answers with a grant naming the request', async () => {
    const patient = t.newKey();
    const clinic = t.newKey();
    const expiresAt = (await chainTime()) + 3600n;
    const { requestId } = await requestAccess({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      requester: clinic.address,
      signer: clinic,
      patient: patient.address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: TREAT,
      expiresAt,
    });
    const registry = getConsentRegistry({ address: t.consentRegistry, client: t.relayer });
    expect((await registry.read.getRequest([requestId])).status).toBe(1); // Pending
    const { grantId } = await grantAccess({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      signer: patient,
      patient: patient.address,
      grantee: clinic.address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: TREAT,
      expiresAt,
      requestId,
    });
    const request = await registry.read.getRequest([requestId]);
    expect(request.status).toBe(2); // Approved
    expect(request.grantId).toBe(grantId);
  });

  it('the patient denies an access request; a denied request cannot be granted or denied again', async () => {
    const patient = t.newKey();
    const clinic = t.newKey();
    const expiresAt = (await chainTime()) + 3600n;
    const { requestId } = await requestAccess({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      requester: clinic.address,
      signer: clinic,
      patient: patient.address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: TREAT,
      expiresAt,
    });
    const base = { client: t.relayer, consentRegistry: t.consentRegistry, requestId } as const;
    await expectRevert(denyAccessRequest({ ...base, signer: clinic }), 'ConsentRegistryInvalidSignature');
    await denyAccessRequest({ ...base, signer: patient });
    const registry = getConsentRegistry({ address: t.consentRegistry, client: t.relayer });
    expect((await registry.read.getRequest([requestId])).status).toBe(3); // Denied
    await expectRevert(denyAccessRequest({ ...base, signer: patient }), 'ConsentRegistryRequestNotPending');
    const before = await patientState(patient.address);
    await expectRevert(
      grantAccess({
        client: t.relayer,
        consentRegistry: t.consentRegistry,
        signer: patient,
        patient: patient.address,
        grantee: clinic.address,
        scopeKind: ScopeKind.All,
        scopeData: [],
        purpose: TREAT,
        expiresAt,
        requestId,
      }),
      'ConsentRegistryRequestNotPending',
    );
    expect(await patientState(patient.address)).toEqual(before);
  });

  it('rejects an access request with an empty purpose, naming the custom error', async () => {
    const clinic = t.newKey();
    await expectRevert(
      requestAccess({
        client: t.relayer,
        consentRegistry: t.consentRegistry,
        requester: clinic.address,
        signer: clinic,
        patient: t.newKey().address,
        scopeKind: ScopeKind.All,
        scopeData: [],
        purpose: `0x${'00'.repeat(32)}`,
        expiresAt: (await chainTime()) + 3600n,
      }),
      'ConsentRegistryZeroPurpose',
    );
  });
});
