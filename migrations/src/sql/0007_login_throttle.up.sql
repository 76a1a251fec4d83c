-- Failed logins of the review service, counted per username and per client address so several
-- replicas share one count: after too many, further attempts of that username (or from that
-- client) are refused without checking the password, for a delay that doubles with each further
-- failure. Failed attempts are counted here, not appended to the audit log (only the start of a
-- lockout is audited), so a password-guessing bot cannot grow the hash chain.
CREATE TABLE login_throttle (
    scope            varchar(8)   NOT NULL CHECK (scope IN ('username', 'client')),
    -- The attempted username, or the client's address (IPv4, or the /64 of an IPv6 address).
    key              varchar(100) NOT NULL,
    -- Failures since the count last started afresh.
    failures         integer      NOT NULL CHECK (failures > 0),
    last_failure_at  timestamptz  NOT NULL,
    -- Attempts are refused until then.
    locked_until     timestamptz,
    -- Idle past this (the later of the last failure and the lockout's end, plus the window),
    -- the row is forgotten: the next failure counts from 1 and the purge deletes it.
    forget_at        timestamptz  NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX login_throttle_forget ON login_throttle (forget_at);
