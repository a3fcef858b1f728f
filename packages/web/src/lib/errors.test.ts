import { createNodeClient, NodeProblemError } from '@carekey/sdk/client';
import { parseFhirJson } from '@carekey/sdk/fhir';
import { parseIdentityRef } from '@carekey/sdk/identity';
import { checkGuardianSet, combineShares, splitSecret } from '@carekey/sdk/recovery';
import { newWalletSecrets, openWallet, sealWallet } from '@carekey/sdk/wallet';
import { describe, expect, it } from 'vitest';
import { refusedShareWords } from './actions.ts';
import { plainError } from './errors.ts';

const PHRASE =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

async function caught(act: () => unknown): Promise<unknown> {
  try {
    await act();
  } catch (error) {
    return error;
  }
  throw new Error('expected a failure');
}

describe('plain-language errors', () => {
  it('wrong passphrase', async () => {
    const file = await sealWallet({
      secrets: newWalletSecrets({ mnemonic: PHRASE }),
      passphrase: 'right passphrase',
      logN: 8,
      allowWeakWorkFactor: true,
    });
    const error = await caught(() => openWallet({ file, passphrase: 'wrong passphrase' }));
    expect(plainError(error)).toBe(
      'That passphrase does not open this wallet. Check it and try again; if it is lost, restore the wallet from its recovery phrase.',
    );
  });

  it('T-24: the node’s rate limit in plain words, with when to retry', () => {
    const limited = (detail: string) =>
      new NodeProblemError({
        problem: {
          type: 'about:blank',
          title: 'Too Many Requests',
          status: 429,
          code: 'rate-limited',
          detail,
        },
        method: 'PUT',
        path: '/v1/blobs/x',
      });
    expect(plainError(limited('too many requests for this identity; retry after 42 s'))).toBe(
      'Your Carekey node refused this: it had too many requests from you in a short time. Nothing was changed; try again in 42 seconds.',
    );
    expect(plainError(limited('too many requests from this address; retry after 1 s'))).toMatch(
      /requests from this address .*try again in 1 second\.$/u,
    );
    expect(plainError(limited('too many requests for this identity; retry after 600 s'))).toMatch(
      /try again in about 10 minutes\.$/u,
    );
  });

  it('T-19: a corrupt or non-FHIR file', async () => {
    const error = await caught(() => parseFhirJson(new TextEncoder().encode('{"resourceType": "Patient",')));
    expect(plainError(error)).toMatch(
      /^This file is not readable health data \(FHIR JSON\): .+\. Nothing was imported\.$/u,
    );
    const proto = await caught(() => parseFhirJson(new TextEncoder().encode('{"__proto__": {"x": 1}}')));
    expect(plainError(proto)).toMatch(/^This file is not readable health data/u);
  });

  it('a malformed address, a wrong checksum, another network (the SDK parseIdentityRef, in plain words)', async () => {
    expect(plainError(await caught(() => parseIdentityRef('0xnothex')))).toBe(
      '“0xnothex” is not a Carekey address. An address is 0x followed by 40 letters 0–9 and a–f, or a DID like did:ethr:0x7a69:0x….',
    );
    expect(
      parseIdentityRef(' did:ethr:0x7a69:0x70997970C51812dc3A010C7d01b50e0d17dc79C8 ', { chainId: 31337 }),
    ).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    // One letter's case changed (…C8 → …c8): the EIP-55 checksum catches the typo.
    expect(
      plainError(await caught(() => parseIdentityRef('0x70997970C51812dc3A010C7d01b50e0d17dc79c8'))),
    ).toBe(
      "“0x70997970C51812dc3A010C7d01b50e0d17dc79c8” has a typing mistake: its mix of capital and small letters does not match the address's checksum. Copy or scan it again.",
    );
    expect(
      plainError(
        await caught(() =>
          parseIdentityRef('did:ethr:0x1:0x70997970C51812dc3A010C7d01b50e0d17dc79C8', { chainId: 31337 }),
        ),
      ),
    ).toBe('That DID is on another network (chain 1); this node is on chain 31337.');
  });

  it('the node unreachable', async () => {
    const node = createNodeClient({ url: 'http://127.0.0.1:9', timeoutMs: 5_000 });
    expect(plainError(await caught(() => node.describe()))).toBe(
      'Your Carekey node cannot be reached. Check your connection and try again; nothing was changed.',
    );
  });

  it('anything else keeps its message', () => {
    expect(plainError(new Error('disk full'))).toBe('Something went wrong: disk full');
  });

  it('T-17 T-18: guardian set-ups and recovery pieces refused by the SDK, in plain words', async () => {
    const a = '0x00000000000000000000000000000000000000a1';
    const me = '0x00000000000000000000000000000000000000b2';
    const words = async (guardians: `0x${string}`[], threshold: number) =>
      plainError(await caught(() => checkGuardianSet({ guardians, self: me, threshold })));
    expect(await words([a], 2)).toMatch(/^Name at least two guardians/u);
    expect(await words([a, me], 2)).toMatch(/^You cannot be your own guardian/u);
    expect(await words([a, a], 2)).toMatch(/^A guardian is named twice/u);
    expect(await words([a, '0x00000000000000000000000000000000000000c3'], 3)).toBe(
      'How many guardians must help has to be from 2 to 2: a single guardian must never be able to recover your wallet alone.',
    );
    const { shares } = await splitSecret({ secret: new Uint8Array(32).fill(7), threshold: 2, total: 3 });
    const one = await caught(() => combineShares({ shares: shares.slice(0, 1) }));
    expect(plainError(one)).toMatch(/^Not enough pieces yet: .*nothing was changed\.$/u);
    const twice = await caught(() => combineShares({ shares: [shares[0], shares[0]] as never }));
    expect(plainError(twice)).toMatch(/^The same piece was given twice/u);
  });

  it('an expired or revoked share says so (the node refuses both alike, T-15; the grant says which)', () => {
    const grant = {
      grantId: `0x${'aa'.repeat(32)}`,
      patient: '0x00000000000000000000000000000000000000a1',
      grantee: '0x00000000000000000000000000000000000000b2',
      expiresAt: String(Date.UTC(2026, 10, 20, 9, 30) / 1000),
      purposeText: 'TREAT',
    } as never as Parameters<typeof refusedShareWords>[0] & object;
    expect(refusedShareWords({ ...grant, state: 'expired' } as never)).toMatch(
      /^Access refused: this share expired on 20 Nov 2026, \d\d:30\. Ask the patient to share again; nothing was opened\.$/u,
    );
    expect(refusedShareWords({ ...grant, state: 'revoked', expiresAt: '99999999999' } as never)).toMatch(
      /^Access refused: the patient revoked this share/u,
    );
    expect(refusedShareWords(undefined)).toMatch(/^Access refused: there is no active share/u);
  });
});
