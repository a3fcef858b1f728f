import {
  buildRecordIdTree,
  consentRegistryAbi,
  ScopeKind,
  toGrantTypedData,
  ZERO_BYTES32,
} from '@carekey/sdk/chain';
import { X25519Recipient } from '@carekey/sdk/crypto';
import { VaultInputError } from '@carekey/sdk/errors';
import {
  type Address,
  bytesToHex,
  encodeFunctionData,
  type Hex,
  hashTypedData,
  hexToBytes,
  isAddressEqual,
  recoverTypedDataAddress,
  zeroAddress,
} from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { appendAccessLog } from './appendAccessLog.ts';
import { grantCovers } from './grantCovers.ts';
import type { Vault } from './Vault.ts';
import { checkStanza, toAddress, toBytes32 } from './vaultInput.ts';

/** A `Grant` (ConsentRegistry EIP-712) as signed by the patient's owner. */
export type SignedGrantInput = {
  patient: Address;
  grantee: Address;
  scopeKind: number;
  scopeData: readonly Hex[];
  purpose: Hex;
  expiresAt: bigint;
  requestId: Hex;
  nonce: bigint;
  deadline: bigint;
  signature: Hex;
};

export type SubmitGrantParameters = {
  vault: Vault;
  /** The verified identity that sent the request: must be the grant's patient. */
  identity: Address;
  grant: SignedGrantInput;
  /** The grantee's X25519 key (`age1…`) the stanzas are wrapped to; must be its DID key if it published one. */
  recipient: string;
  /** For a `Records` scope: the record ids under `scopeData[0]` (the vault rebuilds the root). */
  scopeRecordIds?: readonly Hex[] | undefined;
  /** The grantee's stanzas, one per record it may read. */
  stanzas: readonly { recordId: Hex; stanza: string }[];
};

export type SubmitGrantReturnType = {
  /** EIP-712 digest of the signed grant (the outbox idempotency key). */
  grantDigest: Hex;
  /** Records whose stanza for the grantee was stored. */
  recordIds: Hex[];
};

/** Most stanzas in one grant upload. */
export const MAX_GRANT_STANZAS = 5000;

/**
 * Shares records (docs/protocol.md flow 2): checks a patient-signed `Grant` (signed by the patient's current owner,
 * deadline and expiry in the future by chain time, scope well formed — a `Records` root must rebuild from the ids
 * sent), the grantee's recipient against its DID key, and each stanza (an age recipient stanza, for an active
 * record of this patient that the scope covers). Then in one transaction: stores the stanzas (released only once
 * the grant is on chain with its confirmations, T-5), the scope's record ids, the outbox entry for
 * `createGrantSigned` and a `grant` access-log row.
 *
 * @throws {VaultInputError} malformed or inconsistent input (400), not the patient or not its owner's signature
 *   (403), a record that is not the patient's (403), the same grant twice (409).
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 * @example
 * await submitGrant({ vault, identity: patient, grant, recipient: 'age1…', stanzas });
 */
