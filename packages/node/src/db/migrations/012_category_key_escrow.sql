-- Carekey node, the category key escrow (docs/identity.md, "The category key across rotations"): an identity's
-- category key, sealed (an armored age file, one X25519 stanza) to the patient's current encryption key, so that a
-- restore from a rotated phrase or a recovered device tags with the same key. The node cannot open it. `key_id` =
-- HMAC-SHA256(key, "carekey/category-key-id") names the key without revealing it: a re-seal (at each rotation)
-- keeps it, another key is refused (409 `category-key-mismatch`).
create table category_keys (
  identity bytea primary key check (length(identity) = 20),
  key_id bytea not null check (length(key_id) = 32),
  sealed text not null,
  updated_at timestamptz not null default now()
);
