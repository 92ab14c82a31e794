#include "store/sqlite/sqlite_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "../store_contract.hpp"
#include "../temp_dir.hpp"
#include "../test_events.hpp"
#include "store/migrations.hpp"

namespace relance::store::testing {
namespace {

class SqliteBackendDatabase final : public BackendDatabase {
 public:
  Result<std::unique_ptr<Store>> open() override {
    return open_sqlite_store({.path = dir_.file("relance.db")});
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContract,
                         ::testing::Values(Backend{
                             "Sqlite", [] { return std::make_unique<SqliteBackendDatabase>(); }}),
                         backend_name);

// Runs one statement on its own connection, as another process would.
std::string query_text(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string text;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  } else {
    ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return text;
}

void exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(SqliteStore, new_database_is_in_wal_mode_at_the_latest_schema_version) {
  TempDir dir;
  const std::string path = dir.file("relance.db");
  auto store = open_sqlite_store({.path = path});
  ASSERT_TRUE(store) << store.error().to_string();
  EXPECT_EQ(query_text(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_text(path, "PRAGMA user_version"), std::to_string(sqlite_migrations().size()));
  EXPECT_EQ(query_text(path, "PRAGMA page_size"), "8192");
}

// Databases created with SQLite's default page size keep it, and work as before.
TEST(SqliteStore, database_of_4_kib_pages_keeps_them) {
  TempDir dir;
  const std::string path = dir.file("relance.db");
  exec(path,
       "PRAGMA page_size = 4096; PRAGMA journal_mode = WAL; CREATE TABLE t (x); DROP TABLE t");
  ASSERT_EQ(query_text(path, "PRAGMA page_size"), "4096");
  {
    auto store = open_sqlite_store({.path = path});
    ASSERT_TRUE(store) << store.error().to_string();
    auto transaction = (*store)->begin();
    ASSERT_TRUE(transaction);
    ASSERT_TRUE((*transaction)->put_state({StateKind::customer, "C1", "C1", "blob", "{}"}));
    ASSERT_TRUE((*transaction)->commit());
  }
  EXPECT_EQ(query_text(path, "PRAGMA page_size"), "4096");
  auto store = open_sqlite_store({.path = path});
  ASSERT_TRUE(store) << store.error().to_string();
  EXPECT_EQ((*store)->find_state_view(StateKind::customer, "C1").value(),
            std::optional<std::string>("{}"));
}

TEST(SqliteStore, database_written_by_a_newer_relanced_is_refused) {
  TempDir dir;
  const std::string path = dir.file("relance.db");
  ASSERT_TRUE(open_sqlite_store({.path = path}));
  exec(path, "PRAGMA user_version = 999");
  auto store = open_sqlite_store({.path = path});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("schema version 999, newer than"), std::string::npos)
      << store.error().to_string();
}

TEST(SqliteStore, database_of_another_application_is_refused) {
  TempDir dir;
  const std::string path = dir.file("other.db");
  exec(path, "CREATE TABLE customers (id INTEGER)");
  auto store = open_sqlite_store({.path = path});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("not a relance database"), std::string::npos)
      << store.error().to_string();
}

TEST(SqliteStore, file_that_is_not_sqlite_is_refused_with_its_path) {
  TempDir dir;
  const std::string path = dir.file("garbage.db");
  std::ofstream(path) << std::string(8192, 'g');
  auto store = open_sqlite_store({.path = path});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find(path), std::string::npos) << store.error().to_string();
}

TEST(SqliteStore, in_memory_database_is_refused) {
  auto store = open_sqlite_store({.path = ":memory:"});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().field, "path");
}

TEST(SqliteStore, missing_directory_is_an_error_not_a_crash) {
  TempDir dir;
  auto store = open_sqlite_store({.path = dir.file("no/such/dir/relance.db")});
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("unable to open"), std::string::npos)
      << store.error().to_string();
}

TEST(SqliteStore, commit_is_visible_to_another_process) {
  TempDir dir;
  const std::string path = dir.file("relance.db");
  auto store = open_sqlite_store({.path = path});
  ASSERT_TRUE(store);
  auto transaction = (*store)->begin();
  ASSERT_TRUE(transaction);
  ASSERT_TRUE((*transaction)->append(make_event("erp", "1"), core::Timestamp{}));
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM journal"), "0");
  ASSERT_TRUE((*transaction)->commit());
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM journal"), "1");
}

