-- Dunning progress beside the engine's state: 'dunning' rows (one per invoice: the step reached)
-- and 'contacts' rows (one per customer: its recent contacts), written in the writer's
-- transaction with the outbox rows they explain.
ALTER TABLE state DROP CONSTRAINT state_kind_check;
ALTER TABLE state ADD CONSTRAINT state_kind_check
  CHECK (kind IN ('receivable', 'customer', 'dunning', 'contacts'));
