-- What the receivable engine persists, written in the same transaction as the journal entries
-- that changed it, so that a restart loads it instead of replaying the journal.
-- `blob` is the engine's own serialization (loaded at start); `view_json` is the document the
-- HTTP API serves, so reads never need the engine.
CREATE TABLE state (
  kind        TEXT NOT NULL CHECK (kind IN ('receivable', 'customer')),
  key         TEXT NOT NULL,  -- invoice_id, or customer_id
  customer_id TEXT NOT NULL,  -- the owner ('' while not known)
  blob        BLOB NOT NULL,
  view_json   TEXT NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;
-- A customer's receivables, in key order.
CREATE INDEX state_by_customer ON state (kind, customer_id, key);

-- Reconciliation alerts. `id` is stable: raising the same alert again updates its row.
CREATE TABLE alerts (
  id          TEXT    NOT NULL PRIMARY KEY,
  kind        TEXT    NOT NULL,
  severity    TEXT    NOT NULL,
  status      TEXT    NOT NULL CHECK (status IN ('open', 'resolved')),
  customer_id TEXT    NOT NULL,
  json        TEXT    NOT NULL,
  raised_at   INTEGER NOT NULL,  -- microseconds since 1970-01-01T00:00:00Z
  resolved_at INTEGER            -- NULL while open
) WITHOUT ROWID;
CREATE INDEX alerts_by_status ON alerts (status, id);
CREATE INDEX alerts_by_customer ON alerts (customer_id, id);

-- Where each partition of a partitioned source (a Kafka topic) stands: "offset" is the next one
-- to read. Stored with the state its messages produced, so that processing is effectively-once.
CREATE TABLE source_offsets (
  source      TEXT    NOT NULL,
  "partition" INTEGER NOT NULL,
  "offset"    INTEGER NOT NULL,
  PRIMARY KEY (source, "partition")
) WITHOUT ROWID;
