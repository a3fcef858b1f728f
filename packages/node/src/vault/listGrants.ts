import { type Address, bytesToHex, getAddress, hexToBytes, isAddressEqual } from 'viem';
import { readPatientGrants } from './readPatientGrants.ts';
import type { Vault } from './Vault.ts';
import type { ChainGrant, ChainHead } from './VaultChain.ts';

export type ListGrantsParameters = { vault: Vault; identity: Address };

/** A grant with its state at the chain head. */
export type ListedGrant = ChainGrant & {
  /** Whether `identity` is the grant's patient or its grantee. */
  role: 'patient' | 'grantee';
  state: 'active' | 'revoked' | 'expired';
};

export type ListGrantsReturnType = { head: ChainHead; grants: ListedGrant[] };

/**
 * Grants where `identity` is the patient (every grant it created, read from the chain) or the grantee (grants of
 * the patients that shared with it through this node), with their state at the head: revocation and expiry by
 * chain time.
 *
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 */
export async function listGrants(parameters: ListGrantsParameters): Promise<ListGrantsReturnType> {
  const { vault, identity } = parameters;
  const head = await vault.chain.head();
  const state = (g: ChainGrant): ListedGrant['state'] =>
    g.revoked ? 'revoked' : head.timestamp >= g.expiresAt ? 'expired' : 'active';
  const own = await readPatientGrants({ chain: vault.chain, patient: identity, blockNumber: head.number });
  const grants: ListedGrant[] = own.map((g) => ({ ...g, role: 'patient', state: state(g) }));
  const { rows } = await vault.sql.query<{ patient: Uint8Array }>(
    'select distinct patient from grant_submissions where grantee = $1',
    [hexToBytes(identity)],
  );
  for (const row of rows) {
    const patient = getAddress(bytesToHex(row.patient));
    if (isAddressEqual(patient, identity)) continue;
    const theirs = await readPatientGrants({ chain: vault.chain, patient, blockNumber: head.number });
    for (const g of theirs) {
      if (isAddressEqual(g.grantee, identity)) grants.push({ ...g, role: 'grantee', state: state(g) });
    }
  }
  return { head, grants };
}
