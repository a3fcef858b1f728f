import { consentRegistryAbi } from '@carekey/sdk/chain';
import {
  type Address,
  bytesToHex,
  decodeFunctionData,
  getAddress,
  type Hex,
  hexToBytes,
  isAddressEqual,
} from 'viem';
import { readPatientGrants } from './readPatientGrants.ts';
import type { Vault } from './Vault.ts';
import type { ChainGrant, ChainHead } from './VaultChain.ts';

export type ListGrantsParameters = { vault: Vault; identity: Address };

/** A grant with its state at the chain head. */
export type ListedGrant = ChainGrant & {
  /** Whether `identity` is the grant's patient or its grantee. */
  role: 'patient' | 'grantee';
  state: 'active' | 'revoked' | 'expired';
  /** EIP-712 digest of the signed grant, when this node relayed it and has indexed its `GrantCreated`. */
  grantDigest?: Hex | undefined;
};

/** A grant this node relayed that the chain does not have yet (or refused). */
export type QueuedGrant = {
  grantDigest: Hex;
  patient: Address;
  grantee: Address;
  /**
   * `queued`: in the outbox (pending or submitted), or mined but its `GrantCreated` not indexed yet (so it has no
   * grant id here); `failed`: the contract refused it.
   */
  state: 'queued' | 'failed';
  /** What the signed grant covers and until when (from the relayed call), so a queued grant can be acted on. */
  scopeKind?: number | undefined;
  scopeData?: Hex[] | undefined;
  expiresAt?: bigint | undefined;
};

/** The scope and expiry a queued `createGrantSigned` carries. */
function queuedScope(data: Hex | null): Pick<QueuedGrant, 'scopeKind' | 'scopeData' | 'expiresAt'> {
  if (data === null) return {};
  try {
    const call = decodeFunctionData({ abi: consentRegistryAbi, data });
    if (call.functionName !== 'createGrantSigned') return {};
    return { scopeKind: call.args[2], scopeData: [...call.args[3]], expiresAt: call.args[5] };
  } catch {
    return {};
  }
}

export type ListGrantsReturnType = { head: ChainHead; grants: ListedGrant[]; queued: QueuedGrant[] };

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
  // Relayed grants: which chain grant each signed one became (its GrantCreated, as indexed), and those not mined yet.
  const { rows: relayed } = await vault.sql.query<{
    grant_digest: Uint8Array;
    patient: Uint8Array;
    grantee: Uint8Array;
    status: string;
    grant_id: string | null;
    data: Hex | null;
  }>(
    `select s.grant_digest, s.patient, s.grantee, o.status, o.payload->>'data' as data,
            (select e.args->>'grantId' from chain_events e
              where e.tx_hash = o.tx_hash and e.name = 'GrantCreated' limit 1) as grant_id
       from grant_submissions s
       join outbox o on o.idempotency_key = '0x' || encode(s.grant_digest, 'hex')
      where s.patient = $1 or s.grantee = $1`,
    [hexToBytes(identity)],
  );
  const queued: QueuedGrant[] = [];
  for (const r of relayed) {
    const grantDigest = bytesToHex(r.grant_digest);
    const inOutbox = r.status === 'pending' || r.status === 'submitted' || r.status === 'failed';
    const grant =
      inOutbox || r.grant_id === null
        ? undefined
        : grants.find((g) => g.grantId === r.grant_id?.toLowerCase());
    if (grant !== undefined) {
      grant.grantDigest = grantDigest;
      continue;
    }
    // In the outbox, or mined but its GrantCreated not indexed yet (or the head read predates it): still on its way.
    queued.push({
      grantDigest,
      patient: getAddress(bytesToHex(r.patient)),
      grantee: getAddress(bytesToHex(r.grantee)),
      state: r.status === 'failed' ? 'failed' : 'queued',
      ...queuedScope(r.data),
    });
  }
  return { head, grants, queued };
}
