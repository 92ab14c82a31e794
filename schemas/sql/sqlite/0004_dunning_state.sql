-- Dunning progress beside the engine's state: 'dunning' rows (one per invoice: the step reached)
-- and 'contacts' rows (one per customer: its recent contacts), written in the writer's
-- transaction with the outbox rows they explain. SQLite cannot alter a CHECK constraint: the
-- table is rebuilt with the wider one.
CREATE TABLE state_v4 (
  kind        TEXT NOT NULL CHECK (kind IN ('receivable', 'customer', 'dunning', 'contacts')),
  key         TEXT NOT NULL,  -- invoice_id, or customer_id
  customer_id TEXT NOT NULL,  -- the owner ('' while not known)
  blob        BLOB NOT NULL,
  view_json   TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
INSERT INTO state_v4 (kind, key, customer_id, blob, view_json)
  SELECT kind, key, customer_id, blob, view_json FROM state;
DROP TABLE state;
ALTER TABLE state_v4 RENAME TO state;
-- A customer's receivables, in key order.
CREATE INDEX state_by_customer ON state (kind, customer_id, key);
