-- What the receivable engine persists, written in the same transaction as the journal entries
-- that changed it, so that a restart loads it instead of replaying the journal.
-- `blob` is the engine's own serialization (loaded at start); `view_json` is the document the
-- HTTP API serves, so reads never need the engine.
-- Keys compare in byte order (COLLATE "C"), as in SQLite, whatever the database's locale: "in
-- key order" means the same thing on both backends.
CREATE TABLE state (
  kind        text  NOT NULL CHECK (kind IN ('receivable', 'customer')),
  key         text  COLLATE "C" NOT NULL,  -- invoice_id, or customer_id
  customer_id text  COLLATE "C" NOT NULL,  -- the owner ('' while not known)
  blob        bytea NOT NULL,
  view_json   text  NOT NULL,
  PRIMARY KEY (kind, key)
);
-- A customer's receivables, in key order.
CREATE INDEX state_by_customer ON state (kind, customer_id, key);

-- Reconciliation alerts. `id` is stable: raising the same alert again updates its row.
CREATE TABLE alerts (
  id          text        COLLATE "C" NOT NULL PRIMARY KEY,
  kind        text        NOT NULL,
  severity    text        NOT NULL,
  status      text        NOT NULL CHECK (status IN ('open', 'resolved')),
  customer_id text        COLLATE "C" NOT NULL,
  json        text        NOT NULL,
  raised_at   timestamptz NOT NULL,
  resolved_at timestamptz  -- NULL while open
);
CREATE INDEX alerts_by_status ON alerts (status, id);
CREATE INDEX alerts_by_customer ON alerts (customer_id, id);

-- Where each partition of a partitioned source (a Kafka topic) stands: "offset" is the next one
-- to read. Stored with the state its messages produced, so that processing is effectively-once.
CREATE TABLE source_offsets (
  source      text    NOT NULL,
  "partition" integer NOT NULL,
  "offset"    bigint  NOT NULL,
  PRIMARY KEY (source, "partition")
);
