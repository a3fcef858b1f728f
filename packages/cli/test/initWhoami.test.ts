import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const bin = join(import.meta.dirname, '..', 'bin', 'carekey.js');
const root = mkdtempSync(join(tmpdir(), 'carekey-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const DEV = 'test test test test test test test test test test test junk';

function carekey(home: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [bin, ...args], {
    env: { PATH: process.env.PATH ?? '', CAREKEY_HOME: home, CAREKEY_NODE: 'http://127.0.0.1:9', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('carekey init / whoami', () => {
  it('creates a wallet, shows the phrase once, and whoami reads it without the passphrase', () => {
    const home = join(root, 'a');
    const init = carekey(home, ['init', '--json', '--scrypt-log-n', '15'], {
      CAREKEY_PASSPHRASE: 'a long passphrase',
    });
    expect(init.stderr).toBe('');
    expect(init.code).toBe(0);
    const created = JSON.parse(init.stdout) as { address: string; ageRecipient: string; mnemonic: string };
    expect(created.mnemonic.split(' ')).toHaveLength(24);
    expect((statSync(join(home, 'wallet.age')).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(join(home, 'wallet.age')).subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(readFileSync(join(home, 'wallet.json'), 'utf8')).not.toContain(
      created.mnemonic.split(' ')[0] ?? '',
    );
    const who = carekey(home, ['whoami', '--json']);
    expect(who.code).toBe(0);
    expect(JSON.parse(who.stdout)).toMatchObject({
      address: created.address,
      ageRecipient: created.ageRecipient,
    });

    // restoring the same phrase elsewhere gives the same identity
    const restored = carekey(join(root, 'a2'), ['init', '--restore', '--json', '--scrypt-log-n', '15'], {
      CAREKEY_PASSPHRASE: 'another passphrase',
      CAREKEY_MNEMONIC: created.mnemonic,
    });
    expect(restored.code).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({
      address: created.address,
      ageRecipient: created.ageRecipient,
    });
  }, 300_000);

  it('restores the published development account from its phrase', () => {
    const r = carekey(join(root, 'b'), ['init', '--restore', '--json', '--scrypt-log-n', '15'], {
      CAREKEY_PASSPHRASE: 'a long passphrase',
      CAREKEY_MNEMONIC: DEV,
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
    expect(r.stdout).not.toContain('test test');
  }, 300_000);

  it('refuses a bad checksum, a second init, a missing passphrase and a missing wallet, each in one line', () => {
    const bad = carekey(join(root, 'c'), ['init', '--restore', '--scrypt-log-n', '15'], {
      CAREKEY_PASSPHRASE: 'a long passphrase',
      CAREKEY_MNEMONIC: DEV.replace('junk', 'test'),
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^carekey: invalid recovery phrase: checksum mismatch.*\n$/u);

    const noPass = carekey(join(root, 'c'), ['init', '--scrypt-log-n', '15']);
    expect(noPass.code).toBe(1);
    expect(noPass.stderr).toMatch(/set CAREKEY_PASSPHRASE/u);

    const home = join(root, 'd');
    expect(
      carekey(home, ['init', '--scrypt-log-n', '15'], { CAREKEY_PASSPHRASE: 'a long passphrase' }).code,
    ).toBe(0);
    const before = readFileSync(join(home, 'wallet.age'));
    const again = carekey(home, ['init', '--scrypt-log-n', '15'], {
      CAREKEY_PASSPHRASE: 'a long passphrase',
    });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/a wallet already exists/u);
    expect(readFileSync(join(home, 'wallet.age'))).toEqual(before);

    const none = carekey(join(root, 'e'), ['whoami']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^carekey: no wallet in .* \(run `carekey init`, or set CAREKEY_HOME\)/u);

    const weak = carekey(join(root, 'f'), ['init', '--scrypt-log-n', '8'], {
      CAREKEY_PASSPHRASE: 'a long passphrase',
    });
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/too weak/u);
  }, 300_000);
});
