-- How far the audit chain is known good, so the audit page verifies only newer entries: the last
-- verified entry and its hash (an anchor: changing or deleting that row is detected), and the
-- last full verification from the first entry (scheduled, `bondgate audit verify`, or the API's
-- verification). A break stays recorded until a full verification passes again.
CREATE TABLE audit_verification (
    singleton         boolean      PRIMARY KEY DEFAULT true CHECK (singleton),
    entry_id          bigint       NOT NULL CHECK (entry_id >= 0),
    entry_hash        bytea        NOT NULL,
    entries           bigint       NOT NULL CHECK (entries >= 0),
    verified_at       timestamptz  NOT NULL DEFAULT now(),
    full_verified_at  timestamptz,
    broken_at         bigint,
    broken_why        text,
    broken_found_at   timestamptz
);
-- The empty chain: nothing verified yet, the genesis hash (32 zero bytes).
INSERT INTO audit_verification (entry_id, entry_hash, entries)
VALUES (0, decode(repeat('00', 32), 'hex'), 0);
