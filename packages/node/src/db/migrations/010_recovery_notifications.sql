-- Carekey node, notifications (docs/recovery.md, docs/emergency.md): recovery events of the Recovery contract join
-- break-glass in the in-app feed. The indexer writes one row per reader (the patient and each guardian the contract
-- names) per event; `event` holds only the public facts of the chain event (addresses, round, counts, times).
alter table notifications alter column access_id drop not null;
alter table notifications drop constraint notifications_kind_check;
alter table notifications add constraint notifications_kind_check check (kind in (
  'emergency-access', 'recovery-started', 'recovery-approved', 'recovery-ready', 'recovery-cancelled',
  'recovery-finished'));
alter table notifications add column event jsonb;
-- `<block hash>:<log index>` of the chain event, so a range the indexer reads again adds nothing twice.
alter table notifications add column event_key text;
alter table notifications add constraint notifications_subject_check check (
  (kind = 'emergency-access' and access_id is not null) or (kind <> 'emergency-access' and event is not null));
create unique index notifications_event_idx on notifications (recipient, event_key) where event_key is not null;
