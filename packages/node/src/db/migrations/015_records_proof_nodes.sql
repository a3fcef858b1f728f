-- Carekey node: a record's Merkle inclusion proof stored compactly, as one bytea of its sibling hashes back to back
-- (32 bytes each, bottom-up), instead of a bytea[] of them. Inserting a 1,000-record batch spent most of its time
-- in PGlite building and parsing the ≈ 10-element array literal of every row and in the all_bytes32 check, a SQL
-- function over unnest run once per row; one bytea per row is one value, and its check is one length test.
--
-- Readers: `records.proof_nodes` (split it with `proofNodes`, packages/node/src/vault/recordProof.ts), or
-- `r.proof` as before: a function of the row (`proof(records)`, PostgreSQL's attribute notation for a function of
-- a composite argument) still returns the bytea[] a query selecting `r.proof` expects, null when there is none.
alter table records add column proof_nodes bytea;
update records set proof_nodes = coalesce(
  (select string_agg(p, ''::bytea order by o) from unnest(proof) with ordinality as u(p, o)), ''::bytea)
  where proof is not null;
-- Drops the column's checks with it (all_bytes32, and leaf index iff proof).
alter table records drop column proof;
alter table records add constraint records_proof_nodes_check
  check (proof_nodes is null or octet_length(proof_nodes) % 32 = 0);
alter table records add constraint records_leaf_index_proof_check check ((leaf_index is null) = (proof_nodes is null));

create function proof(r records) returns bytea[] language sql immutable as $$
  select case when r.proof_nodes is null then null else array(
    select substring(r.proof_nodes from 32 * i + 1 for 32)
    from generate_series(0, octet_length(r.proof_nodes) / 32 - 1) as i order by i) end
$$;
