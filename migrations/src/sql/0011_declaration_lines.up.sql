-- Storage for the batch, second step (issue 16): a declaration's lines live in its row, as an
-- array of a composite type, instead of one declaration_lines row per line (with a primary key
-- and two foreign-key probes each). Lines are only ever read with their declaration; the view
-- of the same name keeps every reader's SQL unchanged.
CREATE TYPE declaration_line AS (
    gnum             smallint,
    ems_no           varchar(30),
    item_record_no   varchar(30),
    gcode            char(10),
    qty              numeric(19, 5),
    total_price      numeric(19, 5),
    tax_price        numeric(19, 5),
    tax_customs      numeric(19, 5),
    tax_vat          numeric(19, 5),
    tax_consumption  numeric(19, 5)
);

ALTER TABLE declarations ADD COLUMN lines declaration_line[] NOT NULL DEFAULT '{}';

UPDATE declarations d
SET lines = l.lines
FROM (SELECT declaration_id,
             array_agg(ROW(gnum, ems_no, item_record_no, gcode, qty, total_price, tax_price,
                           tax_customs, tax_vat, tax_consumption)::declaration_line
                       ORDER BY gnum) AS lines
      FROM declaration_lines GROUP BY declaration_id) l
WHERE d.id = l.declaration_id;

DROP TABLE declaration_lines;

CREATE VIEW declaration_lines AS
SELECT d.id AS declaration_id, l.gnum, l.ems_no, l.item_record_no, l.gcode, l.qty, l.total_price,
       l.tax_price, l.tax_customs, l.tax_vat, l.tax_consumption
FROM declarations d CROSS JOIN LATERAL unnest(d.lines) AS l;

-- copNo and preNo carry the declaration_numbers sequence (as invtNo does), so they are unique by
-- construction; nothing looks a declaration up by them. Two index entries less per order.
ALTER TABLE declarations DROP CONSTRAINT declarations_cop_no_key;
ALTER TABLE declarations DROP CONSTRAINT declarations_pre_no_key;