TEST(SqliteStore, wal_stays_bounded_by_the_checkpoints_run_beside_the_writer) {
  TempDir dir;
  const std::string path = dir.file("relance.db");
  constexpr int checkpoint_pages = 32;
  constexpr int pages_max = 256;
  auto store = open_sqlite_store({.path = path,
                                  .wal_checkpoint_pages = checkpoint_pages,
                                  .wal_restart_pages = pages_max / 2,
                                  .wal_pages_max = pages_max});
  ASSERT_TRUE(store) << store.error().to_string();
  const std::int64_t page_bytes = std::stoll(query_text(path, "PRAGMA page_size"));
  // 300 commits of a 32 KiB row each: about 2,700 pages of WAL if nothing were checkpointed.
  constexpr int commits = 300;
  const std::string blob(32 * 1024, 'x');
  std::uintmax_t wal_bytes_seen = 0;
  for (int i = 0; i < commits; ++i) {
    auto transaction = (*store)->begin();
    ASSERT_TRUE(transaction) << transaction.error().to_string();
    ASSERT_TRUE((*transaction)->append(make_event("erp", std::to_string(i)), core::Timestamp{}));
    const std::string key = "INV-" + std::to_string(i);
    ASSERT_TRUE((*transaction)->put_state({StateKind::receivable, key, "C-1", blob, ""}));
    ASSERT_TRUE((*transaction)->commit());
    std::error_code ec;
    wal_bytes_seen = std::max(wal_bytes_seen, std::filesystem::file_size(path + "-wal", ec));
  }
  // The WAL file never shrinks below its high-water mark, so this is the largest it grew. A
  // checkpoint runs beside the writer, which may commit a few more while it does.
  EXPECT_LE(wal_bytes_seen, static_cast<std::uintmax_t>(4 * pages_max * page_bytes));
  EXPECT_GT(wal_bytes_seen, static_cast<std::uintmax_t>(checkpoint_pages * page_bytes));
  // Everything committed is there, through the database file and the WAL alike.
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM journal"), std::to_string(commits));
  EXPECT_EQ(query_text(path, "SELECT count(*) FROM state"), std::to_string(commits));
  EXPECT_EQ(query_text(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteStore, outbox_updates_get_their_turn_between_the_writers_transactions) {
  TempDir dir;
  // A busy timeout far shorter than the writer's transactions: SQLite's busy handler alone would
  // fail every claim with "database is locked".
  auto store = open_sqlite_store({.path = dir.file("relance.db"), .busy_timeout_ms = 10});
  ASSERT_TRUE(store) << store.error().to_string();
  std::atomic<bool> stop{false};
  std::atomic<int> commits{0};
  std::thread writer([&] {
    // Back to back, 50 ms each: the write lock is free only between two of them.
    for (int i = 0; !stop.load(); ++i) {
      auto transaction = (*store)->begin();
      ASSERT_TRUE(transaction) << transaction.error().to_string();
      ASSERT_TRUE((*transaction)->append(make_event("erp", std::to_string(i)), core::Timestamp{}));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ASSERT_TRUE((*transaction)->commit());
      ++commits;
    }
  });
  while (commits.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 10; ++i) {
    auto claimed = (*store)->claim_outbox(core::Timestamp{}, 10);
    EXPECT_TRUE(claimed) << claimed.error().to_string();
  }
  stop.store(true);
  writer.join();
}

TEST(SqliteStore, checkpoint_thresholds_out_of_order_are_refused) {
  TempDir dir;
  auto store = open_sqlite_store(
      {.path = dir.file("relance.db"), .wal_checkpoint_pages = 100, .wal_pages_max = 10});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().field, "wal_pages_max");
}

TEST(SqliteMigrations, embedded_migrations_are_the_files_under_schemas_in_order) {
  expect_migrations_are_the_files_of(
      sqlite_migrations(), std::filesystem::path(RELANCE_SOURCE_DIR) / "schemas/sql/sqlite");
}

}  // namespace
}  // namespace relance::store::testing
