-- Carekey node: a record's batch id is read from chain_batches (by the root and publisher it was published under)
-- instead of being copied into every record row. The indexer rewrote up to 1,000 rows (and their batch_id index)
-- per BatchPublished, ≈ 0.1–0.3 ms a row, and cleared them again on a reorg; the join gives the same id from one
-- chain_batches row (chain_batches_root_idx). Existing stores lose nothing: batch_id was always derived from it.
alter table records drop constraint records_batch_check;
drop index records_batch_idx;
alter table records drop column batch_id;
alter table records add constraint records_leaf_index_proof_check check ((leaf_index is null) = (proof is null));
