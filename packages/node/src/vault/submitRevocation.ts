import { consentRegistryAbi, toRevokeTypedData } from '@carekey/sdk/chain';
import { VaultInputError } from '@carekey/sdk/errors';
import {
  type Address,
  bytesToHex,
  encodeFunctionData,
  type Hex,
  hashTypedData,
  hexToBytes,
  isAddressEqual,
} from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { appendAccessLog } from './appendAccessLog.ts';
import { checkOwnerSignature } from './checkOwnerSignature.ts';
import { type GrantCoversReturnType, grantCovers } from './grantCovers.ts';
import { readPatientGrants } from './readPatientGrants.ts';
import type { Vault } from './Vault.ts';
import type { ChainGrant } from './VaultChain.ts';
import { toBytes32 } from './vaultInput.ts';

/** A `Revoke` (ConsentRegistry EIP-712) signed by the patient's owner; the patient is read from the grant. */
export type SignedRevokeInput = { grantId: Hex; nonce: bigint; deadline: bigint; signature: Hex };

export type VerifyRevocationParameters = { vault: Vault; revoke: SignedRevokeInput };

/** The grant (at the head) and its patient, whose owner signed. */
export type VerifyRevocationReturnType = {
  patient: Address;
  grant: ChainGrant;
  head: { number: bigint; timestamp: bigint };
};

/**
 * Checks a signed `Revoke`: the grant exists and is not revoked yet, the deadline is ahead (chain time), and the
 * signature is by the current owner of the grant's patient.
 *
 * @throws {VaultInputError} `unknown-grant` (404), `already-revoked` (409), `signature-expired` (400),
 *   `bad-signature` / `not-owner` (403).
 */
export async function verifyRevocation(
  parameters: VerifyRevocationParameters,
): Promise<VerifyRevocationReturnType> {
  const { vault, revoke } = parameters;
  const grantId = toBytes32(revoke.grantId, 'grantId');
  const head = await vault.chain.head();
  const grant = await vault.chain.readGrant(grantId, head.number);
  if (grant === undefined)
    throw new VaultInputError('unknown-grant', `no grant ${grantId} on chain`, { status: 404 });
  if (grant.revoked)
    throw new VaultInputError('already-revoked', `grant ${grantId} is already revoked`, { status: 409 });
  if (revoke.deadline <= head.timestamp) {
    throw new VaultInputError('signature-expired', `the Revoke deadline ${revoke.deadline} has passed`);
  }
  const typedData = toRevokeTypedData({
    chainId: vault.chain.chainId,
    verifyingContract: vault.chain.contracts.consentRegistry,
    message: { patient: grant.patient, grantId, nonce: revoke.nonce, deadline: revoke.deadline },
  });
  await checkOwnerSignature({
    vault,
    identity: grant.patient,
    typedData,
    signature: revoke.signature,
    blockNumber: head.number,
    what: 'Revoke',
  });
  return { patient: grant.patient, grant, head };
}

export type SubmitRevocationParameters = VerifyRevocationParameters;

export type SubmitRevocationReturnType = {
  /** EIP-712 digest of the signed `Revoke` (outbox idempotency key). */
  revokeDigest: Hex;
  /** Records whose stanza for the grantee was deleted (no other active grant of the patient covers them). */
  deletedRecordIds: Hex[];
};

/**
 * Revokes a grant (docs/protocol.md flow 4): after {@link verifyRevocation}, in one transaction, deletes the
 * grantee's stanzas of the patient's records that no other active grant of the same patient to the same grantee
 * covers, enqueues `revokeGrantSigned` and writes a `revoke` access-log row. The stanzas are gone the moment this
 * resolves, before the chain has the revocation; releases are refused from the revocation's block on anyway (T-4).
 *
 * @throws {VaultInputError} see {@link verifyRevocation}.
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 * @example
 * await submitRevocation({ vault, revoke: { grantId, nonce, deadline, signature } });
 */
export async function submitRevocation(
  parameters: SubmitRevocationParameters,
): Promise<SubmitRevocationReturnType> {
  const { vault, revoke } = parameters;
  const { patient, grant, head } = await verifyRevocation(parameters);
  const revokeDigest = hashTypedData(
    toRevokeTypedData({
      chainId: vault.chain.chainId,
      verifyingContract: vault.chain.contracts.consentRegistry,
      message: { patient, grantId: grant.grantId, nonce: revoke.nonce, deadline: revoke.deadline },
    }),
  );
  const others = (await readPatientGrants({ chain: vault.chain, patient, blockNumber: head.number })).filter(
    (g) =>
      g.grantId !== grant.grantId &&
      isAddressEqual(g.grantee, grant.grantee) &&
      !g.revoked &&
      head.timestamp < g.expiresAt,
  );
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: 'revokeGrantSigned',
    args: [grant.grantId, revoke.nonce, revoke.deadline, revoke.signature],
  });
  const deleted = await vault.sql.transaction(async (tx) => {
    const coverers: GrantCoversReturnType[] = [];
    for (const other of others) {
      let scopeRecordIds: Hex[] | undefined;
      if (other.scopeKind === 2 && other.scopeData[0] !== undefined) {
        const { rows } = await tx.query<{ record_id: Uint8Array }>(
          'select record_id from scope_records where root = $1',
          [hexToBytes(other.scopeData[0])],
        );
        scopeRecordIds = rows.map((r) => bytesToHex(r.record_id));
      }
      coverers.push(grantCovers({ grant: other, scopeRecordIds }));
    }
    const { rows } = await tx.query<{ record_id: Uint8Array; category_tag: Uint8Array }>(
      `select r.record_id, coalesce(r.assigned_tag, r.category_tag) as category_tag from stanzas s join records r using (record_id)
       where s.reader = $1 and r.patient = $2`,
      [hexToBytes(grant.grantee), hexToBytes(patient)],
    );
    // The patient's own stanzas are never the grantee's to lose (a patient granting itself is a no-op).
    const doomed = isAddressEqual(grant.grantee, patient)
      ? []
      : rows
          .map((r) => ({ recordId: bytesToHex(r.record_id), categoryTag: bytesToHex(r.category_tag) }))
          .filter((r) => !coverers.some((covers) => covers(r)))
          .map((r) => r.recordId);
    if (doomed.length > 0) {
      await tx.query('delete from stanzas where reader = $1 and record_id = any($2)', [
        hexToBytes(grant.grantee),
        doomed.map((id) => hexToBytes(id)),
      ]);
    }
    await enqueueOutbox({
      sql: tx,
      kind: 'ConsentRegistry.revokeGrantSigned',
      idempotencyKey: revokeDigest,
      payload: {
        to: vault.chain.contracts.consentRegistry,
        data,
      },
    });
    await appendAccessLog({
      tx,
      patient,
      actor: patient,
      action: 'revoke',
      recordIds: doomed,
      grantId: grant.grantId,
      outcome: 'allowed',
      reason: `grantee ${grant.grantee}`,
      requestDigest: revokeDigest,
      signature: revoke.signature,
    });
    return doomed;
  });
  return { revokeDigest, deletedRecordIds: deleted };
}
