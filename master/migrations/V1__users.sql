-- Operators of the dashboard and API. Passwords are argon2id PHC strings.
CREATE TABLE users (
    id                   uuid        PRIMARY KEY,
    username             text        NOT NULL UNIQUE
                                     CHECK (char_length(username) BETWEEN 1 AND 64),
    password_hash        text        NOT NULL,
    role                 text        NOT NULL CHECK (role IN ('admin', 'viewer')),
    must_change_password boolean     NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Small deployment-wide facts (e.g. schema-independent markers), one row per key.
CREATE TABLE meta (
    key        text        PRIMARY KEY,
    value      text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
