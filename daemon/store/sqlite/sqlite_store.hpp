#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace relance::store {

struct SqliteOptions {
  std::string path;  // file path; created with its schema when missing
  int busy_timeout_ms = 5000;
  // The WAL is copied into the database file (a checkpoint) by a thread of the store's own, never
  // inside the writer's commit: once a commit leaves more than wal_checkpoint_pages in the WAL
  // (SQLite's own default), a PASSIVE checkpoint runs beside the writer and the readers.
  int wal_checkpoint_pages = 1000;
  // Beyond this many pages (readers kept the WAL from being reset), the checkpoint waits for the
  // readers and holds the writer back until the WAL restarts: the WAL stays bounded.
  int wal_pages_max = 16000;
};

// WAL mode, synchronous=FULL: a committed transaction survives a crash or power loss.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

}  // namespace relance::store
