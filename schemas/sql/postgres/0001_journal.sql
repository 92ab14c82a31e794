-- The journal: every accepted event, as received, in commit order. `sequence` is not a
-- SEQUENCE (a rolled-back nextval leaves a gap): the writer takes max + 1 while it holds
-- LOCK TABLE journal IN EXCLUSIVE MODE, so numbers stay gap-free and follow commit order even
-- with several daemons writing. Readers (ACCESS SHARE) never wait for that lock.
CREATE TABLE journal (
  sequence    bigint      PRIMARY KEY,
  source      text        NOT NULL,
  id          text        NOT NULL,
  type        text        NOT NULL,
  received_at timestamptz NOT NULL,
  json        text        NOT NULL,  -- the envelope byte for byte, hence text and not jsonb
  UNIQUE (source, id)
);
