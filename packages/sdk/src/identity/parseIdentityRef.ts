import { type Address, getAddress } from 'viem';
import { IdentityRefError } from '../errors/identity.ts';

export type ParseIdentityRefParameters = {
  /** The node's chain: a DID (or `ethereum:` URI) naming another chain is refused. */
  chainId?: number | undefined;
};

const ADDRESS = /^0x[0-9a-f]{40}$/iu;
// did:ethr:[<network>:]<address>, the network as a hex (0x7a69) or decimal (31337) chain id.
const DID_ETHR = /^did:ethr:(?:(0x[0-9a-fA-F]{1,16}|[0-9]{1,20}):)?(0x[0-9a-fA-F]{40})$/iu;
// EIP-681 as wallets put it in a QR code: ethereum:<address>[@<chain id>].
const ETHEREUM_URI = /^ethereum:(0x[0-9a-fA-F]{40})(?:@(0x[0-9a-fA-F]{1,16}|[0-9]{1,20}))?$/iu;

/**
 * Reads who an action is about, as a person types, pastes or scans it: an address (`0x` and 40 hex digits), a DID
 * (`did:ethr:0x7a69:0x…`, `did:ethr:31337:0x…` or `did:ethr:0x…`), or an `ethereum:0x…[@chainId]` URI (a wallet's
 * QR code). Surrounding spaces are ignored. An address in one case (all small or all capital letters) is accepted
 * as is; one in mixed case must carry a valid EIP-55 checksum (https://eips.ethereum.org/EIPS/eip-55), so a
 * mistyped character is caught. With `chainId`, a reference naming another chain is refused.
 *
 * @returns the checksummed address.
 * @throws {IdentityRefError} `malformed`, `bad-checksum` or `other-chain`, quoting the value.
 * @example
 * parseIdentityRef('did:ethr:0x7a69:0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266', { chainId: 31337 });
 * // '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266'
 */
export function parseIdentityRef(value: string, parameters: ParseIdentityRefParameters = {}): Address {
  const text = value.trim();
  const quoted = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  const did = DID_ETHR.exec(text);
  const uri = did ? null : ETHEREUM_URI.exec(text);
  const address = did?.[2] ?? uri?.[1] ?? (ADDRESS.test(text) ? text : undefined);
  if (address === undefined) {
    throw new IdentityRefError('malformed', `malformed address '${quoted}'`, {
      hint: 'give 0x followed by 40 hex digits (0-9, a-f), or did:ethr:<chain id>:<address>',
    });
  }
  const checksummed = getAddress(address.toLowerCase());
  const digits = address.slice(2);
  const oneCase = digits === digits.toLowerCase() || digits === digits.toUpperCase();
  if (!oneCase && checksummed !== `0x${digits}`) {
    throw new IdentityRefError('bad-checksum', `address '${address}' has a wrong checksum`, {
      hint: 'its mix of capital and small letters does not match: a character is probably mistyped; copy it again',
    });
  }
  const network = did?.[1] ?? uri?.[2];
  if (network !== undefined && parameters.chainId !== undefined) {
    const chain = network.toLowerCase().startsWith('0x')
      ? Number.parseInt(network.slice(2), 16)
      : Number(network);
    if (chain !== parameters.chainId) {
      throw new IdentityRefError(
        'other-chain',
        `${quoted} is on chain ${chain}, this node is on chain ${parameters.chainId}`,
        {
          details: { chainId: chain, expected: parameters.chainId },
        },
      );
    }
  }
  return checksummed;
}
