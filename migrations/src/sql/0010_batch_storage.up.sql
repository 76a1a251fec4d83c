-- Storage for the batch, first step (issue 16): the append-only outbox and the per-batch stock ledger.
-- Receipts as an append-only outbox (ADR 0008): no published_at to UPDATE per receipt, no
-- random uuid primary key, no partial index of the unpublished tail, no foreign key probe per
-- row. The receipt id is derived (UUIDv5 of order key and sequence), publication is a
-- per-stream high-water mark over (chain_xid, id), and chain_xid makes the mark safe with
-- several writers (see crates/storage/src/outbox.rs).
CREATE TABLE outbox_marks (
    stream     text         PRIMARY KEY,
    chain_xid  xid8         NOT NULL,
    id         bigint       NOT NULL,
    moved_at   timestamptz  NOT NULL DEFAULT now()
);

ALTER TABLE receipts RENAME TO receipts_v1;
ALTER TABLE receipts_v1 RENAME CONSTRAINT receipts_order_sequence TO receipts_v1_order_sequence;
ALTER INDEX receipts_pkey RENAME TO receipts_v1_pkey;

CREATE TABLE receipts (
    -- Publication order among rows of the same chain; ids of one order grow with its sequence
    -- because each writer inserts after the previous writer of that order committed.
    id             bigint       GENERATED ALWAYS AS IDENTITY,
    -- max(own transaction id, chain of the order's previous receipt): final, and publishable,
    -- once below the oldest running transaction.
    chain_xid      xid8         NOT NULL,
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    -- 1 inventory (CEB622), 2 cancellation (CEB624), 3 refund (CEB626), 4 a single document
    -- (CEB312/412/512 semantics), 5 a logistics status (CEB514).
    flow           smallint     NOT NULL CHECK (flow BETWEEN 1 AND 5),
    -- Per order, 1, 2, 3...: the status order consumers see.
    sequence       integer      NOT NULL CHECK (sequence >= 1),
    return_status  integer      NOT NULL,
    return_info    text         NOT NULL,
    codes          text[]       NOT NULL DEFAULT '{}',
    -- The declaration answered (no foreign key: written in the same transaction as it).
    declaration_id bigint,
    created_at     timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT receipts_order_sequence PRIMARY KEY (ebp_code, order_no, sequence)
);
-- The relay reads the final rows after its mark in this order.
CREATE INDEX receipts_outbox ON receipts (chain_xid, id);

-- Published rows first, so that one mark separates them from the unpublished tail.
INSERT INTO receipts (chain_xid, ebp_code, order_no, flow, sequence, return_status, return_info,
                      codes, declaration_id, created_at)
SELECT '1'::xid8, ebp_code, order_no, flow, sequence, return_status, return_info, codes,
       declaration_id, created_at
FROM receipts_v1
ORDER BY published_at IS NULL, created_at, ebp_code, order_no, sequence;

INSERT INTO outbox_marks (stream, chain_xid, id)
SELECT 'receipts', '1'::xid8, count(*) FROM receipts_v1 WHERE published_at IS NOT NULL;

DROP TABLE receipts_v1;

-- What the relay has not published yet (for operators and tests; the relay reads the index).
CREATE VIEW receipts_unpublished AS
SELECT r.* FROM receipts r
WHERE (r.chain_xid, r.id) > (SELECT m.chain_xid, m.id FROM outbox_marks m WHERE m.stream = 'receipts');

-- The stock ledger per batch: one row per (item, kind) and batch with the batch's summed deltas
-- instead of one per declaration line (conservation is unchanged: balance = Σ deltas). `lines`
-- says how many declaration lines a row sums; declaration_id stays set when only one
-- declaration did.
ALTER TABLE stock_movements ADD COLUMN lines integer NOT NULL DEFAULT 1 CHECK (lines >= 1);
