import { resolve } from 'node:path';
import { ChainConfigError } from '@carekey/sdk/errors';
import { describe, expect, it } from 'vitest';
import { loadNodeConfig } from './loadNodeConfig.ts';

const key = `0x${'11'.repeat(32)}` as const;

describe('loadNodeConfig', () => {
  it('defaults to an embedded chain on 8545 with the data folder ./.carekey/node', () => {
    const config = loadNodeConfig({ argv: [], env: {} });
    expect(config).toEqual({
      dataDir: resolve('./.carekey/node'),
      chain: { kind: 'embedded', port: 8545 },
      shredDelay: 86_400,
      json: false,
      releaseRequiresCredential: false,
      rotateEmergencyKey: false,
    });
  });

  it('asks for an emergency key rotation with --rotate-emergency-key (a one-time action: no variable)', () => {
    expect(loadNodeConfig({ argv: ['--rotate-emergency-key'], env: {} }).rotateEmergencyKey).toBe(true);
    expect(loadNodeConfig({ argv: [], env: { CAREKEY_ROTATE_EMERGENCY_KEY: '1' } }).rotateEmergencyKey).toBe(
      false,
    );
  });

  it('turns the key-release credential gate on with --release-requires-credential or CAREKEY_RELEASE_REQUIRES_CREDENTIAL', () => {
    const on = (argv: string[], value?: string) =>
      loadNodeConfig({
        argv,
        env: value === undefined ? {} : { CAREKEY_RELEASE_REQUIRES_CREDENTIAL: value },
      }).releaseRequiresCredential;
    expect(on(['--release-requires-credential'])).toBe(true);
    for (const value of ['1', 'true', 'ON', ' yes ']) expect(on([], value), value).toBe(true);
    for (const value of ['0', 'false', 'off', 'no', '']) expect(on([], value), value).toBe(false);
    expect(() => on([], 'maybe')).toThrow(/invalid CAREKEY_RELEASE_REQUIRES_CREDENTIAL 'maybe'/u);
    expect(() => on(['--release-requires-credential=1'])).toThrow(ChainConfigError);
  });

  it('reads CAREKEY_* variables, and flags win over them', () => {
    const env = { CAREKEY_DATA: '/srv/a', CAREKEY_CHAIN_PORT: '9000', CAREKEY_SHRED_DELAY: '0' };
    expect(loadNodeConfig({ argv: [], env })).toMatchObject({
      dataDir: '/srv/a',
      chain: { kind: 'embedded', port: 9000 },
      shredDelay: 0,
    });
    expect(
      loadNodeConfig({ argv: ['--data', '/srv/b', '--chain-port', '9001', '--json'], env }),
    ).toMatchObject({
      dataDir: '/srv/b',
      chain: { kind: 'embedded', port: 9001 },
      json: true,
    });
  });

  it('uses an external chain with CAREKEY_RPC_URL and CAREKEY_RELAYER_KEY', () => {
    const config = loadNodeConfig({
      argv: [],
      env: { CAREKEY_RPC_URL: 'https://rpc.example/', CAREKEY_RELAYER_KEY: key },
    });
    expect(config.chain).toEqual({ kind: 'external', rpcUrl: 'https://rpc.example/', relayerKey: key });
  });

  it('rejects bad values, quoting them', () => {
    const bad = (argv: string[], env: Record<string, string> = {}) => {
      try {
        loadNodeConfig({ argv, env });
      } catch (error) {
        expect(error).toBeInstanceOf(ChainConfigError);
        return (error as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(bad(['--chain-port', '70000'])).toContain("invalid chain port '70000'");
    expect(bad(['--shred-delay', '1.5'])).toContain("invalid shred delay '1.5'");
    expect(bad(['--rpc-url', 'not a url'])).toContain("invalid RPC URL 'not a url'");
    expect(bad(['--rpc-url', 'ws://x'], { CAREKEY_RELAYER_KEY: key })).toContain(
      "unsupported RPC URL scheme 'ws:'",
    );
    expect(bad(['--rpc-url', 'http://x'])).toContain('needs CAREKEY_RELAYER_KEY');
    expect(bad(['--rpc-url', 'http://x'], { CAREKEY_RELAYER_KEY: '0x1234' })).toContain(
      'not a 0x-prefixed 32-byte',
    );
    expect(bad(['--bogus'])).toContain("'--bogus'");
  });
});
