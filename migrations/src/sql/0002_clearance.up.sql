-- The clearance pipeline's state: documents, declarations and lines, buyer quotas, receipts (the
-- outbox), review tasks, dead letters and the consumer positions. Every row of a batch is written in
-- one transaction together with the positions, which is what makes the effect exactly-once.

-- One table per document kind, each unique on its CEB business key. Payloads are the Document
-- protobuf, encrypted (AES-256-GCM) because they hold ID numbers and phones; digest is the SHA-256 of
-- the plaintext, so a duplicate (same digest) is told from a changed resubmission.
CREATE TABLE order_documents (
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    document_id    uuid         NOT NULL,
    payload        bytea        NOT NULL,
    digest         bytea        NOT NULL CHECK (octet_length(digest) = 32),
    src_partition  integer      NOT NULL,
    src_offset     bigint       NOT NULL,
    received_at    timestamptz  NOT NULL DEFAULT now(),
    revision       integer      NOT NULL DEFAULT 1 CHECK (revision >= 1),
    CONSTRAINT order_documents_pk PRIMARY KEY (ebp_code, order_no)
);
-- The sweeper looks for old incomplete orders.
CREATE INDEX order_documents_received ON order_documents (received_at);

CREATE TABLE payment_documents (
    pay_code            varchar(18)  NOT NULL,
    pay_transaction_id  varchar(60)  NOT NULL,
    ebp_code            varchar(18)  NOT NULL,
    order_no            varchar(60)  NOT NULL,
    document_id         uuid         NOT NULL,
    payload             bytea        NOT NULL,
    digest              bytea        NOT NULL CHECK (octet_length(digest) = 32),
    src_partition       integer      NOT NULL,
    src_offset          bigint       NOT NULL,
    received_at         timestamptz  NOT NULL DEFAULT now(),
    revision            integer      NOT NULL DEFAULT 1 CHECK (revision >= 1),
    CONSTRAINT payment_documents_pk PRIMARY KEY (pay_code, pay_transaction_id)
);
CREATE UNIQUE INDEX payment_documents_order ON payment_documents (ebp_code, order_no);

CREATE TABLE waybill_documents (
    logistics_code  varchar(18)  NOT NULL,
    logistics_no    varchar(60)  NOT NULL,
    ebp_code        varchar(18)  NOT NULL,
    order_no        varchar(60)  NOT NULL,
    document_id     uuid         NOT NULL,
    payload         bytea        NOT NULL,
    digest          bytea        NOT NULL CHECK (octet_length(digest) = 32),
    src_partition   integer      NOT NULL,
    src_offset      bigint       NOT NULL,
    received_at     timestamptz  NOT NULL DEFAULT now(),
    revision        integer      NOT NULL DEFAULT 1 CHECK (revision >= 1),
    CONSTRAINT waybill_documents_pk PRIMARY KEY (logistics_code, logistics_no)
);
CREATE UNIQUE INDEX waybill_documents_order ON waybill_documents (ebp_code, order_no);

-- Numbers of declarations: preNo, invtNo and copNo all carry this sequence's value.
CREATE SEQUENCE declaration_numbers;

