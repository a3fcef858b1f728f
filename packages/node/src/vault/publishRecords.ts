import { parseBlobId } from '@carekey/sdk/blobs';
import {
  buildRecordTree,
  hashPatientCommitment,
  type RecordLeaf,
  recordRegistryAbi,
  toPublishTypedData,
} from '@carekey/sdk/chain';
import type { QueryError } from '@carekey/sdk/errors';
import { VaultInputError } from '@carekey/sdk/errors';
import {
  type Address,
  bytesToHex,
  encodeFunctionData,
  type Hex,
  hashTypedData,
  recoverTypedDataAddress,
} from 'viem';
import { enqueueOutbox } from '../outbox/enqueueOutbox.ts';
import { timedExecutor, timeStage, timeStageSync } from '../stageLog.ts';
import { appendAccessLog } from './appendAccessLog.ts';
import { packProof } from './recordProof.ts';
import type { Vault } from './Vault.ts';
import { checkStanza, toAddress, toBytes32 } from './vaultInput.ts';

/** The bytes of 0x-hex already checked (`toBytes32`, `toAddress`, tree hashes): no second validation. */
const bytes = (hex: Hex): Buffer => Buffer.from(hex.slice(2), 'hex');

/** Most records in one published batch. */
export const MAX_BATCH_RECORDS = 1000;

/** One record of a batch as the publisher sends it. */
export type PublishedRecord = {
  recordId: Hex;
  /** CIDv1 (raw, sha2-256) of the payload, already uploaded with `PUT /v1/blobs/{cid}`. */
  blobId: string;
  /** Salted category tag, or zero for an untagged record (a provider cannot compute the tag). */
  categoryTag: Hex;
  /** Random 32-byte salt of `patientCommitment = keccak256(abi.encode(patient, salt))`. */
  salt: Hex;
  /** The file key wrapped to each reader: the patient always, the publisher if it keeps access. */
  stanzas: readonly { reader: Address; stanza: string }[];
};

/** The signed `Publish` message (RecordRegistry domain) without its publisher and count, which are implied. */
export type SignedPublish = { root: Hex; count: number; nonce: bigint; deadline: bigint; signature: Hex };

export type PublishRecordsParameters = {
  vault: Vault;
  /** The verified identity that sent the request; must be the signed `Publish`'s publisher. */
  publisher: Address;
  /** Whose records these are. */
  patient: Address;
  records: readonly PublishedRecord[];
  publish: SignedPublish;
};

export type PublishRecordsReturnType = {
  root: Hex;
  /** EIP-712 digest of the signed `Publish`: the outbox idempotency key and the access-log request digest. */
  publishDigest: Hex;
  /** Per record, in the order given: its leaf hash and inclusion proof under `root`. */
  records: { recordId: Hex; leaf: Hex; proof: Hex[] }[];
};

/**
 * Publishes a batch (docs/protocol.md flow 1). Validates everything first — ids are 32 bytes, blob ids are
 * canonical and stored, every stanza is an age recipient stanza and one per record is the patient's, each leaf is
 * recomputed from its parts, the rebuilt root and count equal the signed ones, and the `Publish` signature is by
 * the publisher's current owner — then, in one transaction, stores the batch, records (leaf, proof, salt),
 * stanzas, the outbox entry for `publishBatchSigned` and a `publish` access-log row. On any error nothing is
 * written.
 *
 * @throws {VaultInputError} a field is malformed or inconsistent (400), the signature is not the owner's (403),
 *   a record or batch already exists or was shredded (409).
 * @throws {VaultChainUnavailableError} the chain cannot be read.
 * @example
 * await publishRecords({ vault, publisher, patient, records, publish: { root, count, nonce, deadline, signature } });
 */
