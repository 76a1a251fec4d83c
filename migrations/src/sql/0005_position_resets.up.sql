-- Every time the broker handed a partition back from below our stored position because its log
-- no longer reached that far (a broker that lost its data, e.g. the memory:// engine restarted),
-- the clearance pipeline moved the position back to the broker's new log and says so here. The
-- records the broker lost before that are not recoverable from it: this row is the evidence ops
-- need to ask the senders to resubmit (the resubmissions are idempotent).
CREATE TABLE consumer_position_resets (
    id                   bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    group_id             text         NOT NULL,
    topic                text         NOT NULL,
    partition            integer      NOT NULL CHECK (partition >= 0),
    from_offset          bigint       NOT NULL CHECK (from_offset >= 0),
    to_offset            bigint       NOT NULL CHECK (to_offset >= 0 AND to_offset < from_offset),
    broker_end_offset    bigint       NOT NULL,
    generation           bigint       NOT NULL,
    owner                text         NOT NULL,
    reset_at             timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX consumer_position_resets_partition
    ON consumer_position_resets (group_id, topic, partition, id);

-- A fingerprint of the last record each position covers (SHA-256 of its key and value): on
-- assignment clearance reads that record again and compares, so a broker log that was replaced
-- and has already grown past the position is told apart from the log the position belongs to.
ALTER TABLE consumer_positions ADD COLUMN last_record_digest bytea;
