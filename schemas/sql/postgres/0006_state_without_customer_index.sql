-- SQLite drops its index of the state table by customer here (see sqlite/0006). PostgreSQL keeps
-- it: several daemons read and write one database, and none of them sees all the writes.
SELECT 1;
