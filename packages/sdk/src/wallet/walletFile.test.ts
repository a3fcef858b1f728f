import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decrypt, encrypt, ScryptRecipient, X25519Recipient } from '../crypto/index.ts';
import { InvalidMnemonicError, WalletError, WrongPassphraseError } from '../errors/wallet.ts';
import { deriveKeys } from './deriveKeys.ts';
import { newWalletSecrets, openWallet, sealWallet, walletKeys } from './walletFile.ts';

const DEV = 'test test test test test test test test test test test junk';
const PASS = 'correct horse battery staple';
const LOG_N = 10; // fast in tests; real wallets use 18
const dir = mkdtempSync(join(tmpdir(), 'carekey-wallet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the reference `age` CLI with a passphrase typed on a pseudo-terminal (age reads it from /dev/tty). */
function ageWithPassphrase(args: string, passphrase: string): void {
  execFileSync('script', ['-qec', `age ${args}`, '/dev/null'], {
    input: `${passphrase}\n`,
    stdio: ['pipe', 'ignore', 'ignore'],
    timeout: 30_000,
  });
}

describe('wallet file', () => {
  it('seals and opens a wallet; the keys are those of its recovery phrase', async () => {
    const secrets = newWalletSecrets({ mnemonic: DEV });
    const file = await sealWallet({ secrets, passphrase: PASS, logN: LOG_N, allowWeakWorkFactor: true });
    const opened = await openWallet({ file, passphrase: PASS });
    expect(opened).toEqual(secrets);
    const keys = walletKeys(opened);
    expect(keys.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(keys.recipient).toMatch(/^age1[02-9ac-hj-np-z]{58}$/u);
    expect(keys.recipient).toBe(
      new X25519Recipient(deriveKeys({ mnemonic: DEV }).x25519PublicKey).toString(),
    );
  });

  it('restoring from the phrase gives the same keys, and they decrypt what was encrypted before', async () => {
    const before = walletKeys(newWalletSecrets({ mnemonic: DEV }));
    const record = await encrypt({
      recipients: [new X25519Recipient(before.recipient)],
      plaintext: 'a lab result',
    });
    const restored = walletKeys(newWalletSecrets({ mnemonic: ` ${DEV.toUpperCase()} ` }));
    expect(restored.address).toBe(before.address);
    expect(restored.recipient).toBe(before.recipient);
    expect(
      new TextDecoder().decode(await decrypt({ identities: [restored.identity], ciphertext: record })),
    ).toBe('a lab result');
  });

  it('is a plain age file: the age CLI opens it with the passphrase', async () => {
    const secrets = newWalletSecrets({ mnemonic: DEV });
    const file = await sealWallet({ secrets, passphrase: PASS, logN: LOG_N, allowWeakWorkFactor: true });
    writeFileSync(join(dir, 'wallet.age'), file);
    ageWithPassphrase(`-d -o ${join(dir, 'wallet.json')} ${join(dir, 'wallet.age')}`, PASS);
    expect(JSON.parse(readFileSync(join(dir, 'wallet.json'), 'utf8'))).toEqual(secrets);
  });

  it('opens a wallet file written by the age CLI', async () => {
    const secrets = newWalletSecrets({ mnemonic: DEV, x25519Index: 3 });
    writeFileSync(join(dir, 'plain.json'), JSON.stringify(secrets));
    // age asks twice (passphrase, confirmation)
    execFileSync(
      'script',
      ['-qec', `age -p -o ${join(dir, 'cli.age')} ${join(dir, 'plain.json')}`, '/dev/null'],
      {
        input: `${PASS}\n${PASS}\n`,
        stdio: ['pipe', 'ignore', 'ignore'],
        timeout: 60_000,
      },
    );
    const opened = await openWallet({ file: readFileSync(join(dir, 'cli.age')), passphrase: PASS });
    expect(opened).toEqual(secrets);
  });

  it('refuses a wrong passphrase with a clear error', async () => {
    const file = await sealWallet({
      secrets: newWalletSecrets({ mnemonic: DEV }),
      passphrase: PASS,
      logN: LOG_N,
      allowWeakWorkFactor: true,
    });
    await expect(openWallet({ file, passphrase: 'not the passphrase' })).rejects.toThrow(
      WrongPassphraseError,
    );
    await expect(openWallet({ file, passphrase: 'not the passphrase' })).rejects.toThrow(
      /^wrong passphrase/u,
    );
  });

  it('refuses a damaged or foreign file', async () => {
    const file = await sealWallet({
      secrets: newWalletSecrets({ mnemonic: DEV }),
      passphrase: PASS,
      logN: LOG_N,
      allowWeakWorkFactor: true,
    });
    const flipped = Uint8Array.from(file);
    flipped[flipped.length - 5] = (flipped[flipped.length - 5] ?? 0) ^ 1;
    await expect(openWallet({ file: flipped, passphrase: PASS })).rejects.toThrow(WalletError);
    await expect(
      openWallet({ file: new TextEncoder().encode('{"not":"age"}'), passphrase: PASS }),
    ).rejects.toThrow(/damaged or not a wallet file/u);
    const notAWallet = await encrypt({
      recipients: [new ScryptRecipient(PASS, { logN: LOG_N })],
      plaintext: '{"kind":"something-else"}',
    });
    await expect(openWallet({ file: notAWallet, passphrase: PASS })).rejects.toThrow(
      /does not hold a Carekey wallet/u,
    );
  });

  it('refuses a short passphrase, a weak work factor and a bad recovery phrase', async () => {
    const secrets = newWalletSecrets({ mnemonic: DEV });
    await expect(sealWallet({ secrets, passphrase: 'short' })).rejects.toThrow(/passphrase too short/u);
    await expect(sealWallet({ secrets, passphrase: PASS, logN: 10 })).rejects.toThrow(/too weak/u);
    expect(() => newWalletSecrets({ mnemonic: DEV.replace('junk', 'test') })).toThrow(InvalidMnemonicError);
  });
});
