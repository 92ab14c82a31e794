#pragma once
// The Store on PostgreSQL (14 or newer), shared by several daemons. One writer connection
// (the writer thread's), a small pool of reader connections. Writes of a transaction travel in
// libpq pipelines: a batch of events is one multi-row statement, state and alert rows are sent
// together with the next statement that needs an answer, so a transaction costs a few round
// trips whatever its size.

#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace relance::store {

struct PostgresOptions {
  std::string url;  // libpq connection string or URI (store.postgres.url)
  std::size_t reader_connections_max = 4;
  std::chrono::seconds connect_timeout{10};
  // Any one statement, including waiting for another daemon's journal lock; 0: none.
  std::chrono::milliseconds statement_timeout{30000};
};

// Connects, applies pending migrations (schemas/sql/postgres) and prepares the statements.
Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options);

// The Transaction of a PostgreSQL store also takes a whole batch of events in one statement.
class PostgresTransaction : public Transaction {
 public:
  // As append() on each event in order (a key repeated within `events` is a duplicate after its
  // first occurrence), in one round trip.
  virtual Result<std::vector<AppendOutcome>> append_batch(std::span<const core::Event> events,
                                                          core::Timestamp received_at) = 0;
};

}  // namespace relance::store
