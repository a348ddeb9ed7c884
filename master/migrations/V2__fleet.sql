-- Sensor hosts (agents), their enrollment tokens, and the deckies they run.

-- One row per enrolled agent. `cert_fingerprints` holds the SHA-256 (lowercase hex) of every
-- client certificate currently accepted for the host: two of them while a rotation overlaps.
CREATE TABLE hosts (
    id                uuid        PRIMARY KEY,
    name              text        NOT NULL UNIQUE
                                  CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    cert_fingerprints text[]      NOT NULL DEFAULT '{}',
    status            text        NOT NULL DEFAULT 'enrolled'
                                  CHECK (status IN ('enrolled', 'online', 'offline', 'revoked')),
    agent_version     text,
    address           text,
    enrolled_at       timestamptz NOT NULL DEFAULT now(),
    last_seen         timestamptz,
    revoked_at        timestamptz,
    CHECK ((status = 'revoked') = (revoked_at IS NOT NULL))
);
-- A connecting agent is identified by its certificate fingerprint.
CREATE INDEX hosts_cert_fingerprints ON hosts USING gin (cert_fingerprints);

-- Single-use enrollment tokens. Only the SHA-256 of the token is stored, so a database dump
-- does not let anyone enroll.
CREATE TABLE enrollment_tokens (
    id         uuid        PRIMARY KEY,
    token_hash bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    host_name  text        NOT NULL CHECK (host_name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    created_by uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    revoked_at timestamptz
);

-- Deckies as last reported by their agent (or requested by a deployment). Names are unique
-- across the deployment because events, topics and the API address a decky by name alone.
CREATE TABLE deckies (
    name       text        PRIMARY KEY CHECK (name ~ '^[a-z0-9-]{1,64}$'),
    host       text        NOT NULL,
    ip         inet,
    persona    text,
    os         text,
    state      text        NOT NULL
                           CHECK (state IN ('pending', 'deploying', 'running', 'degraded',
                                            'failed', 'stopped', 'tearing_down', 'torn_down')),
    last_error text,
    spec_hash  text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deckies_host ON deckies (host, name);
CREATE INDEX deckies_state ON deckies (state);

-- The services a decky exposes, replaced as a whole on every state report.
CREATE TABLE decky_services (
    decky   text NOT NULL REFERENCES deckies (name) ON DELETE CASCADE,
    service text NOT NULL,
    port    integer CHECK (port BETWEEN 0 AND 65535),
    state   text NOT NULL DEFAULT 'running',
    PRIMARY KEY (decky, service)
);
