-- Carekey node, the earlier seals of an identity's category key (docs/identity.md, "The category key across
-- rotations"). `category_keys.sealed` is the latest seal; a re-seal by whoever holds the identity's key replaced it,
-- so a thief of the patient's phone could re-seal the escrow to a key of its own before the patient recovered, and the
-- recovered device (which holds only the shares' phrase) could not open it. Every seal accepted since is kept here,
-- the first 64 of an identity (a flood of re-seals cannot push the patient's own out), and a recovery tries them all.
-- The key never changes (`category_keys.key_id`), so every seal holds the same key, sealed to different X25519 keys.
create table category_key_seals (
  id bigserial primary key,
  identity bytea not null references category_keys (identity) on delete cascade check (length(identity) = 20),
  sealed text not null,
  sealed_at timestamptz not null default now()
);
create index category_key_seals_identity_idx on category_key_seals (identity, id);
-- The seals kept before this migration.
insert into category_key_seals (identity, sealed, sealed_at) select identity, sealed, updated_at from category_keys;
