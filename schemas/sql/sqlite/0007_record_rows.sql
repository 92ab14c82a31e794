-- 'record' rows: each record of a customer's history (a payment, a credit note, a dispute...)
-- gets a row of its own, owned by the customer whose history holds it, where the customer's
-- blob held them all and was written again, whole, at each new one. The customer blobs stored
-- before this version still hold their records: relanced reads them at start and writes them
-- again, the records in rows of their own (state/engine_applier.cpp). SQLite cannot alter a
-- CHECK constraint: the table is rebuilt with the wider one.
CREATE TABLE state_v7 (
  kind        TEXT NOT NULL CHECK (kind = 'receivable' OR kind = 'customer' OR kind = 'dunning'
                                   OR kind = 'contacts' OR kind = 'record'),
  key         TEXT NOT NULL,  -- invoice_id, customer_id, or the record's identity
  customer_id TEXT NOT NULL,  -- the owner ('' while not known)
  blob        BLOB NOT NULL,
  view_json   TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
INSERT INTO state_v7 (kind, key, customer_id, blob, view_json)
  SELECT kind, key, customer_id, blob, view_json FROM state;
DROP TABLE state;
ALTER TABLE state_v7 RENAME TO state;
