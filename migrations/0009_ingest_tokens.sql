-- Ingest tokens of the OTLP/HTTP collector (`asp-telemetry collect`, docs/collector.md).
-- Only a token's SHA-256 is stored: the token itself is printed once, by
-- `asp-telemetry ingest-token create`, and cannot be recovered from the database.
create table raw.ingest_tokens (
    name text primary key check (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    token_sha256 text not null unique check (token_sha256 ~ '^[0-9a-f]{64}$'),
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
comment on table raw.ingest_tokens is
    'Bearer tokens the OTLP/HTTP collector accepts, by name; only their SHA-256 is stored.';
comment on column raw.ingest_tokens.name is 'The name the token was created under; recorded with every load it sends.';
comment on column raw.ingest_tokens.token_sha256 is 'SHA-256 of the token, as lowercase hex.';
comment on column raw.ingest_tokens.created_at is 'When the token was created.';
comment on column raw.ingest_tokens.revoked_at is 'When the token was revoked (null while it is valid).';

-- The collector runs as a writer: it reads the hashes to check requests, never changes them.
-- Tokens are created and revoked by the schema's owner (who runs migrations). dbt has no use
-- for them (0002's default privileges would let the transformer read them).
revoke all on raw.ingest_tokens from asp_writer, asp_transformer, asp_reader;
grant select on raw.ingest_tokens to asp_writer;

alter table raw.loads add column ingest_token text;
comment on column raw.loads.ingest_token is
    'The ingest token (its name) the collector''s requests of this load carried; null for other loads.';
-- Set by the collector on its own loads (row-level security, 0007) right after opening them.
grant update (ingest_token) on raw.loads to asp_writer;
