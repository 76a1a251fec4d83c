-- Back to receipts with a stored uuid and published_at. Ids are recomputed with the same
-- formula as the code (UUIDv5, URL namespace, "ebpCode/orderNo/sequence").
CREATE EXTENSION IF NOT EXISTS "uuid-ossp";
DROP VIEW receipts_unpublished;
ALTER TABLE receipts RENAME TO receipts_v2;
ALTER TABLE receipts_v2 RENAME CONSTRAINT receipts_order_sequence TO receipts_v2_order_sequence;

CREATE TABLE receipts (
    id             uuid         PRIMARY KEY,
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    flow           smallint     NOT NULL CONSTRAINT receipts_flow_check CHECK (flow BETWEEN 1 AND 5),
    sequence       integer      NOT NULL CHECK (sequence >= 1),
    return_status  integer      NOT NULL,
    return_info    text         NOT NULL,
    codes          text[]       NOT NULL DEFAULT '{}',
    declaration_id bigint       REFERENCES declarations (id),
    created_at     timestamptz  NOT NULL DEFAULT now(),
    published_at   timestamptz,
    CONSTRAINT receipts_order_sequence UNIQUE (ebp_code, order_no, sequence)
);
CREATE INDEX receipts_unpublished ON receipts (created_at) WHERE published_at IS NULL;

INSERT INTO receipts (id, ebp_code, order_no, flow, sequence, return_status, return_info, codes,
                      declaration_id, created_at, published_at)
SELECT uuid_generate_v5(uuid_ns_url(), r.ebp_code || '/' || r.order_no || '/' || r.sequence),
       r.ebp_code, r.order_no, r.flow, r.sequence, r.return_status, r.return_info, r.codes,
       r.declaration_id, r.created_at,
       CASE WHEN (r.chain_xid, r.id) <= (m.chain_xid, m.id) THEN now() END
FROM receipts_v2 r CROSS JOIN outbox_marks m
WHERE m.stream = 'receipts';

DROP TABLE receipts_v2;
DROP TABLE outbox_marks;

ALTER TABLE stock_movements DROP COLUMN lines;
