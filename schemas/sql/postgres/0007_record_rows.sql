-- 'record' rows: each record of a customer's history (a payment, a credit note, a dispute...)
-- gets a row of its own, owned by the customer whose history holds it, where the customer's
-- blob held them all and was written again, whole, at each new one. The customer blobs stored
-- before this version still hold their records: relanced reads them at start and writes them
-- again, the records in rows of their own (state/engine_applier.cpp).
ALTER TABLE state DROP CONSTRAINT state_kind_check;
ALTER TABLE state ADD CONSTRAINT state_kind_check
  CHECK (kind = 'receivable' OR kind = 'customer' OR kind = 'dunning' OR kind = 'contacts'
         OR kind = 'record');
