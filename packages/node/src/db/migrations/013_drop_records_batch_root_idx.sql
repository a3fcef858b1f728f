-- Carekey node: since migration 011 no query looks records up by batch_root (the indexer no longer rewrites a batch's
-- records), so its index only slowed every records insert. Left: records_pkey (release, publish clash check, tags,
-- grants by record id), records_patient_idx (listing by patient) and records_category_idx (patient, category_tag),
-- which no vault query filters on today either; it is left for the category search of issue 4.
drop index records_batch_root_idx;
