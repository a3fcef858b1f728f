import { VaultInputError } from '@carekey/sdk/errors';
import {
  type Address,
  type Hex,
  hashTypedData,
  type RecoverTypedDataAddressParameters,
  recoverTypedDataAddress,
} from 'viem';
import type { Vault } from './Vault.ts';

export type CheckOwnerSignatureParameters = {
  vault: Vault;
  /** The identity the message acts for (patient, requester). */
  identity: Address;
  /** The EIP-712 message as signed (domain, types, primary type, message). */
  typedData: Omit<RecoverTypedDataAddressParameters, 'signature'>;
  signature: Hex;
  /** Block the owner is read at (the decision's one view of the chain). */
  blockNumber: bigint;
  /** What was signed, for error messages: `Revoke`, `Deny`, `AccessRequest`. */
  what: string;
};

/**
 * The check every relayed signature of the vault shares (a revocation, a denial, an access request): the signature
 * recovers, and to the identity's current ERC-1056 owner at `blockNumber` (key rotation needs nothing migrated), or
 * that owner is a contract (a `RecoveryAccount`) accepting it through ERC-1271.
 * Run it before anything is stored or any gas is spent.
 *
 * @throws {VaultInputError} `bad-signature` or `not-owner` (403).
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function checkOwnerSignature(parameters: CheckOwnerSignatureParameters): Promise<Address> {
  const { vault, identity, typedData, signature, blockNumber, what } = parameters;
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...typedData, signature } as RecoverTypedDataAddressParameters);
  } catch (cause) {
    throw new VaultInputError('bad-signature', `the ${what} signature does not verify`, {
      cause,
      status: 403,
    });
  }
  const owner = await vault.chain.identityOwner(identity, blockNumber);
  const hash = hashTypedData(typedData as Parameters<typeof hashTypedData>[0]);
  if (!(await vault.chain.ownerAccepts(owner, { signer, hash, signature }, blockNumber))) {
    throw new VaultInputError('not-owner', `the ${what} is not signed by the identity’s current owner`, {
      status: 403,
    });
  }
  return signer;
}
