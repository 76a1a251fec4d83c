-- Customs officers, their sessions, and the hash-chained audit log of everything they do.

CREATE TABLE officers (
    username       varchar(64)  PRIMARY KEY,
    display_name   varchar(100) NOT NULL,
    role           varchar(12)  NOT NULL CHECK (role IN ('officer', 'supervisor', 'auditor')),
    -- argon2id PHC string.
    password_hash  text         NOT NULL,
    created_at     timestamptz  NOT NULL DEFAULT now(),
    disabled_at    timestamptz
);

CREATE TABLE officer_sessions (
    -- SHA-256 of the session token: a stolen table does not yield usable cookies.
    token_hash   bytea        PRIMARY KEY,
    username     varchar(64)  NOT NULL REFERENCES officers (username),
    csrf_token   text         NOT NULL,
    created_at   timestamptz  NOT NULL DEFAULT now(),
    expires_at   timestamptz  NOT NULL
);
CREATE INDEX officer_sessions_expiry ON officer_sessions (expires_at);

-- hash = SHA-256(prev_hash || canonical JSON of the entry); tampering with any row breaks the chain.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz  NOT NULL DEFAULT now(),
    actor       varchar(64)  NOT NULL,
    action      varchar(32)  NOT NULL,
    subject     text         NOT NULL,
    reason      text         NOT NULL DEFAULT '',
    detail      jsonb        NOT NULL DEFAULT '{}',
    prev_hash   bytea        NOT NULL,
    hash        bytea        NOT NULL UNIQUE
);
