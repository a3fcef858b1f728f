-- Carekey node, chain indexer (packages/node/src/indexer, docs/indexer.md). After 002_vault.sql; touches none of its tables.
-- Every projection row carries the block it comes from, so a reorg at block F is undone with
-- "delete/update where block >= F" (see rollbackFrom.ts). Exceptions, on purpose (asymmetric finality, T-5):
-- seen revocations and shred tombstones are never rolled back.

-- Which deployment the cursor belongs to: another deploy block or other addresses means a replay from scratch.
alter table chain_cursor
  add column deploy_block       int8 check (deploy_block >= 0),
  add column deploy_block_hash  bytea check (octet_length(deploy_block_hash) = 32),
  -- didRegistry, recordRegistry, consentRegistry.
  add column contracts          bytea[];

-- Hashes of indexed blocks (every range end and every block with an event): a reorg's fork point is the block
-- after the highest one whose hash the chain still has. Range ends deeper than the reorg window are pruned.
create table indexed_blocks (
  block_number  int8 primary key check (block_number >= 0),
  block_hash    bytea not null check (octet_length(block_hash) = 32)
);

-- GrantRevoked events ever seen, at any depth. Kept when a reorg removes the revocation: the grant stays
-- refused until the chain has the revocation again (the client re-broadcasts it) or the chain is reset.
create table grant_revocations_seen (
  grant_id          bytea primary key check (octet_length(grant_id) = 32),
  first_seen_block  int8 not null check (first_seen_block >= 0),
  seen_at           timestamptz not null default now()
);

-- Access requests (ConsentRegistry AccessRequested / AccessRequestApproved / AccessRequestDenied).
create table access_requests (
  request_id       bytea primary key check (octet_length(request_id) = 32),
  patient          bytea not null check (octet_length(patient) = 20),
  requester        bytea not null check (octet_length(requester) = 20),
  scope_kind       text not null check (scope_kind in ('all', 'categories', 'records')),
  scope_data       bytea[] not null default '{}' check (all_bytes32(scope_data)),
  -- HL7 PurposeOfUse code, e.g. TREAT.
  purpose          text not null,
  -- Chain time (unix seconds) asked for; uint64 values above int8 are clamped to its maximum.
  expires_at       int8 not null check (expires_at >= 0),
  requested_block  int8 not null check (requested_block >= 0),
  status           text not null default 'pending' check (status in ('pending', 'approved', 'denied')),
  -- The grant that approved it.
  grant_id         bytea check (octet_length(grant_id) = 32),
  answered_block   int8 check (answered_block >= requested_block),
  check ((status = 'pending') = (answered_block is null)),
  check ((status = 'approved') = (grant_id is not null))
);
create index access_requests_patient_idx on access_requests (patient, status);
create index access_requests_requester_idx on access_requests (requester);

-- X25519 keys published as the DID attribute did/pub/X25519/enc/base64, every change (latest valid one counts).
create table did_encryption_keys (
  identity      bytea not null check (octet_length(identity) = 20),
  -- The attribute value (32 raw key bytes when well formed; kept as published).
  value         bytea not null,
  -- Chain time until which the attribute is valid (0 = revoked); uint256, hence numeric.
  valid_to      numeric not null,
  block_number  int8 not null check (block_number >= 0),
  log_index     int4 not null check (log_index >= 0),
  primary key (block_number, log_index)
);
create index did_encryption_keys_identity_idx on did_encryption_keys (identity, block_number desc, log_index desc);

-- ERC-1056 owner changes (key rotation, recovery), every change.
create table did_owners (
  identity      bytea not null check (octet_length(identity) = 20),
  owner         bytea not null check (octet_length(owner) = 20),
  block_number  int8 not null check (block_number >= 0),
  log_index     int4 not null check (log_index >= 0),
  primary key (block_number, log_index)
);
create index did_owners_identity_idx on did_owners (identity, block_number desc, log_index desc);

-- Batch roots on chain (RecordRegistry BatchPublished).
create table chain_batches (
  batch_id      int8 primary key check (batch_id >= 0),
  publisher     bytea not null check (octet_length(publisher) = 20),
  root          bytea not null check (octet_length(root) = 32),
  count         int8 not null check (count > 0),
  block_number  int8 not null check (block_number >= 0)
);
create index chain_batches_root_idx on chain_batches (root);

-- Shred transitions on chain, every one (the latest is the record's chain state). No patient column: the
-- index does not link a record id to a patient (R-11); chain_events keeps the raw event.
create table record_shred_events (
  record_id      bytea not null check (octet_length(record_id) = 32),
  action         text not null check (action in ('requested', 'cancelled', 'shredded')),
  -- ShredRequested: chain time from which the shred may be finalised.
  executable_at  int8 check (executable_at >= 0),
  block_number   int8 not null check (block_number >= 0),
  log_index      int4 not null check (log_index >= 0),
  primary key (block_number, log_index)
);
create index record_shred_events_record_idx on record_shred_events (record_id, block_number desc, log_index desc);
