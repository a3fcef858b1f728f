-- Carekey node, initial schema. See docs/storage.md for what each table is for.
-- Binary chain values are bytea of a fixed length (checked): 32 bytes for ids,
-- hashes and tags, 20 bytes for addresses. Chain integers (blocks, seconds) are int8.

-- True when every element of the array is 32 bytes long (CHECK constraints cannot hold subqueries).
create function all_bytes32(values_ bytea[]) returns boolean language sql immutable as $$
  select coalesce(bool_and(octet_length(v) = 32), true) from unnest(values_) as v
$$;

create table records (
  record_id     bytea primary key check (octet_length(record_id) = 32),
  patient       bytea not null check (octet_length(patient) = 20),
  publisher     bytea not null check (octet_length(publisher) = 20),
  -- CIDv1 (raw, sha2-256) of the ciphertext, validated by the SDK before it gets here.
  blob_id       text not null check (blob_id ~ '^b[a-z2-7]{58}$'),
  category_tag  bytea not null check (octet_length(category_tag) = 32),
  -- Set once the record's batch root is published (RecordRegistry batch id).
  batch_id      int8 check (batch_id >= 0),
  leaf          bytea not null check (octet_length(leaf) = 32),
  leaf_index    int8 check (leaf_index >= 0),
  -- Merkle inclusion proof of `leaf` under the batch root, sibling hashes bottom-up.
  proof         bytea[],
  state         text not null default 'active' check (state in ('active', 'pending_shred', 'shredded')),
  created_at    timestamptz not null default now(),
  check ((batch_id is null) = (leaf_index is null) and (batch_id is null) = (proof is null)),
  check (proof is null or all_bytes32(proof))
);
create index records_patient_idx on records (patient, created_at);
create index records_category_idx on records (patient, category_tag);
create index records_batch_idx on records (batch_id);

-- One age recipient stanza per (record, reader): the record's file key wrapped to the reader's X25519 key.
create table stanzas (
  record_id   bytea not null references records (record_id) on delete cascade,
  reader      bytea not null check (octet_length(reader) = 20),
  -- "-> X25519 <share>\n<body>": a wrapped key, never a plaintext key or identity.
  stanza      text not null check (stanza like '-> %' and position('AGE-SECRET-KEY-' in upper(stanza)) = 0),
  created_at  timestamptz not null default now(),
  primary key (record_id, reader)
);
create index stanzas_reader_idx on stanzas (reader);

-- Grants as the chain indexer saw them (ConsentRegistry); revocations apply from the block they appear in.
create table grants (
  grant_id       bytea primary key check (octet_length(grant_id) = 32),
  patient        bytea not null check (octet_length(patient) = 20),
  grantee        bytea not null check (octet_length(grantee) = 20),
  scope_kind     text not null check (scope_kind in ('all', 'categories', 'records')),
  -- 'all': empty; 'categories': the category tags; 'records': one Merkle root of record ids.
  scope_data     bytea[] not null default '{}' check (all_bytes32(scope_data)),
  -- HL7 PurposeOfUse code, e.g. TREAT, ETREAT, HRESCH.
  purpose        text not null,
  -- Chain time (unix seconds) after which the grant is void.
  expires_at     int8 not null check (expires_at >= 0),
  created_block  int8 not null check (created_block >= 0),
  revoked_block  int8 check (revoked_block >= created_block)
);
create index grants_grantee_idx on grants (grantee, patient);
create index grants_patient_idx on grants (patient);

