import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../../../test/chain/startTestChain.ts';
import { ChainConfigError, ContractRevertError } from '../../errors/chain.ts';
import { changeIdentityOwner } from './changeIdentityOwner.ts';
import { getDidRegistry } from './getDidRegistry.ts';
import { getEncryptionKey } from './getEncryptionKey.ts';
import { setEncryptionKey, X25519_ATTRIBUTE_NAME } from './setEncryptionKey.ts';

let t: TestChain;
beforeAll(async () => {
  t = await startTestChain();
});
afterAll(async () => {
  await t?.stop();
});

const key = (fill: number) => new Uint8Array(32).fill(fill);

describe('X25519 key as the DID attribute did/pub/X25519/enc/base64 (relayed setAttributeSigned)', () => {
  it('publishes the key, reads it back, and a newer key replaces it', async () => {
    const identity = t.newKey();
    const read = () =>
      getEncryptionKey({ client: t.relayer, didRegistry: t.didRegistry, identity: identity.address });
    expect(await read()).toBeUndefined();
    await setEncryptionKey({
      client: t.relayer,
      didRegistry: t.didRegistry,
      identity: identity.address,
      signer: identity,
      publicKey: key(7),
    });
    expect(await read()).toEqual(key(7));
    // The event carries the name the ethr-did resolver reads.
    const events = await getDidRegistry({
      address: t.didRegistry,
      client: t.relayer,
    }).getEvents.DIDAttributeChanged({ identity: identity.address }, { fromBlock: 0n });
    expect(events.map((e) => e.args.name)).toEqual([X25519_ATTRIBUTE_NAME]);

    await setEncryptionKey({
      client: t.relayer,
      didRegistry: t.didRegistry,
      identity: identity.address,
      signer: identity,
      publicKey: key(9),
    });
    expect(await read()).toEqual(key(9));
  });

  it('a key past its validity (chain time) is not returned', async () => {
    const identity = t.newKey();
    await setEncryptionKey({
      client: t.relayer,
      didRegistry: t.didRegistry,
      identity: identity.address,
      signer: identity,
      publicKey: key(3),
      validity: 60n,
    });
    const read = () =>
      getEncryptionKey({ client: t.relayer, didRegistry: t.didRegistry, identity: identity.address });
    expect(await read()).toEqual(key(3));
    await t.advanceTime(61);
    expect(await read()).toBeUndefined();
  });

  it('T-6 refuses a key signed by someone else than the owner, and a malformed key', async () => {
    const identity = t.newKey();
    const error = await setEncryptionKey({
      client: t.relayer,
      didRegistry: t.didRegistry,
      identity: identity.address,
      signer: t.newKey(),
      publicKey: key(1),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ContractRevertError);
    expect((error as Error).message).toContain(
      'EthereumDIDRegistry.setAttributeSigned reverted with Error(bad_signature)',
    );
    expect(
      await getEncryptionKey({ client: t.relayer, didRegistry: t.didRegistry, identity: identity.address }),
    ).toBe(undefined);

    await expect(
      setEncryptionKey({
        client: t.relayer,
        didRegistry: t.didRegistry,
        identity: identity.address,
        signer: identity,
        publicKey: new Uint8Array(31),
      }),
    ).rejects.toBeInstanceOf(ChainConfigError);
  });

  it('after a rotation only the new owner can set the key', async () => {
    const identity = t.newKey();
    const newOwner = t.newKey();
    await changeIdentityOwner({
      client: t.relayer,
      didRegistry: t.didRegistry,
      identity: identity.address,
      signer: identity,
      newOwner: newOwner.address,
    });
    const base = { client: t.relayer, didRegistry: t.didRegistry, identity: identity.address } as const;
    await expect(setEncryptionKey({ ...base, signer: identity, publicKey: key(4) })).rejects.toThrow(
      /bad_signature/,
    );
    await setEncryptionKey({ ...base, signer: newOwner, publicKey: key(5) });
    expect(await getEncryptionKey(base)).toEqual(key(5));
  });
});
