-- Carekey node, key vault (packages/node/src/vault, docs/vault.md): a shred is finalised only once its request is
-- mined, by the chain time of that block (the contract's executableAt), so the finalisation is never too early.
alter table shred_requests
  -- EIP-712 digest of the signed Shred(Request): its outbox idempotency key. Null for requests stored before 004.
  add column request_digest bytea check (octet_length(request_digest) = 32);
