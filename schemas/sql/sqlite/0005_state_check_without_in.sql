-- The same table, its CHECK written as comparisons: SQLite compiles a CHECK of `IN` over more
-- than two values to an ephemeral table that it builds and frees at every row written, and the
-- writer writes a state row per receivable and per customer of every transaction (a third of
-- the time of that upsert in the ingest profile). The rebuild is the only way to alter a CHECK.
CREATE TABLE state_v5 (
  kind        TEXT NOT NULL CHECK (kind = 'receivable' OR kind = 'customer' OR kind = 'dunning'
                                   OR kind = 'contacts'),
  key         TEXT NOT NULL,  -- invoice_id, or customer_id
  customer_id TEXT NOT NULL,  -- the owner ('' while not known)
  blob        BLOB NOT NULL,
  view_json   TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
INSERT INTO state_v5 (kind, key, customer_id, blob, view_json)
  SELECT kind, key, customer_id, blob, view_json FROM state;
DROP TABLE state;
ALTER TABLE state_v5 RENAME TO state;
-- A customer's receivables, in key order.
CREATE INDEX state_by_customer ON state (kind, customer_id, key);
