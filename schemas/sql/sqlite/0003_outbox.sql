-- The outbox: every dunning action to deliver, written in the same transaction as the state
-- change that caused it, then delivered by the dispatcher (daemon/outbox), which records each
-- attempt here. A row is never deleted: delivered, dropped and dead rows are the history.
-- Times are microseconds since 1970-01-01T00:00:00Z.
CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: operators quote it
  -- Deterministic (receivable or customer, step, due date): enqueuing it again is a no-op, and
  -- the receiver can refuse a second copy (Idempotency-Key header, Message-ID).
  idempotency_key TEXT    NOT NULL UNIQUE,
  sink            TEXT    NOT NULL,  -- registered sink name: "email.smtp", "crm.rest"
  customer_id     TEXT    NOT NULL,
  invoice_ids     TEXT    NOT NULL,  -- JSON array of strings
  payload         TEXT    NOT NULL,  -- JSON of the Delivery, as enqueued
  due_at          INTEGER NOT NULL,
  status          TEXT    NOT NULL
                  CHECK (status IN ('pending', 'sending', 'delivered', 'dropped', 'dead')),
  attempts        INTEGER NOT NULL,  -- sends made (a postponed or dropped row made none)
  next_attempt_at INTEGER NOT NULL,
  last_error      TEXT    NOT NULL,  -- the last failure, or why it was dropped; '' if none
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL
);
-- What the dispatcher claims: pending rows that are due, oldest first.
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);
-- What the API lists: one status, paged by id.
CREATE INDEX outbox_by_status ON outbox (status, id);
