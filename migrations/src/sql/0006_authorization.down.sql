-- Back to one application per inventory number. Where an order has several applications of one
-- kind, the approved one (or else the latest) is kept: the old layout cannot hold the rest.
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
CREATE TABLE refund_documents (LIKE cancellation_documents INCLUDING ALL);

INSERT INTO cancellation_documents
SELECT DISTINCT ON (invt_no) invt_no, ebp_code, order_no, document_id, payload, digest, pre_no,
       status, src_partition, src_offset, received_at
FROM after_sales_documents WHERE flow = 2 AND length(invt_no) = 18
ORDER BY invt_no, (status = 399) DESC, id DESC;
INSERT INTO refund_documents
SELECT DISTINCT ON (invt_no) invt_no, ebp_code, order_no, document_id, payload, digest, pre_no,
       status, src_partition, src_offset, received_at
FROM after_sales_documents WHERE flow = 3 AND length(invt_no) = 18
ORDER BY invt_no, (status = 399) DESC, id DESC;

DROP TABLE after_sales_documents;
ALTER TABLE declarations DROP COLUMN agent_code;
ALTER TABLE waybill_documents DROP COLUMN sender_code;
ALTER TABLE payment_documents DROP COLUMN sender_code;
ALTER TABLE order_documents DROP COLUMN sender_code;
DROP TABLE enterprise_bindings;