export async function publishRecords(
  parameters: PublishRecordsParameters,
): Promise<PublishRecordsReturnType> {
  const { vault } = parameters;
  const publisher = toAddress(parameters.publisher, 'publisher');
  const patient = toAddress(parameters.patient, 'patient');
  const { records } = parameters;
  if (!Array.isArray(records) || records.length === 0 || records.length > MAX_BATCH_RECORDS) {
    throw new VaultInputError('invalid-batch', `a batch has 1 to ${MAX_BATCH_RECORDS} records`);
  }
  const seen = new Set<string>();
  const addresses = new Map<string, Address>();
  const checked: {
    recordId: Hex;
    blobId: string;
    categoryTag: Hex;
    salt: Hex;
    stanzas: { reader: Address; stanza: string }[];
    leaf: RecordLeaf;
  }[] = [];
  for (const [i, record] of records.entries()) {
    const recordId = toBytes32(record.recordId, `records[${i}].recordId`);
    if (seen.has(recordId)) throw new VaultInputError('duplicate-record', `records[${i}].recordId repeats`);
    seen.add(recordId);
    let blob: ReturnType<typeof parseBlobId>;
    try {
      blob = parseBlobId(record.blobId);
    } catch (cause) {
      throw new VaultInputError(
        'invalid-blob-id',
        `records[${i}].blobId is not a canonical CIDv1 (raw, sha2-256)`,
        {
          cause,
        },
      );
    }
    const categoryTag = toBytes32(record.categoryTag, `records[${i}].categoryTag`);
    const salt = toBytes32(record.salt, `records[${i}].salt`);
    if (!Array.isArray(record.stanzas) || record.stanzas.length === 0 || record.stanzas.length > 16) {
      throw new VaultInputError('invalid-stanza', `records[${i}].stanzas must list 1 to 16 stanzas`);
    }
    const readers = new Set<string>();
    const stanzas = record.stanzas.map((s: { reader: Address; stanza: string }, j: number) => {
      // A batch names few readers (the patient, the publisher): each distinct spelling checksummed once.
      let reader = addresses.get(s.reader);
      if (reader === undefined) {
        reader = toAddress(s.reader, `records[${i}].stanzas[${j}].reader`);
        addresses.set(s.reader, reader);
      }
      if (readers.has(reader))
        throw new VaultInputError('invalid-stanza', `records[${i}] has two stanzas for ${reader}`);
      readers.add(reader);
      return { reader, stanza: checkStanza(s.stanza, `records[${i}].stanzas[${j}].stanza`) };
    });
    if (!readers.has(patient)) {
      throw new VaultInputError(
        'no-patient-stanza',
        `records[${i}] has no stanza for the patient ${patient}`,
        {
          hint: 'always wrap the file key to the patient',
        },
      );
    }
    const patientCommitment = hashPatientCommitment(patient, salt);
    const leaf: RecordLeaf = { recordId, blobId: bytesToHex(blob.digest), categoryTag, patientCommitment };
    // parseBlobId accepts only the canonical spelling: the id as sent is the id as stored.
    checked.push({ recordId, blobId: blob.id, categoryTag, salt, stanzas, leaf });
  }

  // Every payload must be stored already (one look-up for the batch: the store's pack index, a stat for the others).
  const missing = await timeStage('blob look-ups (firstMissing)', () =>
    vault.blobs.firstMissing(checked.map((c) => c.blobId)),
  );
  if (missing >= 0) {
    throw new VaultInputError(
      'blob-missing',
      `records[${missing}].blobId ${checked[missing]?.blobId} is not in the blob store`,
      { hint: 'upload the payload first with POST /v1/blobs/batch or PUT /v1/blobs/{cid}' },
    );
  }
  const tree = timeStageSync('Merkle tree (buildRecordTree)', () =>
    buildRecordTree(checked.map((c) => c.leaf)),
  );
  const signedRoot = toBytes32(parameters.publish.root, 'publish.root');
  if (tree.root !== signedRoot) {
    throw new VaultInputError(
      'root-mismatch',
      `the records rebuild root ${tree.root}, not the signed ${signedRoot}`,
      {
        hint: 'sign the root of buildRecordTree over exactly these leaves',
      },
    );
  }
  if (parameters.publish.count !== checked.length) {
    throw new VaultInputError(
      'count-mismatch',
      `signed count ${parameters.publish.count}, ${checked.length} records sent`,
    );
  }

  const { recordRegistry } = vault.chain.contracts;
  const message = {
    publisher,
    root: tree.root,
    count: checked.length,
    nonce: parameters.publish.nonce,
    deadline: parameters.publish.deadline,
  };
  const typedData = toPublishTypedData({
    chainId: vault.chain.chainId,
    verifyingContract: recordRegistry,
    message,
  });
  const publishDigest = hashTypedData(typedData);
  const head = await vault.chain.head();
  if (message.deadline <= head.timestamp) {
    throw new VaultInputError(
      'signature-expired',
      `the Publish deadline ${message.deadline} has passed (chain time ${head.timestamp})`,
    );
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...typedData, signature: parameters.publish.signature });
  } catch (cause) {
    throw new VaultInputError('bad-signature', 'the Publish signature does not verify', {
      cause,
      status: 403,
    });
  }
  const owner = await vault.chain.identityOwner(publisher, head.number);
  const signed = { signer, hash: publishDigest, signature: parameters.publish.signature };
  if (!(await vault.chain.ownerAccepts(owner, signed, head.number))) {
    throw new VaultInputError(
      'not-owner',
      'the Publish is not signed by the publisher identity’s current owner',
      {
        status: 403,
      },
    );
  }

  const data = encodeFunctionData({
    abi: recordRegistryAbi,
    functionName: 'publishBatchSigned',
    args: [
      publisher,
      tree.root,
      checked.length,
      message.nonce,
      message.deadline,
      parameters.publish.signature,
    ],
  });
  const ids = checked.map((c) => bytes(c.recordId));
  try {
    await timeStage('SQL transaction (whole)', () =>
      vault.sql.transaction(async (raw) => {
        const tx = timedExecutor(raw);
        const { rows: clash } = await tx.query<{ record_id: Uint8Array }>(
          `select record_id from records where record_id = any($1)
         union all select record_id from shred_tombstones where record_id = any($1) limit 1`,
          [ids],
        );
        if (clash.length > 0) {
          throw new VaultInputError(
            'record-exists',
            `record ${bytesToHex(clash[0]?.record_id ?? new Uint8Array())} already exists`,
            {
              status: 409,
              hint: 'record ids are fresh random 32 bytes; an update is a new record',
            },
          );
        }
        await tx.query(
          'insert into record_batches (root, publisher, count, publish_digest) values ($1, $2, $3, $4)',
          [bytes(tree.root), bytes(publisher), checked.length, bytes(publishDigest)],
        );
        // One statement per table for the whole batch: every column an array parameter (a few values to
        // serialise instead of ten per row), unnested in order; the proof one bytea of its sibling hashes.
        await tx.query(
          `insert into records (record_id, patient, publisher, blob_id, category_tag, leaf, leaf_index, proof_nodes,
             batch_root, salt)
           select u.record_id, $1::bytea, $2::bytea, u.blob_id, u.category_tag, u.leaf, u.leaf_index, u.proof_nodes,
             $3::bytea, u.salt
           from unnest($4::bytea[], $5::text[], $6::bytea[], $7::bytea[], $8::int8[], $9::bytea[], $10::bytea[])
             as u(record_id, blob_id, category_tag, leaf, leaf_index, proof_nodes, salt)`,
          [
            bytes(patient),
            bytes(publisher),
            bytes(tree.root),
            ids,
            checked.map((c) => c.blobId),
            checked.map((c) => bytes(c.categoryTag)),
            tree.leafHashes.map((leaf) => bytes(leaf)),
            checked.map((_, i) => i),
            tree.proofs.map((proof) => packProof(proof)),
            checked.map((c) => bytes(c.salt)),
          ],
        );
        const stanzas = checked.flatMap((c, i) => c.stanzas.map((s) => ({ id: ids[i], ...s })));
        await tx.query(
          `insert into stanzas (record_id, reader, stanza)
           select * from unnest($1::bytea[], $2::bytea[], $3::text[])`,
          [stanzas.map((s) => s.id), stanzas.map((s) => bytes(s.reader)), stanzas.map((s) => s.stanza)],
        );
        await enqueueOutbox({
          sql: tx,
          kind: 'RecordRegistry.publishBatchSigned',
          idempotencyKey: publishDigest,
          payload: {
            to: recordRegistry,
            data,
          },
        });
        await appendAccessLog({
          tx,
          patient,
          actor: publisher,
          action: 'publish',
          recordIds: checked.map((c) => c.recordId),
          outcome: 'allowed',
          requestDigest: publishDigest,
          signature: parameters.publish.signature,
        });
      }),
    );
  } catch (error) {
    if ((error as QueryError).code === '23505') {
      throw new VaultInputError('batch-exists', 'this batch was already published', {
        status: 409,
        cause: error,
      });
    }
    throw error;
  }
  return {
    root: tree.root,
    publishDigest,
    records: checked.map((c, i) => ({
      recordId: c.recordId,
      leaf: tree.leafHashes[i] as Hex,
      proof: tree.proofs[i] ?? [],
    })),
  };
}