-- The audit trail: one row per release, refusal, grant, revocation, shred, publish...
-- Append-only (a trigger refuses UPDATE, DELETE and TRUNCATE); the vault writes
-- the row in the same transaction as, and before, any key release.
create table access_log (
  id              bigserial primary key,
  at              timestamptz not null default now(),
  patient         bytea not null check (octet_length(patient) = 20),
  -- Who acted (R-2: never null, never shared).
  actor           bytea not null check (octet_length(actor) = 20),
  action          text not null check (action in (
                    'release', 'refusal', 'grant', 'revoke', 'shred_request', 'shred_cancel', 'shred',
                    'publish', 'break_glass', 'export')),
  record_ids      bytea[] not null default '{}' check (all_bytes32(record_ids)),
  grant_id        bytea check (octet_length(grant_id) = 32),
  outcome         text not null check (outcome in ('allowed', 'denied', 'error')),
  reason          text,
  -- EIP-712 digest of the signed request and its signature (T-26: non-repudiation).
  request_digest  bytea check (octet_length(request_digest) = 32),
  signature       bytea
);
create index access_log_patient_idx on access_log (patient, at);
create index access_log_actor_idx on access_log (actor, at);

create function access_log_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'access_log is append-only: % refused', tg_op
    using errcode = 'P0001', hint = 'audit rows are never changed or removed; append a new row instead';
end;
$$;
create trigger access_log_no_update before update or delete on access_log
  for each row execute function access_log_append_only();
create trigger access_log_no_truncate before truncate on access_log
  for each statement execute function access_log_append_only();

-- Nonces of signed requests already used (T-1 replay protection); rows past expires_at may be pruned.
create table used_nonces (
  signer      bytea not null check (octet_length(signer) = 20),
  nonce       bytea not null check (octet_length(nonce) between 1 and 32),
  expires_at  timestamptz not null,
  primary key (signer, nonce)
);
create index used_nonces_expiry_idx on used_nonces (expires_at);

-- Where the chain indexer is; genesis_hash detects a reset chain (then the index is replayed).
create table chain_cursor (
  chain_id         int8 primary key,
  genesis_hash     bytea not null check (octet_length(genesis_hash) = 32),
  last_block       int8 not null check (last_block >= 0),
  last_block_hash  bytea not null check (octet_length(last_block_hash) = 32),
  updated_at       timestamptz not null default now()
);

-- Decoded contract events, keyed by block hash so a reorg leaves the old block's rows recognisable.
create table chain_events (
  block_number  int8 not null check (block_number >= 0),
  block_hash    bytea not null check (octet_length(block_hash) = 32),
  log_index     int4 not null check (log_index >= 0),
  tx_hash       bytea not null check (octet_length(tx_hash) = 32),
  contract      bytea not null check (octet_length(contract) = 20),
  name          text not null,
  args          jsonb not null,
  primary key (block_hash, log_index)
);
create index chain_events_block_idx on chain_events (block_number);
create index chain_events_name_idx on chain_events (name, block_number);

-- Durable chain writes (packages/node/src/outbox): inserted in the same transaction as the
-- state they belong to; a worker signs, records, broadcasts and confirms them.
create table outbox (
  id               bigserial primary key,
  -- What the write is, e.g. 'RecordRegistry.publishBatch' (for logs and error messages).
  kind             text not null,
  -- The same key inserted twice is one write.
  idempotency_key  text not null unique,
  -- The encoded call: {"to": "0x…", "data": "0x…", "value": "0"} (value in wei, decimal string).
  payload          jsonb not null,
  status           text not null default 'pending' check (status in ('pending', 'submitted', 'confirmed', 'failed')),
  attempts         int4 not null default 0,
  -- Sender, nonce, hash and raw bytes of the signed transaction, recorded before it is broadcast.
  sender           bytea check (octet_length(sender) = 20),
  nonce            int8 check (nonce >= 0),
  tx_hash          bytea check (octet_length(tx_hash) = 32),
  raw_tx           bytea,
  block_number     int8,
  last_error       text,
  next_attempt_at  timestamptz not null default now(),
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  check ((status = 'submitted') <= (tx_hash is not null and nonce is not null and raw_tx is not null)),
  check ((status = 'confirmed') <= (tx_hash is not null and block_number is not null))
);
create index outbox_due_idx on outbox (next_attempt_at, id) where status = 'pending';
create index outbox_submitted_idx on outbox (nonce) where status = 'submitted';
