-- Receipts and rules as customs defines them (issue 15): the account book's owner (the CEB621
-- areaCode/areaName) and second legal units, the declared CEB621 itself, the parcel's exit from
-- the zone and the return of goods, logistics statuses (CEB513), and receipts of flow 5 (CEB514).

-- The zone warehouse enterprise that keeps the account book, and the second legal quantity per
-- transaction unit for tariff lines with a second legal unit (positive_list.unit2).
ALTER TABLE account_book_items
    ADD COLUMN owner_code     varchar(18),
    ADD COLUMN owner_name     varchar(100),
    ADD COLUMN qty2_per_unit  numeric(19, 5) CHECK (qty2_per_unit > 0);

-- The tariff line's second legal unit (JGS-20), when it has one.
ALTER TABLE positive_list ADD COLUMN unit2 char(3) CHECK (unit2 ~ '^[0-9]{3}$');

-- The CEB621 as declared (the exact XML, signed when a signing key is configured), sealed with
-- the data key because it names the buyer. Served as is by the API and `bondgate export`.
-- exited_at: a logistics status (CEB513) said the parcel left the zone: from then on a
-- cancellation is refused and the buyer must return the goods. goods_back_at: the returned goods
-- were recorded back in the zone (`bondgate returns arrived`), when their stock came back.
-- weight_lines/weight_kg: what the declaration counts toward the buyer's yearly weight caps,
-- per capped tariff line (buyer_weights sums them, like buyer_quotas sums quota_amount).
ALTER TABLE declarations
    ADD COLUMN ceb621         bytea,
    ADD COLUMN exited_at      timestamptz,
    ADD COLUMN goods_back_at  timestamptz,
    ADD COLUMN weight_lines   text[]     NOT NULL DEFAULT '{}',
    ADD COLUMN weight_kg      numeric[]  NOT NULL DEFAULT '{}',
    ADD CONSTRAINT weights_pair CHECK (cardinality(weight_lines) = cardinality(weight_kg));

-- CEB513 logistics statuses, one per (waybill, status) under the order they belong to.
CREATE TABLE logistics_status_documents (
    logistics_code    varchar(18)  NOT NULL,
    logistics_no      varchar(60)  NOT NULL,
    logistics_status  varchar(1)   NOT NULL,
    ebp_code          varchar(18)  NOT NULL,
    order_no          varchar(60)  NOT NULL,
    sender_code       varchar(18)  NOT NULL,
    document_id       uuid         NOT NULL,
    payload           bytea        NOT NULL,
    digest            bytea        NOT NULL CHECK (octet_length(digest) = 32),
    src_partition     integer      NOT NULL,
    src_offset        bigint       NOT NULL,
    received_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT logistics_status_documents_pk
        PRIMARY KEY (logistics_code, logistics_no, logistics_status)
);

-- Flow 5: receipts of logistics statuses (CEB514).
ALTER TABLE receipts DROP CONSTRAINT receipts_flow_check;
ALTER TABLE receipts ADD CONSTRAINT receipts_flow_check CHECK (flow BETWEEN 1 AND 5);

-- An order key that got a receipt (a refused cancellation, return or logistics status) before
-- any of its documents: its row only keeps the receipt sequence. 'idle' rows are not swept; the
-- first document makes the row 'waiting' and starts the window then, so a record naming a key
-- nobody sent can neither close it early nor earn it a -900104.
ALTER TABLE pending_orders DROP CONSTRAINT pending_orders_state_check;
ALTER TABLE pending_orders ADD CONSTRAINT pending_orders_state_check
    CHECK (state IN ('idle', 'waiting', 'closed'));
