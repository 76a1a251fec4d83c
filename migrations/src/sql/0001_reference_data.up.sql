-- Reference data: enterprises and their API keys, the positive list, the bonded account book and
-- its append-only stock ledger.

CREATE TABLE enterprises (
    code        varchar(18)  PRIMARY KEY,
    name        varchar(100) NOT NULL,
    -- What the enterprise may send: platform, ecommerce, payment, logistics, agent.
    roles       text[]       NOT NULL DEFAULT '{}',
    created_at  timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id               uuid         PRIMARY KEY,
    enterprise_code  varchar(18)  NOT NULL REFERENCES enterprises (code),
    -- Public part of the key, shown in listings and logs.
    prefix           varchar(24)  NOT NULL UNIQUE,
    -- SHA-256 of the secret. Keys are 256 random bits, so a fast hash is enough (no dictionary).
    secret_hash      bytea        NOT NULL CHECK (octet_length(secret_hash) = 32),
    label            text         NOT NULL DEFAULT '',
    created_at       timestamptz  NOT NULL DEFAULT now(),
    revoked_at       timestamptz
);
CREATE INDEX api_keys_enterprise ON api_keys (enterprise_code);

CREATE TABLE positive_list (
    tariff_line                char(8)        PRIMARY KEY CHECK (tariff_line ~ '^[0-9]{8}$'),
    name                       text           NOT NULL,
    vat_rate                   numeric(7, 5)  NOT NULL CHECK (vat_rate BETWEEN 0 AND 1),
    consumption_rate           numeric(7, 5)  NOT NULL CHECK (consumption_rate >= 0 AND consumption_rate < 1),
    -- Consumption tax only for high-end cosmetics (dutiable price per ml/g or piece above a threshold).
    consumption_high_end_only  boolean        NOT NULL DEFAULT false,
    mfn_rate                   numeric(7, 5)  NOT NULL CHECK (mfn_rate BETWEEN 0 AND 10),
    only_1210                  boolean        NOT NULL DEFAULT false,
    -- Non-empty: the goods name must contain one of these words.
    name_keywords              text[]         NOT NULL DEFAULT '{}',
    weight_cap_kg              numeric(19, 5) CHECK (weight_cap_kg > 0)
);

CREATE TABLE account_book_items (
    ems_no            varchar(30)    NOT NULL,
    item_record_no    varchar(30)    NOT NULL,
    -- The merchant's SKU as orders name it (OrderList.itemNo).
    item_no           varchar(30)    NOT NULL UNIQUE,
    gcode             char(10)       NOT NULL CHECK (gcode ~ '^[0-9]{10}$'),
    gname             varchar(250)   NOT NULL,
    gmodel            varchar(510)   NOT NULL,
    unit              char(3)        NOT NULL,
    unit1             char(3)        NOT NULL,
    qty1_per_unit     numeric(19, 5) NOT NULL CHECK (qty1_per_unit > 0),
    net_content       numeric(19, 5) NOT NULL CHECK (net_content > 0),
    net_content_unit  varchar(5)     NOT NULL CHECK (net_content_unit IN ('ml', 'g', 'piece')),
    country           char(3)        NOT NULL,
    -- Stock in transaction units. reserved is held by declarations not yet released.
    on_hand           numeric(19, 5) NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    reserved          numeric(19, 5) NOT NULL DEFAULT 0 CHECK (reserved >= 0),
    CONSTRAINT account_book_items_pk PRIMARY KEY (ems_no, item_record_no),
    CONSTRAINT reserved_within_on_hand CHECK (reserved <= on_hand)
);

-- Append-only: per item, the sums of the deltas equal on_hand and reserved (stock conservation).
CREATE TABLE stock_movements (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ems_no           varchar(30)    NOT NULL,
    item_record_no   varchar(30)    NOT NULL,
    -- 1 stock in (first-line entry), 2 reserve, 3 release reservation, 4 deduct on release (800),
    -- 5 restore (approved return), 6 reserve and deduct at once (released in the same batch).
    kind             smallint       NOT NULL CHECK (kind BETWEEN 1 AND 6),
    on_hand_delta    numeric(19, 5) NOT NULL,
    reserved_delta   numeric(19, 5) NOT NULL,
    declaration_id   bigint,
    created_at       timestamptz    NOT NULL DEFAULT now(),
    FOREIGN KEY (ems_no, item_record_no) REFERENCES account_book_items (ems_no, item_record_no)
);
CREATE INDEX stock_movements_item ON stock_movements (ems_no, item_record_no);
