import { type Address, getAddress, isAddress } from 'viem';
import { CredentialError } from './CredentialError.ts';

/** A parsed `did:ethr:<chainIdHex>:<address>`. */
export type ParsedDid = { did: string; chainId: number; address: Address };

const DID_ETHR = /^did:ethr:0x([0-9a-fA-F]{1,16}):(0x[0-9a-fA-F]{40})$/u;

/** `did:ethr:0x<chainIdHex>:<address>` (docs/protocol.md, Identities and keys). */
export function toDid(parameters: { address: Address; chainId: number }): string {
  return `did:ethr:0x${parameters.chainId.toString(16)}:${getAddress(parameters.address)}`;
}

/**
 * Parses a Carekey `did:ethr` (with the chain id, no fragment; a `#fragment` is dropped).
 *
 * @throws {CredentialError} `did-unresolvable`: not a `did:ethr:<chainIdHex>:<address>`.
 */
export function parseDid(did: string): ParsedDid {
  const bare = did.split('#', 1)[0] ?? '';
  const match = DID_ETHR.exec(bare);
  if (!match?.[1] || !match[2] || !isAddress(match[2], { strict: false })) {
    throw new CredentialError(
      'did-unresolvable',
      `'${did.slice(0, 80)}' is not a did:ethr:<chainId>:<address>`,
      {
        hint: 'e.g. did:ethr:0x7a69:0x…; see `carekey whoami`',
      },
    );
  }
  const address = getAddress(match[2].toLowerCase());
  const chainId = Number.parseInt(match[1], 16);
  return { did: `did:ethr:0x${chainId.toString(16)}:${address}`, chainId, address };
}
