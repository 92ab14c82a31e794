#pragma once

#include <memory>
#include <string>

#include "store/store.hpp"

namespace relance::store {

struct SqliteOptions {
  std::string path;  // file path; created with its schema when missing
  int busy_timeout_ms = 5000;
  // The WAL is copied into the database file (a checkpoint) by a thread of the store's own, never
  // inside the writer's commit: once wal_checkpoint_pages (SQLite's own default) were committed
  // since the last checkpoint, a PASSIVE checkpoint runs beside the writer and the readers.
  int wal_checkpoint_pages = 1000;
  // Once the WAL holds this many pages, the checkpoint also holds the writer back between two of
  // its transactions, for as long as it takes to copy what the last one wrote, so that the WAL
  // starts over (94 MiB of 8 KiB pages).
  int wal_restart_pages = 12000;
  // Beyond this many pages (readers kept the WAL from being reset), the checkpoint waits for the
  // readers and holds the writer back until the WAL restarts: the WAL stays bounded.
  int wal_pages_max = 24000;
};

// WAL mode, synchronous=FULL: a committed transaction survives a crash or power loss.
Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options);

}  // namespace relance::store
