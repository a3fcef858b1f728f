-- Carekey node, outbox: the block a mined write landed in, to notice when the chain loses it (docs/chain.md).

-- A chain node restarted from an older state (anvil saves its state every few seconds; kill -9 loses what came
-- after) or a reorg can drop a block the outbox already saw a write mined in. With the block's hash and the
-- chain's genesis hash kept beside `block_number`, the worker sees the block is gone and sends the same signed
-- bytes (`raw_tx`, same hash: never doubled) again. The genesis hash keeps a wiped chain's history out of it.
alter table outbox
  add column block_hash bytea check (octet_length(block_hash) = 32),
  add column genesis_hash bytea check (octet_length(genesis_hash) = 32);
create index outbox_mined_idx on outbox (block_number desc) where block_hash is not null;
