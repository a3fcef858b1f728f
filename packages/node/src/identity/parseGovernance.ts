import { ChainConfigError } from '@carekey/sdk/errors';
import { parseDid } from '@carekey/sdk/identity';
import { type Address, getAddress, isAddress } from 'viem';
import type { Governance } from '../chain/deployContracts.ts';

/**
 * `CAREKEY_GOVERNORS` (comma-separated addresses or did:ethr DIDs) and `CAREKEY_GOVERNOR_THRESHOLD` (default: a
 * majority) → the TrustedIssuers governance deployed with the contracts; `undefined` when unset (the relayer
 * governs alone, 1 of 1: fine for a dev chain only).
 *
 * @throws {ChainConfigError} a malformed governor or a threshold outside 1..n.
 */
export function parseGovernance(env: NodeJS.ProcessEnv = process.env): Governance | undefined {
  const list = (env.CAREKEY_GOVERNORS ?? '')
    .split(',')
    .map((g) => g.trim())
    .filter((g) => g !== '');
  if (list.length === 0) return undefined;
  const governors: Address[] = list.map((entry) => {
    if (isAddress(entry, { strict: false })) return getAddress(entry.toLowerCase());
    try {
      return parseDid(entry).address;
    } catch {
      throw new ChainConfigError(`CAREKEY_GOVERNORS: '${entry.slice(0, 80)}' is not an address or did:ethr`, {
        hint: 'e.g. CAREKEY_GOVERNORS=0xabc…,0xdef…,0x123…',
      });
    }
  });
  const raw = env.CAREKEY_GOVERNOR_THRESHOLD;
  const threshold = raw === undefined || raw === '' ? Math.floor(governors.length / 2) + 1 : Number(raw);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > governors.length) {
    throw new ChainConfigError(`CAREKEY_GOVERNOR_THRESHOLD must be 1..${governors.length}, got '${raw}'`);
  }
  return { governors, threshold };
}
