import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ChainConfigError } from '@carekey/sdk/errors';
import { type Hex, isHex } from 'viem';

/** Where the node's ledger comes from. */
export type ChainConfig =
  | {
      /** Start `anvil` in the data folder (the default). */
      kind: 'embedded';
      /** Loopback port of the embedded chain (0: any free port). */
      port: number;
    }
  | {
      /** Use an existing EVM JSON-RPC endpoint; no anvil is started. */
      kind: 'external';
      rpcUrl: string;
      /** Private key of the relayer/deployer that pays gas on that chain. */
      relayerKey: Hex;
    };

/** The node's settings, from command-line flags first, then environment variables, then defaults. */
export type NodeConfig = {
  /** Absolute path of the node's data folder. */
  dataDir: string;
  chain: ChainConfig;
  /** Seconds a shred stays pending (cancellable) before it can be finalised; fixed at deployment. */
  shredDelay: number;
  /** Print one JSON object instead of the human-readable block. */
  json: boolean;
  /**
   * Release keys under a grant only to grantees holding a valid provider credential presented to this node
   * (`startNode({ releaseRequiresCredential })`, docs/identity.md).
   */
  releaseRequiresCredential: boolean;
  /** Rotate the emergency key once the node is up (docs/emergency.md, "Rotating the emergency key"). */
  rotateEmergencyKey: boolean;
};

export type LoadNodeConfigParameters = {
  /** Command-line arguments after the script name (default `process.argv.slice(2)`). */
  argv?: readonly string[] | undefined;
  /** Environment (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>> | undefined;
};

export type LoadNodeConfigReturnType = NodeConfig;

/** Default data folder (DESIGN.md, Storage). */
export const DEFAULT_DATA_DIR = './.carekey/node';
/** Default shred window of a node: one day to cancel an erasure. */
export const DEFAULT_SHRED_DELAY = 86_400;

/**
 * Reads the node's settings.
 *
 * | flag | variable | default |
 * |---|---|---|
 * | `--data <dir>` | `CAREKEY_DATA` | `./.carekey/node` |
 * | `--rpc-url <url>` | `CAREKEY_RPC_URL` | none: embedded anvil |
 * | `--chain-port <n>` | `CAREKEY_CHAIN_PORT` | 8545 |
 * | (none: a secret) | `CAREKEY_RELAYER_KEY` | anvil dev account 0 (embedded only) |
 * | `--shred-delay <s>` | `CAREKEY_SHRED_DELAY` | 86400 |
 * | `--release-requires-credential` | `CAREKEY_RELEASE_REQUIRES_CREDENTIAL` (`1`/`true`/`on`, `0`/`false`/`off`) | off |
 * | `--json` | | off |
 * | `--rotate-emergency-key` | (a one-time action, no variable) | off |
 *
 * @throws {ChainConfigError} on an unknown flag or a malformed value (quoted in the message).
 * @example
 * const config = loadNodeConfig({ argv: ['--json'], env: { CAREKEY_DATA: '/srv/carekey' } });
 */
export function loadNodeConfig(parameters: LoadNodeConfigParameters = {}): LoadNodeConfigReturnType {
  const env = parameters.env ?? process.env;
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...(parameters.argv ?? process.argv.slice(2))],
      options: {
        data: { type: 'string' },
        'rpc-url': { type: 'string' },
        'chain-port': { type: 'string' },
        'shred-delay': { type: 'string' },
        'release-requires-credential': { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'rotate-emergency-key': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (cause) {
    throw new ChainConfigError((cause as Error).message, {
      hint: 'known flags: --data <dir>, --rpc-url <url>, --chain-port <n>, --shred-delay <s>, --release-requires-credential, --rotate-emergency-key, --json',
      cause,
    });
  }
  const str = (v: string | boolean | undefined) => (typeof v === 'string' && v !== '' ? v : undefined);

  const dataDir = resolve(str(values.data) ?? str(env.CAREKEY_DATA) ?? DEFAULT_DATA_DIR);
  const shredDelay = parseInteger(
    'shred delay',
    str(values['shred-delay']) ?? str(env.CAREKEY_SHRED_DELAY),
    DEFAULT_SHRED_DELAY,
    0,
    2 ** 32,
  );
  const rpcUrl = str(values['rpc-url']) ?? str(env.CAREKEY_RPC_URL);

  let chain: ChainConfig;
  if (rpcUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(rpcUrl);
    } catch (cause) {
      throw new ChainConfigError(`invalid RPC URL '${rpcUrl}'`, {
        hint: 'use an http(s) URL such as http://127.0.0.1:8545',
        cause,
      });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ChainConfigError(`unsupported RPC URL scheme '${url.protocol}' in '${rpcUrl}'`, {
        hint: 'use an http:// or https:// endpoint',
      });
    }
    const relayerKey = str(env.CAREKEY_RELAYER_KEY);
    if (relayerKey === undefined) {
      throw new ChainConfigError(`an external chain (${rpcUrl}) needs CAREKEY_RELAYER_KEY`, {
        hint: 'set CAREKEY_RELAYER_KEY to the 0x-prefixed 32-byte private key of a funded relayer account',
      });
    }
    if (!isHex(relayerKey) || relayerKey.length !== 66) {
      throw new ChainConfigError('CAREKEY_RELAYER_KEY is not a 0x-prefixed 32-byte hex private key', {
        hint: 'expected 0x followed by 64 hex digits',
      });
    }
    chain = { kind: 'external', rpcUrl, relayerKey };
  } else {
    const port = parseInteger(
      'chain port',
      str(values['chain-port']) ?? str(env.CAREKEY_CHAIN_PORT),
      8545,
      0,
      65_535,
    );
    chain = { kind: 'embedded', port };
  }
  // `npm start -- --json` from the repository root reaches npm, not us: npm turns it into npm_config_json.
  const json = values.json === true || env.npm_config_json === 'true';
  const releaseRequiresCredential =
    values['release-requires-credential'] === true ||
    parseSwitch('CAREKEY_RELEASE_REQUIRES_CREDENTIAL', str(env.CAREKEY_RELEASE_REQUIRES_CREDENTIAL));
  const rotateEmergencyKey =
    values['rotate-emergency-key'] === true || env.npm_config_rotate_emergency_key === 'true';
  return { dataDir, chain, shredDelay, json, releaseRequiresCredential, rotateEmergencyKey };
}

function parseSwitch(name: string, raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const value = raw.trim().toLowerCase();
  if (['1', 'true', 'on', 'yes'].includes(value)) return true;
  if (['0', 'false', 'off', 'no'].includes(value)) return false;
  throw new ChainConfigError(`invalid ${name} '${raw}'`, { hint: `set ${name} to 1 (on) or 0 (off)` });
}

function parseInteger(
  what: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ChainConfigError(`invalid ${what} '${raw}'`, {
      hint: `expected a whole number from ${min} to ${max}`,
    });
  }
  return value;
}
