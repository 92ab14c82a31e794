-- The journal: every accepted event, as received, in commit order. `sequence` is the rowid:
-- without AUTOINCREMENT and without deletes it stays gap-free, since a rolled-back insert gives
-- its number back and ON CONFLICT DO NOTHING consumes none.
CREATE TABLE journal (
  sequence    INTEGER PRIMARY KEY,
  source      TEXT    NOT NULL,
  id          TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  received_at INTEGER NOT NULL,  -- microseconds since 1970-01-01T00:00:00Z
  json        TEXT    NOT NULL,
  UNIQUE (source, id)
);
