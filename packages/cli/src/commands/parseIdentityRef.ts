import { type Address, getAddress } from 'viem';
import { CliError } from '../io/CliError.ts';

/**
 * Reads who a command is about: an address (`0x` and 40 hex digits, any case) or a DID
 * (`did:ethr:0x7a69:0x…` or `did:ethr:0x…`). A DID naming another chain than the node's is refused.
 *
 * @throws CliError quoting the malformed value.
 */
export function parseIdentityRef(value: string, chainId?: number): Address {
  const text = value.trim();
  const did = /^did:ethr:(?:(0x[0-9a-fA-F]+|[a-z0-9]+):)?(0x[0-9a-fA-F]{40})$/u.exec(text);
  const address = did ? did[2] : /^0x[0-9a-fA-F]{40}$/u.test(text) ? text : undefined;
  if (address === undefined) {
    throw new CliError(`malformed address '${text.slice(0, 80)}'`, {
      hint: 'give 0x followed by 40 hex digits, or did:ethr:<chain id>:<address>',
    });
  }
  const network = did?.[1];
  if (network !== undefined && chainId !== undefined && network.startsWith('0x')) {
    if (Number.parseInt(network, 16) !== chainId) {
      throw new CliError(
        `${text} is on chain ${Number.parseInt(network, 16)}, this node is on chain ${chainId}`,
      );
    }
  }
  return getAddress(address.toLowerCase());
}
