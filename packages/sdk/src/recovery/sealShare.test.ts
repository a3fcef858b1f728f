import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { X25519Identity } from '../crypto/x25519.ts';
import { CryptoError } from '../errors/crypto.ts';
import { nth } from '../testing/nth.ts';
import { generateMnemonic } from '../wallet/mnemonic.ts';
import { combineShares } from './combineShares.ts';
import { mnemonicToRecoverySecret, recoverySecretToMnemonic } from './mnemonicSecret.ts';
import { parseRecoveryShare } from './recoveryShare.ts';
import { openShare, sealShare } from './sealShare.ts';
import { splitSecret } from './splitSecret.ts';

describe('sealed recovery shares', () => {
  it('a phrase split to three guardians comes back from two of them, through age files', async () => {
    const mnemonic = generateMnemonic();
    const guardians = [X25519Identity.generate(), X25519Identity.generate(), X25519Identity.generate()];
    const { shares } = await splitSecret({
      secret: mnemonicToRecoverySecret(mnemonic),
      threshold: 2,
      total: 3,
    });
    const sealed = await Promise.all(
      shares.map((share, i) => sealShare({ share, recipient: nth(guardians, i).recipient })),
    );
    // A guardian opens only their own share.
    await expect(
      openShare({ sealed: nth(sealed, 0), identities: [nth(guardians, 1)] }),
    ).rejects.toBeInstanceOf(CryptoError);
    // Two guardians re-seal their share to the new device's one-time key.
    const device = X25519Identity.generate();
    const relayed = await Promise.all(
      [0, 2].map(async (i) =>
        sealShare({
          share: await openShare({ sealed: nth(sealed, i), identities: [nth(guardians, i)] }),
          recipient: device.recipient,
        }),
      ),
    );
    const back = await Promise.all(relayed.map((s) => openShare({ sealed: s, identities: [device] })));
    const { secret } = await combineShares({ shares: back });
    expect(recoverySecretToMnemonic(secret)).toBe(mnemonic);
  });

  it('a sealed share opens with the age CLI alone', async () => {
    const guardian = X25519Identity.generate();
    const { shares } = await splitSecret({ secret: randomBytes(32), threshold: 2, total: 2 });
    const sealed = await sealShare({ share: nth(shares, 0), recipient: guardian.recipient });
    const dir = mkdtempSync(path.join(tmpdir(), 'carekey-share-'));
    writeFileSync(path.join(dir, 'id.txt'), `${guardian.toString()}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'share.age'), sealed);
    const out = execFileSync('age', ['-d', '-i', path.join(dir, 'id.txt'), path.join(dir, 'share.age')], {
      encoding: 'utf8',
    });
    expect(parseRecoveryShare(out)).toEqual(shares[0]);
  });

  it('a tampered sealed share or a file that is not a share is refused clearly', async () => {
    const guardian = X25519Identity.generate();
    const { shares } = await splitSecret({ secret: randomBytes(32), threshold: 2, total: 2 });
    const sealed = await sealShare({ share: nth(shares, 0), recipient: guardian.recipient });
    const lines = sealed.split('\n');
    const body = nth(lines, 1);
    lines[1] = (body[0] === 'A' ? 'B' : 'A') + body.slice(1);
    await expect(openShare({ sealed: lines.join('\n'), identities: [guardian] })).rejects.toBeInstanceOf(
      CryptoError,
    );
    const { encrypt } = await import('../crypto/encrypt.ts');
    const notShare = await encrypt({
      recipients: [guardian.recipient],
      plaintext: '{"hello":1}',
      armor: true,
    });
    await expect(openShare({ sealed: notShare, identities: [guardian] })).rejects.toMatchObject({
      reason: 'malformed-share',
    });
  });

  it('parseRecoveryShare names the faulty field', async () => {
    const { shares } = await splitSecret({ secret: randomBytes(32), threshold: 2, total: 3 });
    const good = nth(shares, 0);
    const cases: [unknown, string][] = [
      ['not json', 'JSON'],
      [{ ...good, format: 'x' }, 'format'],
      [{ ...good, setId: 'zz' }, 'setId'],
      [{ ...good, threshold: 9 }, 'threshold'],
      [{ ...good, index: 0 }, 'index'],
      [{ ...good, commitments: good.commitments.slice(1) }, 'commitments'],
      [{ ...good, secretCheck: 'abc' }, 'secretCheck'],
      [{ ...good, share: '' }, 'share'],
      [null, 'format'],
    ];
    for (const [input, field] of cases) {
      expect(() => parseRecoveryShare(typeof input === 'string' ? input : JSON.stringify(input))).toThrow(
        field,
      );
    }
    expect(parseRecoveryShare(JSON.stringify(good))).toEqual(good);
  });
});
