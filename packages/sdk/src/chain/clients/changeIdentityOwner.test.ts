import { keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../test/chain/startTestChain.ts';
import { ContractRevertError } from '../../errors/chain.ts';
import { purposeOfUse, ScopeKind } from '../typedData.ts';
import { changeIdentityOwner } from './changeIdentityOwner.ts';
import { getIdentityOwner } from './getIdentityOwner.ts';
import { grantAccess } from './grantAccess.ts';
import { publishBatch } from './publishBatch.ts';
import { readGrant } from './readGrant.ts';
import { revokeGrant } from './revokeGrant.ts';

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(async () => {
  await t?.stop();
});

const record = (i: number) => ({
  recordId: keccak256(toHex(`rot-id-${i}`)),
  blobId: keccak256(toHex(`rot-blob-${i}`)),
  categoryTag: keccak256(toHex('rot-cat')),
  patientCommitment: keccak256(toHex('rot-patient')),
});

describe('DID owner rotation (ERC-1056 changeOwner, relayed)', () => {
  it('T-6 after changeOwner the old key is powerless and the new key works, in both contracts', async () => {
    const identity = t.newKey(); // the patient's original key: its address is the DID
    const newKey = t.newKey();
    const expiresAt = (await t.relayer.getBlock()).timestamp + 3600n;
    const grantTerms = {
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      patient: identity.address,
      grantee: t.newKey().address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: purposeOfUse('TREAT'),
      expiresAt,
    } as const;

    // Before: the identity's own key acts in both contracts.
    const { grantId } = await grantAccess({ ...grantTerms, signer: identity });
    await publishBatch({
      client: t.relayer,
      recordRegistry: t.recordRegistry,
      publisher: identity.address,
      signer: identity,
      records: [record(1)],
    });

    await changeIdentityOwner({
      client: t.relayer,
      didRegistry: t.didRegistry,
      identity: identity.address,
      signer: identity,
      newOwner: newKey.address,
    });
    expect(
      await getIdentityOwner({ client: t.relayer, didRegistry: t.didRegistry, identity: identity.address }),
    ).toBe(newKey.address);

    // The old key: refused everywhere, naming the new owner.
    const oldGrant = await grantAccess({ ...grantTerms, signer: identity }).catch((e: unknown) => e);
    expect(oldGrant).toBeInstanceOf(ContractRevertError);
    expect((oldGrant as ContractRevertError).errorName).toBe('ConsentRegistryInvalidSignature');
    expect((oldGrant as ContractRevertError).args).toEqual([identity.address, newKey.address]);
    const oldRevoke = await revokeGrant({
      client: t.relayer,
      consentRegistry: t.consentRegistry,
      grantId,
      signer: identity,
    }).catch((e: unknown) => e);
    expect((oldRevoke as ContractRevertError).errorName).toBe('ConsentRegistryInvalidSignature');
    const oldPublish = await publishBatch({
      client: t.relayer,
      recordRegistry: t.recordRegistry,
      publisher: identity.address,
      signer: identity,
      records: [record(2)],
    }).catch((e: unknown) => e);
    expect((oldPublish as ContractRevertError).errorName).toBe('RecordRegistryInvalidSignature');
    const oldRotate = await changeIdentityOwner({
      client: t.relayer,
      didRegistry: t.didRegistry,
      identity: identity.address,
      signer: identity,
      newOwner: identity.address,
    }).catch((e: unknown) => e);
    expect(oldRotate).toBeInstanceOf(ContractRevertError);
    expect((oldRotate as Error).message).toContain('Error(bad_signature)');
    expect((await readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId })).active).toBe(
      true,
    );

    // The new key: works in both contracts, for the same identity, nothing migrated.
    const { grantId: second } = await grantAccess({ ...grantTerms, signer: newKey });
    expect(
      (await readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId: second })).patient,
    ).toBe(identity.address);
    await revokeGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId, signer: newKey });
    expect((await readGrant({ client: t.relayer, consentRegistry: t.consentRegistry, grantId })).active).toBe(
      false,
    );
    const published = await publishBatch({
      client: t.relayer,
      recordRegistry: t.recordRegistry,
      publisher: identity.address,
      signer: newKey,
      records: [record(3)],
    });
    expect(published.batchId).toBeGreaterThan(0n);
  });
});