-- The inventory list head (CEB621) of an order whose three documents met, whatever the decision.
CREATE TABLE declarations (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ebp_code         varchar(18)    NOT NULL,
    order_no         varchar(60)    NOT NULL,
    ebc_code         varchar(18)    NOT NULL,
    pay_code         varchar(18)    NOT NULL,
    logistics_code   varchar(18)    NOT NULL,
    logistics_no     varchar(60)    NOT NULL,
    cop_no           varchar(20)    NOT NULL UNIQUE,
    pre_no           char(18)       NOT NULL UNIQUE,
    invt_no          char(18)       UNIQUE,
    -- Latest CEB returnStatus: 120, 300, 399, 500, 800, 100 or a negative exception code.
    status           integer        NOT NULL,
    -- Keyed hash (HMAC-SHA256) of the buyer's ID number; never the number itself.
    buyer_hash       bytea          NOT NULL CHECK (octet_length(buyer_hash) = 32),
    quota_year       smallint       NOT NULL,
    dutiable_value   numeric(19, 5) NOT NULL CHECK (dutiable_value >= 0),
    -- What counts toward the buyer's annual limit (0 when rejected or credited back).
    quota_amount     numeric(19, 5) NOT NULL DEFAULT 0 CHECK (quota_amount >= 0),
    tax_customs      numeric(19, 5) NOT NULL DEFAULT 0 CHECK (tax_customs >= 0),
    tax_vat          numeric(19, 5) NOT NULL DEFAULT 0 CHECK (tax_vat >= 0),
    tax_consumption  numeric(19, 5) NOT NULL DEFAULT 0 CHECK (tax_consumption >= 0),
    tax_total        numeric(19, 5) NOT NULL DEFAULT 0 CHECK (tax_total >= 0),
    -- Customs codes and reasons behind a hold or a rejection.
    codes            text[]         NOT NULL DEFAULT '{}',
    reasons          text[]         NOT NULL DEFAULT '{}',
    -- Optimistic concurrency for officers' decisions.
    version          integer        NOT NULL DEFAULT 1,
    created_at       timestamptz    NOT NULL DEFAULT now(),
    updated_at       timestamptz    NOT NULL DEFAULT now(),
    released_at      timestamptz,
    -- Set when a cancellation (CEB623) or a return (CEB625) of this inventory was approved (399).
    cancelled_at     timestamptz,
    refunded_at      timestamptz,
    -- Per-order receipt sequence used so far (receipts.sequence), so later receipts follow on.
    receipt_seq      integer        NOT NULL DEFAULT 0,
    CONSTRAINT declarations_order UNIQUE (ebp_code, order_no),
    CONSTRAINT declarations_waybill UNIQUE (logistics_code, logistics_no),
    CONSTRAINT tax_adds_up CHECK (tax_total = tax_customs + tax_vat + tax_consumption)
);
CREATE INDEX declarations_status ON declarations (status, created_at);
CREATE INDEX declarations_buyer ON declarations (buyer_hash, quota_year);

CREATE TABLE declaration_lines (
    declaration_id   bigint         NOT NULL REFERENCES declarations (id),
    gnum             smallint       NOT NULL CHECK (gnum BETWEEN 1 AND 99),
    ems_no           varchar(30)    NOT NULL,
    item_record_no   varchar(30)    NOT NULL,
    gcode            char(10)       NOT NULL,
    qty              numeric(19, 5) NOT NULL CHECK (qty > 0),
    total_price      numeric(19, 5) NOT NULL CHECK (total_price >= 0),
    tax_price        numeric(19, 5) NOT NULL CHECK (tax_price >= 0),
    tax_customs      numeric(19, 5) NOT NULL CHECK (tax_customs >= 0),
    tax_vat          numeric(19, 5) NOT NULL CHECK (tax_vat >= 0),
    tax_consumption  numeric(19, 5) NOT NULL CHECK (tax_consumption >= 0),
    CONSTRAINT declaration_lines_pk PRIMARY KEY (declaration_id, gnum),
    FOREIGN KEY (ems_no, item_record_no) REFERENCES account_book_items (ems_no, item_record_no)
);

-- Per buyer and calendar year: the amount accepted so far. The CHECK is the last line of defence
-- for the annual limit (guarantee 5).
CREATE TABLE buyer_quotas (
    buyer_hash    bytea          NOT NULL CHECK (octet_length(buyer_hash) = 32),
    year          smallint       NOT NULL,
    used          numeric(19, 5) NOT NULL DEFAULT 0 CHECK (used >= 0),
    limit_amount  numeric(19, 5) NOT NULL CHECK (limit_amount > 0),
    CONSTRAINT buyer_quotas_pk PRIMARY KEY (buyer_hash, year),
    CONSTRAINT within_annual_limit CHECK (used <= limit_amount)
);

-- Per buyer, year and tariff line: net weight bought, for positive-list lines with a yearly cap.
CREATE TABLE buyer_weights (
    buyer_hash    bytea          NOT NULL,
    year          smallint       NOT NULL,
    tariff_line   char(8)        NOT NULL REFERENCES positive_list (tariff_line),
    used_kg       numeric(19, 5) NOT NULL DEFAULT 0 CHECK (used_kg >= 0),
    CONSTRAINT buyer_weights_pk PRIMARY KEY (buyer_hash, year, tariff_line)
);

-- Cancellations (CEB623) and returns (CEB625): one application per inventory list.
CREATE TABLE cancellation_documents (
    invt_no        char(18)     PRIMARY KEY,
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    document_id    uuid         NOT NULL,
    payload        bytea        NOT NULL,
    digest         bytea        NOT NULL,
    pre_no         char(18)     NOT NULL UNIQUE,
    status         integer      NOT NULL,
    src_partition  integer      NOT NULL,
    src_offset     bigint       NOT NULL,
    received_at    timestamptz  NOT NULL DEFAULT now()
);

