-- Attacker events and the tables derived from them by the ingest.
--
-- Why one table, not time partitions (designed for 100M+ rows):
--
-- * The hottest query is "the latest N events" with no time bound (`GET /events?limit=50`,
--   and every search page). On a single table it is one backward descent of the
--   (ts, id) btree. On a range-partitioned table it is a Merge Append over every live
--   partition (a default partition forbids the ordered Append), and a generic plan opens and
--   locks every partition at executor start-up: cost grows with retention.
-- * Every access path is "equality on one column, newest first": composite btrees
--   (column, ts, id) serve them directly, keyset pagination included, and stay cheap to
--   maintain because ts and the UUIDv7 ids only grow: inserts land on the right edge, so
--   the working set is the hot edge of each index, not the whole index, at 100M rows too.
-- * Idempotency: the primary key is (ts, id). Every replay of an event carries the same id
--   and the same ts, so ON CONFLICT DO NOTHING drops it; this key also stays valid if the
--   table is ever partitioned by ts (a unique key of a partitioned table must include the
--   partition key), so retention by partition can be added without changing the ingest.
-- * BRIN on ts (a few pages per 100M rows) serves long time-range scans combined with
--   other filters (histograms of a search) as a bitmap, at almost no insert cost.
-- * Retention on one table is a batched DELETE by ts range through the primary key; that
--   is the price paid for the faster reads above.
CREATE TABLE events (
    ts         timestamptz NOT NULL,
    id         uuid        NOT NULL,
    src_port   integer     NOT NULL,
    dst_port   integer     NOT NULL,
    src_ip     inet        NOT NULL,
    host       text        NOT NULL,
    decky      text        NOT NULL,
    service    text        NOT NULL,
    event_type text        NOT NULL,
    session_id text,
    msg        text,
    fields     jsonb       NOT NULL DEFAULT '{}',
    PRIMARY KEY (ts, id)
);
CREATE INDEX events_decky ON events (decky, ts, id);
CREATE INDEX events_service ON events (service, ts, id);
CREATE INDEX events_event_type ON events (event_type, ts, id);
CREATE INDEX events_src_ip ON events (src_ip, ts, id);
CREATE INDEX events_ts_brin ON events USING brin (ts) WITH (autosummarize = on);
-- `k:v` search is jsonb containment (fields @> '{"k":"v"}'); jsonb_path_ops indexes exactly
-- that operator and is a third the size of the default opclass.
CREATE INDEX events_fields ON events USING gin (fields jsonb_path_ops);
-- Append-only: let autovacuum set the visibility map early so counts use index-only scans.
ALTER TABLE events SET (autovacuum_vacuum_insert_scale_factor = 0.05);

-- Records of the durable stream that could not be decoded: kept, never lost, never blocking.
CREATE TABLE rejected_events (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host        text        NOT NULL,
    seq         bigint,
    raw         bytea       NOT NULL,
    reason      text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
-- A replayed batch must not store its rejected records twice.
CREATE UNIQUE INDEX rejected_events_raw ON rejected_events (host, sha256(raw));

-- One row per source address.
CREATE TABLE attackers (
    id               uuid        PRIMARY KEY,
    ip               inet        NOT NULL UNIQUE,
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    event_count      bigint      NOT NULL,
    services         text[]      NOT NULL DEFAULT '{}',
    deckies          text[]      NOT NULL DEFAULT '{}',
    credential_count bigint      NOT NULL DEFAULT 0,
    session_count    bigint      NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- The two list orders of `GET /attackers`, with keyset pagination.
CREATE INDEX attackers_recent ON attackers (last_seen, id);
CREATE INDEX attackers_active ON attackers (event_count, id);

-- One row per (attacker, target, principal, secret). The secret is identified by the SHA-256
-- of its raw bytes; `principal` is '' when the attempt named none.
CREATE TABLE credentials (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attacker_ip      inet        NOT NULL,
    decky            text        NOT NULL,
    service          text        NOT NULL,
    principal        text        NOT NULL,
    secret_kind      text        NOT NULL,
    secret_sha256    bytea       NOT NULL CHECK (octet_length(secret_sha256) = 32),
    secret_b64       text        NOT NULL,
    secret_printable text        NOT NULL,
    last_outcome     text,
    success_count    bigint      NOT NULL DEFAULT 0,
    attempt_count    bigint      NOT NULL,
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    UNIQUE (attacker_ip, decky, service, principal, secret_kind, secret_sha256)
);
CREATE INDEX credentials_secret ON credentials (secret_sha256, secret_kind);

-- One row per secret: how often it was tried and on which targets ("decky service" pairs).
-- A secret tried on two or more targets is a reuse.
CREATE TABLE credential_secrets (
    secret_sha256    bytea       NOT NULL,
    secret_kind      text        NOT NULL,
    secret_b64       text        NOT NULL,
    secret_printable text        NOT NULL,
    principals       text[]      NOT NULL DEFAULT '{}',
    targets          text[]      NOT NULL DEFAULT '{}',
    target_count     integer     NOT NULL,
    attempt_count    bigint      NOT NULL,
    first_seen       timestamptz NOT NULL,
    last_seen        timestamptz NOT NULL,
    PRIMARY KEY (secret_sha256, secret_kind)
);
CREATE INDEX credential_secrets_attempts ON credential_secrets (attempt_count);
CREATE INDEX credential_secrets_reuse ON credential_secrets (last_seen)
    WHERE target_count >= 2;

-- One row per principal, for the "most tried principals" board.
CREATE TABLE credential_principals (
    principal     text        PRIMARY KEY,
    attempt_count bigint      NOT NULL,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL
);
CREATE INDEX credential_principals_attempts ON credential_principals (attempt_count);

-- Connection or login sessions. The transcript, when recorded, is the lines tagged with
-- `sid` in the JSONL shard `transcript_shard` (one shard per decky, service and UTC day).
CREATE TABLE sessions (
    sid              text        PRIMARY KEY,
    host             text        NOT NULL,
    decky            text        NOT NULL,
    service          text        NOT NULL,
    src_ip           inet        NOT NULL,
    src_port         integer     NOT NULL,
    started_at       timestamptz NOT NULL,
    last_event_at    timestamptz NOT NULL,
    ended_at         timestamptz,
    event_count      bigint      NOT NULL,
    transcript_shard text,
    transcript_bytes bigint,
    truncated        boolean     NOT NULL DEFAULT false
);
CREATE INDEX sessions_src_ip ON sessions (src_ip, started_at);

-- Files captured on deckies, by content hash.
CREATE TABLE artifacts (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256     bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    size       bigint,
    decky      text        NOT NULL,
    service    text        NOT NULL,
    src_ip     inet        NOT NULL,
    origin     text        NOT NULL,
    stored_as  text,
    session_id text,
    seen_count bigint      NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    UNIQUE (sha256, decky, service, src_ip, origin)
);
CREATE INDEX artifacts_src_ip ON artifacts (src_ip, first_seen);

-- Per-hour tallies maintained by the ingest, so `GET /stats` never counts 100M rows.
-- Events are counted in the hour of their ts; attackers, credentials, sessions and
-- artifacts in the hour of the event that created them.
CREATE TABLE ingest_hourly (
    hour        timestamptz PRIMARY KEY,
    events      bigint      NOT NULL DEFAULT 0,
    attackers   bigint      NOT NULL DEFAULT 0,
    credentials bigint      NOT NULL DEFAULT 0,
    sessions    bigint      NOT NULL DEFAULT 0,
    artifacts   bigint      NOT NULL DEFAULT 0
);
