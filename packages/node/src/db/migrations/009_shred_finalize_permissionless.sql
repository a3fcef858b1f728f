-- Carekey node, key vault (packages/node/src/vault, docs/vault.md): RecordRegistry.finalizeShred is permissionless
-- once the shred delay has passed, so a request no longer carries a pre-signed finalisation. The node relays the
-- finalisation itself; nothing reserves the patient's next RecordRegistry nonce any more.
alter table shred_requests
  drop column finalize_nonce,
  drop column finalize_deadline,
  drop column finalize_signature;

comment on table shred_requests is
  'Pending shreds of this node: kept until the finalisation is relayed (the keys may already be destroyed, delay 0).';
