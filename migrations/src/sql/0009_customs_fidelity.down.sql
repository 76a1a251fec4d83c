DELETE FROM pending_orders WHERE state = 'idle';
ALTER TABLE pending_orders DROP CONSTRAINT pending_orders_state_check;
ALTER TABLE pending_orders ADD CONSTRAINT pending_orders_state_check
    CHECK (state IN ('waiting', 'closed'));
DELETE FROM receipts WHERE flow = 5;
ALTER TABLE receipts DROP CONSTRAINT receipts_flow_check;
ALTER TABLE receipts ADD CONSTRAINT receipts_flow_check CHECK (flow BETWEEN 1 AND 4);
DROP TABLE logistics_status_documents;
ALTER TABLE declarations DROP COLUMN ceb621, DROP COLUMN exited_at, DROP COLUMN goods_back_at,
    DROP COLUMN weight_lines, DROP COLUMN weight_kg;
ALTER TABLE positive_list DROP COLUMN unit2;
ALTER TABLE account_book_items
    DROP COLUMN owner_code, DROP COLUMN owner_name, DROP COLUMN qty2_per_unit;
