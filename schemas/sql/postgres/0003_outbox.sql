-- The outbox: every dunning action to deliver, written in the same transaction as the state
-- change that caused it, then delivered by the dispatcher (daemon/outbox), which records each
-- attempt here. A row is never deleted: delivered, dropped and dead rows are the history.
-- payload and invoice_ids are text, not jsonb: the JSON comes back byte for byte, as enqueued.
CREATE TABLE outbox (
  id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Deterministic (receivable or customer, step, due date): enqueuing it again is a no-op, and
  -- the receiver can refuse a second copy (Idempotency-Key header, Message-ID).
  idempotency_key text        COLLATE "C" NOT NULL UNIQUE,
  sink            text        NOT NULL,  -- registered sink name: "email.smtp", "crm.rest"
  customer_id     text        COLLATE "C" NOT NULL,
  invoice_ids     text        NOT NULL,  -- JSON array of strings
  payload         text        NOT NULL,  -- JSON of the Delivery, as enqueued
  due_at          timestamptz NOT NULL,
  status          text        NOT NULL
                  CHECK (status IN ('pending', 'sending', 'delivered', 'dropped', 'dead')),
  attempts        integer     NOT NULL,  -- sends made (a postponed or dropped row made none)
  next_attempt_at timestamptz NOT NULL,
  last_error      text        NOT NULL,  -- the last failure, or why it was dropped; '' if none
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
-- What the dispatchers claim: pending rows that are due, oldest first.
CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id);
-- What the API lists: one status, paged by id.
CREATE INDEX outbox_by_status ON outbox (status, id);
