-- The state table's index on (kind, customer_id, key) goes: events come in time order, not by
-- customer, so each new receivable was an insert at a random place of it and each commit
-- rewrote most of its pages. The store keeps which receivables each customer owns in memory,
-- built from this table at open (ReceivablesByCustomer in daemon/store/sqlite/sqlite_store.cpp).
DROP INDEX state_by_customer;
