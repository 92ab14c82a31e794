#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace relance::store {

struct SqliteOptions {
  std::string path;  // file path; created with its schema when missing
  int busy_timeout_ms = 5000;
};

// WAL mode, synchronous=FULL: a committed transaction survives a crash or power loss.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

}  // namespace relance::store
