-- Carekey node, key vault (docs/protocol.md "Records" and flow 7).

-- A provider cannot compute a patient's category tag, so its records are committed on chain with tag zero. The
-- patient's gateway tags them afterwards (POST /v1/records/tags). The on-chain leaf never changes: the tag the
-- patient assigned is kept beside the committed one, with the patient's signed request that set it (the
-- Carekey-Auth NodeRequest, whose body hash binds the tags), and the vault's category checks use it.
alter table records
  add column assigned_tag bytea check (octet_length(assigned_tag) = 32 and assigned_tag <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea),
  add column tag_authorization text,
  add constraint records_tag_assignment_check check (
    assigned_tag is null
    or (category_tag = '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
        and tag_authorization is not null));

-- Access requests this node relayed (before and after the chain has them), keyed by the EIP-712 digest of the
-- signed AccessRequest (= the outbox idempotency key). The chain's request id comes from the AccessRequested event
-- of the relaying transaction (access_requests, chain_events). `sealed` is what the requester wants to tell the
-- patient (categories, reason): an age file encrypted to the patient's X25519 key, opaque to the node.
create table access_request_submissions (
  request_digest  bytea primary key check (octet_length(request_digest) = 32),
  requester       bytea not null check (octet_length(requester) = 20),
  patient         bytea not null check (octet_length(patient) = 20),
  sealed          bytea check (octet_length(sealed) <= 16384),
  created_at      timestamptz not null default now()
);
create index access_request_submissions_patient_idx on access_request_submissions (patient);
create index access_request_submissions_requester_idx on access_request_submissions (requester);
