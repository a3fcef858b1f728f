import { createNodeClient } from '@carekey/sdk/client';
import { parseIdentityRef } from '@carekey/sdk/identity';
import { type Address, isAddressEqual } from 'viem';
import { CliError } from '../io/CliError.ts';
import { nodeUrl } from './openSession.ts';

/**
 * The identity a restored key acts for: the key's own address, or (`--for`, after `carekey did rotate` or a
 * stolen-phone recovery) another identity — accepted only if the key is the one acting for it now (its DID owner,
 * or the controller of its RecoveryAccount), so a restore never writes a wallet that cannot sign.
 *
 * @throws CliError the key does not act for that identity (nothing is written).
 */
export async function identityForKey(key: Address, ref: string | undefined): Promise<Address> {
  if (ref === undefined) return key;
  const identity = parseIdentityRef(ref);
  if (isAddressEqual(identity, key)) return key;
  const info = await createNodeClient({ url: nodeUrl() }).getDidNonce(identity);
  const acting = info.account?.controller ?? info.owner;
  if (!isAddressEqual(acting, key)) {
    throw new CliError(`this recovery phrase's key ${key} does not act for ${identity}`, {
      hint: `the key acting for it now is ${acting}`,
    });
  }
  return identity;
}
