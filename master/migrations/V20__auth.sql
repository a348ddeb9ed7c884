-- Token revocation. A token older than its user's tokens_valid_from is refused (password
-- change, password reset); a single token is refused once its jti is listed here (logout).
ALTER TABLE users
    ADD COLUMN tokens_valid_from timestamptz NOT NULL DEFAULT '-infinity';

CREATE TABLE revoked_tokens (
    jti        uuid        PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Rows are useless once the token has expired anyway; pruned by this column.
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
