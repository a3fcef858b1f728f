/**
 * SQL of a record's on-chain batch id (`null` until the indexer has its `BatchPublished`), for a `records` row
 * aliased `alias`: the id of the chain batch with the root and publisher the record was published under (the
 * smallest, should the same root be published twice). Read through `chain_batches_root_idx`; nothing is copied into
 * the record rows, so indexing a batch of 1,000 records writes one row, and a reorg that removes the batch leaves
 * the records without an id by removing that row (migration 011).
 */
export function recordBatchIdSql(alias: string): string {
  return `(select min(cb.batch_id) from chain_batches cb where cb.root = ${alias}.batch_root and cb.publisher = ${alias}.publisher)`;
}
