#pragma once
// The Store on PostgreSQL (14 or newer), shared by several daemons. One writer connection
// (the writer thread's), a small pool of reader connections. Writes of a transaction travel in
// libpq pipelines: a batch of events is one multi-row statement, state and alert rows are sent
// together with the next statement that needs an answer, so a transaction costs a few round
// trips whatever its size (Transaction::append_batch is one statement for the whole batch).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace relance::store {

struct PostgresOptions {
  std::string url;  // libpq connection string or URI (store.postgres.url)
  std::size_t reader_connections_max = 4;
  std::chrono::seconds connect_timeout{10};
  // Any one statement, including waiting for another daemon's journal lock; 0: none.
  std::chrono::milliseconds statement_timeout{30000};
  // Where relance_postgres_transaction_seconds goes; null: not measured. Outlives the store.
  metrics::Registry* metrics = nullptr;
};

// Connects, applies pending migrations (schemas/sql/postgres) and prepares the statements.
Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options);

}  // namespace relance::store