export async function submitGrant(parameters: SubmitGrantParameters): Promise<SubmitGrantReturnType> {
  const { vault, grant: g } = parameters;
  const patient = toAddress(g.patient, 'grant.patient');
  const grantee = toAddress(g.grantee, 'grant.grantee');
  if (!isAddressEqual(parameters.identity, patient)) {
    throw new VaultInputError('not-patient', 'only the patient may submit its grants', { status: 403 });
  }
  if (isAddressEqual(grantee, zeroAddress))
    throw new VaultInputError('invalid-grantee', 'grant.grantee is zero');
  if (![ScopeKind.All, ScopeKind.Categories, ScopeKind.Records].includes(g.scopeKind as ScopeKind)) {
    throw new VaultInputError('invalid-scope', `grant.scopeKind ${g.scopeKind} is not 0, 1 or 2`);
  }
  const scopeKind = g.scopeKind as ScopeKind;
  const scopeData = g.scopeData.map((d, i) => toBytes32(d, `grant.scopeData[${i}]`));
  const expected = scopeKind === ScopeKind.All ? [0, 0] : scopeKind === ScopeKind.Records ? [1, 1] : [1, 64];
  if (scopeData.length < (expected[0] ?? 0) || scopeData.length > (expected[1] ?? 0)) {
    throw new VaultInputError(
      'invalid-scope',
      `scope kind ${scopeKind} takes ${expected.join(' to ')} items`,
    );
  }
  let scopeRecordIds: Hex[] | undefined;
  if (scopeKind === ScopeKind.Records) {
    scopeRecordIds = (parameters.scopeRecordIds ?? []).map((id, i) => toBytes32(id, `scopeRecordIds[${i}]`));
    let root: Hex | undefined;
    try {
      root = buildRecordIdTree(scopeRecordIds).root;
    } catch {
      root = undefined;
    }
    if (root !== scopeData[0]) {
      throw new VaultInputError(
        'scope-root-mismatch',
        'scopeRecordIds do not rebuild the grant’s scope root',
        {
          hint: 'send exactly the record ids given to buildRecordIdTree',
        },
      );
    }
  }
  let recipientKey: Uint8Array;
  try {
    recipientKey = new X25519Recipient(parameters.recipient).publicKey;
  } catch (cause) {
    throw new VaultInputError('invalid-recipient', 'recipient must be an X25519 age recipient (age1…)', {
      cause,
    });
  }
  if (!Array.isArray(parameters.stanzas) || parameters.stanzas.length > MAX_GRANT_STANZAS) {
    throw new VaultInputError('invalid-stanza', `send at most ${MAX_GRANT_STANZAS} stanzas`);
  }
  const seen = new Set<Hex>();
  const stanzas = parameters.stanzas.map((s, i) => {
    const recordId = toBytes32(s.recordId, `stanzas[${i}].recordId`);
    if (seen.has(recordId)) throw new VaultInputError('invalid-stanza', `stanzas[${i}].recordId repeats`);
    seen.add(recordId);
    return { recordId, stanza: checkStanza(s.stanza, `stanzas[${i}].stanza`) };
  });

  const { consentRegistry } = vault.chain.contracts;
  const message = {
    patient,
    grantee,
    scopeKind,
    scopeData,
    purpose: toBytes32(g.purpose, 'grant.purpose'),
    expiresAt: g.expiresAt,
    requestId: toBytes32(g.requestId, 'grant.requestId'),
    nonce: g.nonce,
    deadline: g.deadline,
  };
  const typedData = toGrantTypedData({
    chainId: vault.chain.chainId,
    verifyingContract: consentRegistry,
    message,
  });
  const grantDigest = hashTypedData(typedData);
  const head = await vault.chain.head();
  if (message.deadline <= head.timestamp) {
    throw new VaultInputError('signature-expired', `the Grant deadline ${message.deadline} has passed`);
  }
  if (message.expiresAt <= head.timestamp) {
    throw new VaultInputError(
      'expiry-in-past',
      `grant.expiresAt ${message.expiresAt} is not after chain time ${head.timestamp}`,
    );
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...typedData, signature: g.signature });
  } catch (cause) {
    throw new VaultInputError('bad-signature', 'the Grant signature does not verify', { cause, status: 403 });
  }
  const owner = await vault.chain.identityOwner(patient, head.number);
  const signed = { signer, hash: grantDigest, signature: g.signature };
  if (!(await vault.chain.ownerAccepts(owner, signed, head.number))) {
    throw new VaultInputError(
      'not-owner',
      'the Grant is not signed by the patient identity’s current owner',
      { status: 403 },
    );
  }
  if (message.requestId !== ZERO_BYTES32) {
    // Approving an access request: refuse here what the chain would refuse after the outbox took it (flow 7).
    const request = await vault.chain.readRequest(message.requestId, head.number);
    if (request === undefined) {
      throw new VaultInputError('unknown-request', `no access request ${message.requestId} on chain`, {
        status: 404,
      });
    }
    if (!isAddressEqual(request.patient, patient) || !isAddressEqual(request.requester, grantee)) {
      throw new VaultInputError(
        'request-mismatch',
        'the access request is not from this grantee to this patient',
        {
          status: 403,
        },
      );
    }
    if (request.status !== 'pending') {
      throw new VaultInputError(
        'not-pending',
        `access request ${message.requestId} is already ${request.status}`,
        {
          status: 409,
        },
      );
    }
  }
  const didKey = await vault.chain.encryptionKey(grantee);
  if (didKey !== undefined && bytesToHex(didKey) !== bytesToHex(recipientKey)) {
    throw new VaultInputError(
      'recipient-mismatch',
      'recipient is not the X25519 key the grantee published on its DID',
      {
        hint: 'wrap the file keys to the key from GET /v1/did/{grantee}',
      },
    );
  }
  const covers = grantCovers({ grant: { scopeKind, scopeData }, scopeRecordIds });
  const data = encodeFunctionData({
    abi: consentRegistryAbi,
    functionName: 'createGrantSigned',
    args: [
      patient,
      grantee,
      scopeKind,
      scopeData,
      message.purpose,
      message.expiresAt,
      message.requestId,
      message.nonce,
      message.deadline,
      g.signature,
    ],
  });

  await vault.sql.transaction(async (tx) => {
    const ids = stanzas.map((s) => hexToBytes(s.recordId));
    const { rows } = await tx.query<{
      record_id: Uint8Array;
      patient: Uint8Array;
      category_tag: Uint8Array;
      state: string;
    }>(
      'select record_id, patient, coalesce(assigned_tag, category_tag) as category_tag, state from records where record_id = any($1)',
      [ids],
    );
    const byId = new Map(rows.map((r) => [bytesToHex(r.record_id), r]));
    for (const [i, s] of stanzas.entries()) {
      const row = byId.get(s.recordId);
      // One answer whether the record is unknown or another patient's (T-15).
      if (row === undefined || !isAddressEqual(bytesToHex(row.patient), patient) || row.state !== 'active') {
        throw new VaultInputError(
          'not-your-record',
          `stanzas[${i}].recordId is not an active record of the patient`,
          {
            status: 403,
          },
        );
      }
      if (!covers({ recordId: s.recordId, categoryTag: bytesToHex(row.category_tag) })) {
        throw new VaultInputError(
          'not-in-scope',
          `stanzas[${i}].recordId is not covered by the grant’s scope`,
        );
      }
    }
    const { rowCount } = await tx.query(
      `insert into grant_submissions (grant_digest, patient, grantee) values ($1, $2, $3)
       on conflict (grant_digest) do nothing returning 1`,
      [hexToBytes(grantDigest), hexToBytes(patient), hexToBytes(grantee)],
    );
    if (rowCount === 0)
      throw new VaultInputError('grant-exists', 'this signed grant was already submitted', { status: 409 });
    for (const id of scopeRecordIds ?? []) {
      await tx.query('insert into scope_records (root, record_id) values ($1, $2) on conflict do nothing', [
        hexToBytes(scopeData[0] as Hex),
        hexToBytes(id),
      ]);
    }
    for (const s of stanzas) {
      await tx.query(
        'insert into stanzas (record_id, reader, stanza) values ($1, $2, $3) on conflict (record_id, reader) do nothing',
        [hexToBytes(s.recordId), hexToBytes(grantee), s.stanza],
      );
    }
    await enqueueOutbox({
      sql: tx,
      kind: 'ConsentRegistry.createGrantSigned',
      idempotencyKey: grantDigest,
      payload: {
        to: consentRegistry,
        data,
      },
    });
    await appendAccessLog({
      tx,
      patient,
      actor: patient,
      action: 'grant',
      recordIds: stanzas.map((s) => s.recordId),
      outcome: 'allowed',
      reason: `grantee ${grantee}`,
      requestDigest: grantDigest,
      signature: g.signature,
    });
  });
  return { grantDigest, recordIds: stanzas.map((s) => s.recordId) };
}
