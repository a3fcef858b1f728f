-- Carekey node, emergency access (break-glass) and notifications (docs/emergency.md).

-- File keys the patient wrapped to the node's emergency key: the summary record's (policy summary or all) and, for
-- policy all, every other record's. Kept apart from `stanzas`: the grant machinery never releases them; only a
-- break-glass re-wraps them, to one clinician.
create table emergency_stanzas (
  record_id   bytea primary key references records (record_id) on delete cascade,
  patient     bytea not null check (octet_length(patient) = 20),
  summary     boolean not null,
  stanza      text not null check (length(stanza) <= 4096),
  updated_at  timestamptz not null default now()
);
create index emergency_stanzas_patient_idx on emergency_stanzas (patient);
-- One summary per patient.
create unique index emergency_stanzas_summary_idx on emergency_stanzas (patient) where summary;

-- Every break-glass granted: who, for whom, why, until when, what was released, the signed request (T-26).
create table emergency_accesses (
  access_id       bytea primary key check (octet_length(access_id) = 32),
  at              timestamptz not null default now(),
  patient         bytea not null check (octet_length(patient) = 20),
  clinician       bytea not null check (octet_length(clinician) = 20),
  scope           text not null check (scope in ('summary', 'all')),
  purpose         text not null,
  reason          text not null check (length(reason) between 1 and 500),
  recipient       text not null,
  expires_at      timestamptz not null,
  issuer          bytea not null check (octet_length(issuer) = 20),
  issuer_name     text not null,
  claims          jsonb not null,
  -- The credential, to re-check it (status, trust, expiry) whenever the access is read again.
  status_uri      text not null,
  status_idx      integer not null check (status_idx >= 0),
  credential_expires_at bigint not null,
  request_digest  bytea not null check (octet_length(request_digest) = 32),
  signature       bytea not null,
  uses_in_window  integer not null,
  flagged         boolean not null
);
create index emergency_accesses_clinician_idx on emergency_accesses (clinician, at);
create index emergency_accesses_patient_idx on emergency_accesses (patient, at);

-- Whom a patient wants told about a break-glass: guardians (their in-app feed) and a webhook.
create table notification_settings (
  patient         bytea primary key check (octet_length(patient) = 20),
  guardians       bytea[] not null default '{}',
  webhook_url     text check (webhook_url is null or length(webhook_url) <= 2048),
  webhook_secret  text,
  updated_at      timestamptz not null default now()
);

-- The in-app feed: one row per reader (the patient, each guardian) per event; no health data.
create table notifications (
  id          bigserial primary key,
  at          timestamptz not null default now(),
  recipient   bytea not null check (octet_length(recipient) = 20),
  role        text not null check (role in ('patient', 'guardian')),
  kind        text not null check (kind in ('emergency-access')),
  patient     bytea not null check (octet_length(patient) = 20),
  access_id   bytea not null references emergency_accesses (access_id)
);
create index notifications_recipient_idx on notifications (recipient, id);

-- Webhook deliveries, retried with backoff until delivered or out of attempts (the body is signed at send time).
create table webhook_deliveries (
  id               bigserial primary key,
  created_at       timestamptz not null default now(),
  patient          bytea not null check (octet_length(patient) = 20),
  url              text not null,
  body             text not null,
  attempts         integer not null default 0,
  next_attempt_at  timestamptz not null default now(),
  status           text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  last_error       text
);
create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending';
