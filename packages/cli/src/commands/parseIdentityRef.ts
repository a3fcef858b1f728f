import { parseIdentityRef as parse } from '@carekey/sdk/identity';
import type { Address } from 'viem';

/**
 * The SDK's `parseIdentityRef` (`@carekey/sdk/identity`, the one reader of "who" for the CLI and the portal: any
 * case, EIP-55 checksum checked, `did:ethr:<chain>:0x…`), under the CLI's older call shape for commands written
 * against it. New code imports the SDK's directly.
 *
 * @throws IdentityRefError (printed as one line by the CLI).
 */
export function parseIdentityRef(value: string, chainId?: number): Address {
  return parse(value, { chainId });
}
