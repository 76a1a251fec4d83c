-- Authorization from stored state (issue 14, ADR 0006): who sent each stored document, which
-- sellers a platform lets send its orders, the declaration's agent, and after-sales applications
-- keyed by their order so that a refused one never occupies an inventory number.

-- A platform (ebpCode) lets a seller (ebcCode) send orders on its behalf
-- (`bondgate enterprises bind`). Without a binding only the platform itself sends its orders.
CREATE TABLE enterprise_bindings (
    platform_code  varchar(18)  NOT NULL REFERENCES enterprises (code),
    seller_code    varchar(18)  NOT NULL REFERENCES enterprises (code),
    created_at     timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT enterprise_bindings_pk PRIMARY KEY (platform_code, seller_code),
    CONSTRAINT enterprise_bindings_distinct CHECK (platform_code <> seller_code)
);

-- The enterprise that sent each stored document (the API key's, carried in the record envelope):
-- only it may change or delete the document. Rows stored before this migration were sent by the
-- document's own enterprise, the only one intake accepted for orders of a platform, payments and
-- waybills.
ALTER TABLE order_documents ADD COLUMN sender_code varchar(18);
UPDATE order_documents SET sender_code = ebp_code;
ALTER TABLE order_documents ALTER COLUMN sender_code SET NOT NULL;

ALTER TABLE payment_documents ADD COLUMN sender_code varchar(18);
UPDATE payment_documents SET sender_code = pay_code;
ALTER TABLE payment_documents ALTER COLUMN sender_code SET NOT NULL;

ALTER TABLE waybill_documents ADD COLUMN sender_code varchar(18);
UPDATE waybill_documents SET sender_code = logistics_code;
ALTER TABLE waybill_documents ALTER COLUMN sender_code SET NOT NULL;

-- The declaring agent (CEB621 agentCode) as declared: with ebp_code and ebc_code, the parties
-- that may cancel or return the inventory. bondgate declares in the seller's name.
ALTER TABLE declarations ADD COLUMN agent_code varchar(18);
UPDATE declarations SET agent_code = ebc_code;
ALTER TABLE declarations ALTER COLUMN agent_code SET NOT NULL;

-- Cancellations (CEB623, flow 2) and returns (CEB625, flow 3), each under the order it arrived
-- for. invt_no is what the application named; it is unique nowhere, so a refused application
-- (status other than 399) occupies nothing. At most one approved application of each kind per
-- order: approval closes the declaration.
CREATE TABLE after_sales_documents (
    id             bigint       GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow           smallint     NOT NULL CHECK (flow IN (2, 3)),
    ebp_code       varchar(18)  NOT NULL,
    order_no       varchar(60)  NOT NULL,
    invt_no        varchar(18)  NOT NULL,
    sender_code    varchar(18)  NOT NULL,
    document_id    uuid         NOT NULL,
    payload        bytea        NOT NULL,
    digest         bytea        NOT NULL CHECK (octet_length(digest) = 32),
    pre_no         char(18)     NOT NULL UNIQUE,
    status         integer      NOT NULL,
    src_partition  integer      NOT NULL,
    src_offset     bigint       NOT NULL,
    received_at    timestamptz  NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX after_sales_approved ON after_sales_documents (ebp_code, order_no, flow)
    WHERE status = 399;

INSERT INTO after_sales_documents
    (flow, ebp_code, order_no, invt_no, sender_code, document_id, payload, digest, pre_no, status,
     src_partition, src_offset, received_at)
SELECT 2, ebp_code, order_no, invt_no, ebp_code, document_id, payload, digest, pre_no, status,
       src_partition, src_offset, received_at
FROM cancellation_documents
UNION ALL
SELECT 3, ebp_code, order_no, invt_no, ebp_code, document_id, payload, digest, pre_no, status,
       src_partition, src_offset, received_at
FROM refund_documents
ORDER BY received_at;

DROP TABLE cancellation_documents;
DROP TABLE refund_documents;
