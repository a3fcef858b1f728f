-- Carekey node, identity and provider credentials (docs/identity.md).

-- Token Status Lists issuers publish here (PUT /v1/status-lists/{issuer}/{listId}): the signed JWT as received,
-- newest `iat` wins. Served to any verifier; the node reads them locally when it verifies (never fetches a URL).
create table identity_status_lists (
  issuer      bytea not null check (octet_length(issuer) = 20),
  list_id     text not null check (list_id ~ '^[A-Za-z0-9_-]{1,64}$'),
  jwt         text not null check (length(jwt) <= 65536),
  iat         bigint not null,
  updated_at  timestamptz not null default now(),
  primary key (issuer, list_id)
);

-- Challenges handed out by GET /v1/credentials/challenge: one use each, short-lived.
create table identity_challenges (
  nonce       text primary key check (length(nonce) = 43),
  expires_at  timestamptz not null,
  used_at     timestamptz
);

-- Each identity's latest verified presentation (POST /v1/credentials): only what it disclosed. Re-checked for
-- status, trust and expiry whenever it is shown.
create table identity_presentations (
  identity      bytea primary key check (octet_length(identity) = 20),
  presentation  text not null check (length(presentation) <= 16384),
  issuer        bytea not null check (octet_length(issuer) = 20),
  issuer_name   text not null,
  claims        jsonb not null,
  status_uri    text not null,
  status_idx    integer not null check (status_idx >= 0),
  expires_at    bigint not null,
  verified_at   timestamptz not null default now()
);

-- Every credential or DID check the node refused or accepted: what was tried, by whom (if known), why refused.
create table identity_attempts (
  id        bigserial primary key,
  at        timestamptz not null default now(),
  operation text not null,
  actor     bytea check (actor is null or octet_length(actor) = 20),
  outcome   text not null check (outcome in ('accepted', 'refused')),
  reason    text
);
create index identity_attempts_actor_idx on identity_attempts (actor, at);
