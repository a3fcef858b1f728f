import { type Hex, type LocalAccount, parseSignature } from 'viem';
import { ChainConfigError } from '../../errors/chain.ts';

/** The `(v, r, s)` the ERC-1056 `*Signed` functions take. */
export type DidRegistrySignature = { sigV: number; sigR: Hex; sigS: Hex };

/**
 * Signs an ERC-1056 message hash as the registry expects it: a bare secp256k1
 * signature of `keccak256(0x19 ‖ 0x00 ‖ registry ‖ nonce ‖ identity ‖ ...)`
 * (EIP-191 version 0, no "Ethereum Signed Message" prefix), hence a local
 * account with raw `sign`.
 *
 * @throws {ChainConfigError} the account cannot sign raw hashes (e.g. a JSON-RPC account).
 */
export async function signDidRegistryHash(signer: LocalAccount, hash: Hex): Promise<DidRegistrySignature> {
  if (!signer.sign) {
    throw new ChainConfigError(`account ${signer.address} cannot sign a raw hash`, {
      hint: 'use a local account (privateKeyToAccount / mnemonicToAccount / HDKey) for ERC-1056 signatures',
    });
  }
  const { r, s, v, yParity } = parseSignature(await signer.sign({ hash }));
  return { sigV: Number(v ?? BigInt(yParity + 27)), sigR: r, sigS: s };
}
