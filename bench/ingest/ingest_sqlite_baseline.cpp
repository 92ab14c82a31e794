// The baseline of the ingest benchmark: the journal rows relanced writes, inserted straight into
// SQLite by one thread of one process, with nothing else around (no HTTP, no JSON parsing, no
// queue). Same schema (the daemon's migration file), WAL, synchronous=FULL, the same
// INSERT ... ON CONFLICT DO NOTHING, one transaction per batch of --batch rows. It is the ceiling
// the HTTP path can approach.
//
//   ingest_sqlite_baseline --db FILE --schema schemas/sql/sqlite/0001_journal.sql
//                          [--batch 500] [--duration 10]

#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "event_text.hpp"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: ingest_sqlite_baseline --db FILE --schema FILE.sql [--batch 500] "
               "[--duration 10]\n--db must be on a real disk (not tmpfs): commits fsync.\n");
  std::exit(code);
}

void check(sqlite3* db, int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  std::fprintf(stderr, "ingest_sqlite_baseline: %s: %s\n", what, sqlite3_errmsg(db));
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string db_path, schema_path;
  std::size_t batch = 500;
  double duration_s = 10;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") usage(0);
    if (i + 1 >= argc) usage(64);
    const std::string value = argv[++i];
    if (arg == "--db") {
      db_path = value;
    } else if (arg == "--schema") {
      schema_path = value;
    } else if (arg == "--batch") {
      batch = std::stoul(value);
    } else if (arg == "--duration") {
      duration_s = std::stod(value);
    } else {
      usage(64);
    }
  }
  if (db_path.empty() || schema_path.empty() || batch == 0 || duration_s <= 0) usage(64);
  std::ifstream schema_file(schema_path);
  if (!schema_file) {
    std::fprintf(stderr, "ingest_sqlite_baseline: cannot read %s\n", schema_path.c_str());
    return 1;
  }
  std::stringstream schema;
  schema << schema_file.rdbuf();

  sqlite3* db = nullptr;
  check(db, sqlite3_open(db_path.c_str(), &db), "open");
  check(db,
        // The store's settings for a new database (daemon/store/sqlite/sqlite_store.cpp).
        sqlite3_exec(
            db, "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;",
            nullptr, nullptr, nullptr),
        "pragmas");
  check(db, sqlite3_exec(db, schema.str().c_str(), nullptr, nullptr, nullptr), "schema");
  sqlite3_stmt* insert = nullptr;
  check(db,
        sqlite3_prepare_v2(db,
                           "INSERT INTO journal (source, id, type, received_at, json) "
                           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (source, id) DO NOTHING",
                           -1, &insert, nullptr),
        "prepare");

  // Rows are made before the clock starts, so only SQLite is timed.
  std::vector<std::string> ids(batch), texts(batch);
  std::uint64_t rows = 0, transactions = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(duration_s));
  Clock::duration timed{};
  while (Clock::now() < end) {
    for (std::size_t i = 0; i < batch; ++i) {
      ids[i] = relance::bench::event_id("base", rows + i);
      texts[i].clear();
      relance::bench::append_invoice_event(texts[i], ids[i], rows + i);
    }
    const auto began = Clock::now();
    check(db, sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), "begin");
    const auto received_at = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    for (std::size_t i = 0; i < batch; ++i) {
      sqlite3_bind_text(insert, 1, relance::bench::event_source.data(),
                        static_cast<int>(relance::bench::event_source.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, ids[i].data(), static_cast<int>(ids[i].size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 3, "invoice.issued", -1, SQLITE_STATIC);
      sqlite3_bind_int64(insert, 4, received_at);
      sqlite3_bind_text(insert, 5, texts[i].data(), static_cast<int>(texts[i].size()),
                        SQLITE_STATIC);
      check(db, sqlite3_step(insert), "insert");
      sqlite3_reset(insert);
    }
    check(db, sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), "commit");
    timed += Clock::now() - began;
    rows += batch;
    ++transactions;
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  const double seconds = std::chrono::duration<double>(timed).count();
  std::printf(
      "%llu rows in %llu transactions of %zu, %.2f s inside SQLite: %.0f rows/s, "
      "%.2f ms per commit\n",
      static_cast<unsigned long long>(rows), static_cast<unsigned long long>(transactions), batch,
      seconds, rows / seconds, seconds * 1000 / static_cast<double>(transactions));
  std::printf("RESULT rows_per_s=%.0f ms_per_commit=%.3f\n", rows / seconds,
              seconds * 1000 / static_cast<double>(transactions));
  return 0;
}