CREATE TABLE refund_documents (
    invt_no        char(18)     PRIMARY KEY,
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    document_id    uuid         NOT NULL,
    payload        bytea        NOT NULL,
    digest         bytea        NOT NULL,
    pre_no         char(18)     NOT NULL UNIQUE,
    status         integer      NOT NULL,
    src_partition  integer      NOT NULL,
    src_offset     bigint       NOT NULL,
    received_at    timestamptz  NOT NULL DEFAULT now()
);

-- Orders whose documents have not all arrived yet. Only orders still incomplete at the end of a
-- batch get a row (most orders complete within one batch and never touch this table). The sweeper
-- closes rows older than the configured window with a 100 receipt; a closed order stays closed.
CREATE TABLE pending_orders (
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    partition      integer      NOT NULL,
    state          varchar(8)   NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'closed')),
    first_seen_at  timestamptz  NOT NULL DEFAULT now(),
    receipt_seq    integer      NOT NULL DEFAULT 0,
    CONSTRAINT pending_orders_pk PRIMARY KEY (ebp_code, order_no)
);
CREATE INDEX pending_orders_sweep ON pending_orders (partition, first_seen_at) WHERE state = 'waiting';

-- Receipts, which are also the outbox: written in the batch transaction, published afterwards,
-- then marked. The id is stable, so a re-publication after a crash carries the same id.
CREATE TABLE receipts (
    id             uuid         PRIMARY KEY,
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    -- 1 inventory (CEB622), 2 cancellation (CEB624), 3 refund (CEB626), 4 a single document
    -- (CEB312/412/512 semantics, e.g. a refused change of an already declared order).
    flow           smallint     NOT NULL CHECK (flow BETWEEN 1 AND 4),
    -- Per order, 1, 2, 3...: the status order consumers see.
    sequence       integer      NOT NULL CHECK (sequence >= 1),
    return_status  integer      NOT NULL,
    return_info    text         NOT NULL,
    codes          text[]       NOT NULL DEFAULT '{}',
    declaration_id bigint       REFERENCES declarations (id),
    created_at     timestamptz  NOT NULL DEFAULT now(),
    published_at   timestamptz,
    CONSTRAINT receipts_order_sequence UNIQUE (ebp_code, order_no, sequence)
);
-- The relay reads the unpublished tail in creation order.
CREATE INDEX receipts_unpublished ON receipts (created_at) WHERE published_at IS NULL;

-- Declarations held for manual review (status 300).
CREATE TABLE review_tasks (
    declaration_id  bigint       PRIMARY KEY REFERENCES declarations (id),
    reasons         text[]       NOT NULL,
    state           varchar(10)  NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'decided')),
    assigned_to     varchar(64),
    decision        integer,
    decided_by      varchar(64),
    decided_at      timestamptz,
    created_at      timestamptz  NOT NULL DEFAULT now()
);
CREATE INDEX review_tasks_open ON review_tasks (created_at) WHERE state = 'open';

CREATE TABLE dead_letters (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic          text         NOT NULL,
    partition      integer      NOT NULL,
    "offset"       bigint       NOT NULL,
    key            bytea,
    payload        bytea        NOT NULL,
    error_class    varchar(20)  NOT NULL,
    error_code     varchar(64)  NOT NULL,
    error_message  text         NOT NULL,
    created_at     timestamptz  NOT NULL DEFAULT now(),
    published_at   timestamptz,
    CONSTRAINT dead_letters_source UNIQUE (topic, partition, "offset")
);

-- Where each consumer group is in each partition: written in the same transaction as the batch's
-- effects. generation fences zombies: an instance that took a partition over bumps it, and a
-- batch commits only if the generation it read is still there (compare-and-set).
CREATE TABLE consumer_positions (
    group_id     text         NOT NULL,
    topic        text         NOT NULL,
    partition    integer      NOT NULL CHECK (partition >= 0),
    next_offset  bigint       NOT NULL CHECK (next_offset >= 0),
    generation   bigint       NOT NULL DEFAULT 0,
    owner        text         NOT NULL DEFAULT '',
    updated_at   timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT consumer_positions_pk PRIMARY KEY (group_id, topic, partition)
);
