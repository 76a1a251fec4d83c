ALTER TABLE consumer_positions DROP COLUMN last_record_digest;
DROP TABLE consumer_position_resets;
