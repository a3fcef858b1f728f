-- Carekey node, key vault (packages/node/src/vault, docs/vault.md).

-- A record's inclusion proof is known when it is published (the client builds the batch tree), its batch id
-- only once the chain has the root: keep the proof from the start, and require it once the batch id is set.
alter table records drop constraint records_check;
alter table records add constraint records_batch_check
  check ((leaf_index is null) = (proof is null) and (batch_id is null or proof is not null));
alter table records
  -- Root of the batch the record was published in (what publishBatchSigned commits).
  add column batch_root bytea check (octet_length(batch_root) = 32),
  -- Random per-record salt of patientCommitment = keccak256(abi.encode(patient, salt)); deleted by a shred (R-11).
  add column salt bytea check (octet_length(salt) = 32),
  add constraint records_salt_state_check check ((salt is null) = (state = 'shredded'));
create index records_batch_root_idx on records (batch_root);

-- Batches as submitted: one signed Publish each, relayed through the outbox.
create table record_batches (
  root             bytea primary key check (octet_length(root) = 32),
  publisher        bytea not null check (octet_length(publisher) = 20),
  count            int4 not null check (count > 0),
  -- EIP-712 digest of the signed Publish (also the outbox idempotency key).
  publish_digest   bytea not null unique check (octet_length(publish_digest) = 32),
  created_at       timestamptz not null default now()
);

-- The record ids under a `Records` grant scope root (the client sends them with the grant; the vault rebuilds
-- the root before storing them). Keyed by root, so no grant id is needed before the chain assigns one.
create table scope_records (
  root       bytea not null check (octet_length(root) = 32),
  record_id  bytea not null check (octet_length(record_id) = 32),
  primary key (root, record_id)
);

-- Grants relayed by this node (before and after the chain has them): which patients granted which grantees.
create table grant_submissions (
  grant_digest  bytea primary key check (octet_length(grant_digest) = 32),
  patient       bytea not null check (octet_length(patient) = 20),
  grantee       bytea not null check (octet_length(grantee) = 20),
  created_at    timestamptz not null default now()
);
create index grant_submissions_grantee_idx on grant_submissions (grantee, patient);

-- Pending shreds: the patient's pre-signed finalisation, submitted once the delay has passed.
create table shred_requests (
  record_id           bytea primary key references records (record_id),
  patient             bytea not null check (octet_length(patient) = 20),
  -- Chain time (unix seconds) from which the finalisation may be submitted.
  executable_at       int8 not null check (executable_at >= 0),
  finalize_nonce      numeric not null,
  finalize_deadline   numeric not null,
  finalize_signature  bytea not null,
  created_at          timestamptz not null default now()
);

-- Shred tombstones: record ids whose keys were destroyed. Never deleted; re-applied after a restore (F-8).
-- Deliberately without the patient: a tombstone must not link a record to anyone (R-11).
create table shred_tombstones (
  record_id    bytea primary key check (octet_length(record_id) = 32),
  shredded_at  timestamptz not null default now()
);
