import { type Address, keccak256, toHex, verifyTypedData } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import {
  signAccessRequestForRelay,
  signDenyForRelay,
  signGrantForRelay,
  signRevokeForRelay,
} from './signForRelay.ts';
import {
  purposeOfUse,
  ScopeKind,
  toAccessRequestTypedData,
  toDenyTypedData,
  toGrantTypedData,
  toRevokeTypedData,
  ZERO_BYTES32,
} from './typedData.ts';

const patient = privateKeyToAccount(toHex(0xa11cen, { size: 32 }));
const provider = privateKeyToAccount(toHex(0xb0bn, { size: 32 }));
const target = { chainId: 31337, verifyingContract: '0x0000000000000000000000000000000000c0ffee' as Address };
const slot = { nonce: 7n, deadline: 1_760_000_600n };
const grantId = keccak256(toHex('grant'));
const requestId = keccak256(toHex('request'));

describe('signers of relayed ConsentRegistry actions (no chain client)', () => {
  it('a grant: the signature verifies for the patient over the contract typed data; the body is the node route’s JSON', async () => {
    const grant = {
      patient: patient.address,
      grantee: provider.address,
      scopeKind: ScopeKind.Categories,
      scopeData: [keccak256(toHex('category-0'))],
      purpose: purposeOfUse('TREAT'),
      expiresAt: 1_800_000_000n,
    };
    const signed = await signGrantForRelay({ account: patient, ...target, ...slot, grant });
    expect(signed.message).toEqual({ ...grant, requestId: ZERO_BYTES32, ...slot });
    const typed = toGrantTypedData({ ...target, message: signed.message });
    expect(await verifyTypedData({ address: patient.address, ...typed, signature: signed.signature })).toBe(
      true,
    );
    expect(signed.body).toEqual({
      ...grant,
      requestId: ZERO_BYTES32,
      expiresAt: '1800000000',
      nonce: '7',
      deadline: '1760000600',
      signature: signed.signature,
    });
    // The request it answers is signed in; another signer's signature does not verify as the patient's.
    const answering = await signGrantForRelay({
      account: patient,
      ...target,
      ...slot,
      grant: { ...grant, requestId },
    });
    expect(answering.body.requestId).toBe(requestId);
    expect(answering.signature).not.toBe(signed.signature);
    const forged = await signGrantForRelay({ account: provider, ...target, ...slot, grant });
    expect(await verifyTypedData({ address: patient.address, ...typed, signature: forged.signature })).toBe(
      false,
    );
  });

  it('a revoke and a deny: bound to the grant / request, the nonce, the deadline, the chain and the contract', async () => {
    const revoke = await signRevokeForRelay({
      account: patient,
      ...target,
      ...slot,
      patient: patient.address,
      grantId,
    });
    expect(revoke.body).toEqual({ grantId, nonce: '7', deadline: '1760000600', signature: revoke.signature });
    const typed = toRevokeTypedData({ ...target, message: revoke.message });
    expect(await verifyTypedData({ address: patient.address, ...typed, signature: revoke.signature })).toBe(
      true,
    );
    for (const other of [
      toRevokeTypedData({ ...target, message: { ...revoke.message, nonce: 8n } }),
      toRevokeTypedData({ ...target, chainId: 1, message: revoke.message }),
      toRevokeTypedData({ ...target, verifyingContract: provider.address, message: revoke.message }),
    ]) {
      expect(await verifyTypedData({ address: patient.address, ...other, signature: revoke.signature })).toBe(
        false,
      );
    }
    const deny = await signDenyForRelay({
      account: patient,
      ...target,
      ...slot,
      patient: patient.address,
      requestId,
    });
    expect(deny.body).toEqual({ requestId, nonce: '7', deadline: '1760000600', signature: deny.signature });
    const denied = toDenyTypedData({ ...target, message: deny.message });
    expect(await verifyTypedData({ address: patient.address, ...denied, signature: deny.signature })).toBe(
      true,
    );
  });

  it('an access request: signed by the requester, scope and purpose included', async () => {
    const request = {
      requester: provider.address,
      patient: patient.address,
      scopeKind: ScopeKind.All,
      scopeData: [],
      purpose: purposeOfUse('TREAT'),
      expiresAt: 1_800_000_000n,
    };
    const signed = await signAccessRequestForRelay({ account: provider, ...target, ...slot, request });
    expect(signed.body).toEqual({
      ...request,
      expiresAt: '1800000000',
      nonce: '7',
      deadline: '1760000600',
      signature: signed.signature,
    });
    const typed = toAccessRequestTypedData({ ...target, message: signed.message });
    expect(await verifyTypedData({ address: provider.address, ...typed, signature: signed.signature })).toBe(
      true,
    );
  });
});
