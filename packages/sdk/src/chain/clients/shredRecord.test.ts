import { keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../test/chain/startTestChain.ts';
import { ContractRevertError } from '../../errors/chain.ts';
import { getRecordRegistry } from './getRecordRegistry.ts';
import { shredRecord } from './shredRecord.ts';

const SHRED_DELAY = 3600;
let t: TestChain;
beforeAll(async () => {
  t = await startTestChain({ shredDelay: SHRED_DELAY });
});
afterAll(async () => {
  await t?.stop();
});

const State = { None: 0, Pending: 1, Shredded: 2 } as const;

describe('two-phase shred through the typed clients (live RecordRegistry)', () => {
  it('request → cancel → request → too early → anyone finalises after the delay (chain time, no nonce) → Shredded', async () => {
    const patient = t.newKey();
    const recordId = keccak256(toHex('shred-me'));
    const registry = getRecordRegistry({ address: t.recordRegistry, client: t.relayer });
    const state = async () => (await registry.read.shredState([patient.address, recordId]))[0];
    const base = {
      client: t.relayer,
      recordRegistry: t.recordRegistry,
      patient: patient.address,
      signer: patient,
      recordId,
    };

    await shredRecord({ ...base, action: 'request' });
    expect(await state()).toBe(State.Pending);
    await shredRecord({ ...base, action: 'cancel' });
    expect(await state()).toBe(State.None);

    const { blockNumber } = await shredRecord({ ...base, action: 'request' });
    const requestedAt = (await t.relayer.getBlock({ blockNumber })).timestamp;
    const [, executableAt] = await registry.read.shredState([patient.address, recordId]);
    expect(executableAt).toBe(requestedAt + BigInt(SHRED_DELAY));

    const { signer: _, ...anyone } = base;
    const early = await shredRecord({ ...anyone, action: 'finalize' }).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(ContractRevertError);
    expect((early as ContractRevertError).errorName).toBe('RecordRegistryShredTooEarly');
    expect((early as ContractRevertError).args).toEqual([recordId, executableAt]);
    expect(await state()).toBe(State.Pending);

    await t.advanceTime(SHRED_DELAY + 1);
    const nonceBefore = await registry.read.nonces([patient.address]);
    const { hash } = await shredRecord({ ...anyone, action: 'finalize' });
    expect(await registry.read.nonces([patient.address])).toBe(nonceBefore);
    expect(await state()).toBe(State.Shredded);
    const receipt = await t.relayer.getTransactionReceipt({ hash });
    const shredded = await registry.getEvents.Shredded({ recordId }, { blockHash: receipt.blockHash });
    expect(shredded.map((e) => e.args.patient)).toEqual([patient.address]);

    const again = await shredRecord({ ...base, action: 'cancel' }).catch((e: unknown) => e);
    expect((again as ContractRevertError).errorName).toBe('RecordRegistryShredNotPending');
    expect(await state()).toBe(State.Shredded);
  });

  it('T-6 refuses a shred signed by someone else than the patient', async () => {
    const patient = t.newKey();
    const recordId = keccak256(toHex('not-yours'));
    const error = await shredRecord({
      client: t.relayer,
      recordRegistry: t.recordRegistry,
      patient: patient.address,
      signer: t.newKey(),
      recordId,
      action: 'request',
    }).catch((e: unknown) => e);
    expect((error as ContractRevertError).errorName).toBe('RecordRegistryInvalidSignature');
    const registry = getRecordRegistry({ address: t.recordRegistry, client: t.relayer });
    expect((await registry.read.shredState([patient.address, recordId]))[0]).toBe(State.None);
  });
});
