ALTER TABLE declarations ADD CONSTRAINT declarations_pre_no_key UNIQUE (pre_no);
ALTER TABLE declarations ADD CONSTRAINT declarations_cop_no_key UNIQUE (cop_no);

DROP VIEW declaration_lines;
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
INSERT INTO declaration_lines
SELECT d.id, l.gnum, l.ems_no, l.item_record_no, l.gcode, l.qty, l.total_price, l.tax_price,
       l.tax_customs, l.tax_vat, l.tax_consumption
FROM declarations d CROSS JOIN LATERAL unnest(d.lines) AS l;
ALTER TABLE declarations DROP COLUMN lines;
DROP TYPE declaration_line;
