-- Version 5 keeps the two backends in step: SQLite rebuilt its state table to write the kind
-- CHECK as comparisons (an IN list cost it an ephemeral table per row written). PostgreSQL has
-- no such cost; the constraint is written the same way so that both schemas say the same thing.
ALTER TABLE state DROP CONSTRAINT state_kind_check;
ALTER TABLE state ADD CONSTRAINT state_kind_check
  CHECK (kind = 'receivable' OR kind = 'customer' OR kind = 'dunning' OR kind = 'contacts');
