#include "store/sqlite/wal_buffer.hpp"

#include <gtest/gtest.h>

#include <string>

#include "../temp_dir.hpp"
#include "store/sqlite/connection.hpp"

namespace relance::store::sqlite {
namespace {

using relance::store::testing::TempDir;

// A connection as the store's writer has it: WAL, synchronous=FULL, its WAL writes buffered.
// `cache_pages`: a small page cache makes SQLite spill pages into the WAL before the commit.
Connection open_buffered(const std::string& path, int cache_pages) {
  auto db = open_buffered_writer(path, 1000);
  RELANCE_ASSERT(db.ok());
  RELANCE_ASSERT(db->exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; "
                          "PRAGMA cache_size = " +
                              std::to_string(cache_pages) +
                              "; CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v BLOB);",
                          "test")
                     .ok());
  return std::move(*db);
}

Connection open_plain(const std::string& path) {
  auto db = Connection::open(path, Connection::Access::read_write_create, 1000);
  RELANCE_ASSERT(db.ok());
  RELANCE_ASSERT(db->exec("PRAGMA synchronous = FULL", "test").ok());
  return std::move(*db);
}

// Rows [from, from + count), each of `bytes` bytes of its own.
std::string insert_rows(int from, int count, int bytes) {
  return "WITH RECURSIVE n(i) AS (SELECT " + std::to_string(from) + " UNION ALL SELECT i + 1 " +
         "FROM n WHERE i < " + std::to_string(from + count - 1) +
         ") INSERT INTO t SELECT i, randomblob(" + std::to_string(bytes) + ") FROM n;";
}

// -1 when the query fails (a damaged database).
std::int64_t count(Connection& db, const std::string& where = "1") {
  auto rows = db.query_int(("SELECT count(*) FROM t WHERE " + where).c_str(), "test");
  return rows ? *rows : -1;
}

// 1 when PRAGMA integrity_check finds nothing wrong.
std::int64_t integrity_ok(Connection& db) {
  auto ok = db.query_int("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'",
                         "test");
  return ok ? *ok : -1;
}

TEST(WalBuffer, is_registered_beside_the_default_vfs) {
  ASSERT_NE(wal_buffer_vfs(), nullptr);
  EXPECT_NE(sqlite3_vfs_find(wal_buffer_vfs()), nullptr);
  EXPECT_NE(sqlite3_vfs_find(nullptr), sqlite3_vfs_find(wal_buffer_vfs()));  // not the default
}

TEST(WalBuffer, a_commit_many_times_the_buffer_is_read_back_by_another_connection) {
  TempDir dir;
  const std::string path = dir.file("w.db");
  Connection writer = open_buffered(path, 2000);
  ASSERT_TRUE(writer.exec("BEGIN; " + insert_rows(1, 3000, 3000) + " COMMIT;", "test"));
  Connection reader = open_plain(path);
  EXPECT_EQ(count(reader), 3000);
  EXPECT_EQ(count(reader, "length(v) = 3000"), 3000);
  EXPECT_EQ(integrity_ok(reader), 1);
}

TEST(WalBuffer, pages_spilled_before_the_commit_are_read_back_within_the_transaction) {
  TempDir dir;
  const std::string path = dir.file("w.db");
  Connection writer = open_buffered(path, 10);  // spills after 10 pages
  ASSERT_TRUE(writer.exec("BEGIN; " + insert_rows(1, 500, 1000), "test"));
  EXPECT_EQ(count(writer, "length(v) = 1000"), 500);
  ASSERT_TRUE(writer.exec("UPDATE t SET v = zeroblob(900) WHERE k % 2 = 0; COMMIT;", "test"));
  Connection reader = open_plain(path);
  EXPECT_EQ(count(reader, "length(v) = 900"), 250);
  EXPECT_EQ(count(reader, "length(v) = 1000"), 250);
}

// What a rolled-back transaction spilled must never reach the file later: another connection
// writes its own frames over those offsets meanwhile.
TEST(WalBuffer, a_rolled_back_transaction_leaves_nothing_to_write_over_another_commit) {
  TempDir dir;
  const std::string path = dir.file("w.db");
  Connection writer = open_buffered(path, 10);
  ASSERT_TRUE(writer.exec(insert_rows(1, 10, 100), "test"));  // the WAL exists and holds a commit
  ASSERT_TRUE(writer.exec("BEGIN; " + insert_rows(1000, 300, 1000), "test"));  // spills
  ASSERT_TRUE(writer.exec("ROLLBACK", "test"));

  Connection other = open_plain(path);
  ASSERT_TRUE(other.exec("BEGIN IMMEDIATE; " + insert_rows(5000, 300, 1000) + " COMMIT;", "test"));
  // The writer goes on: reads the other's rows, then writes after them.
  EXPECT_EQ(count(writer, "k >= 5000"), 300);
  ASSERT_TRUE(writer.exec(insert_rows(9000, 10, 100), "test"));

  // The two commits, nothing of the rolled-back transaction: seen by a fresh connection, then
  // in the database file once the last connection's close copied the WAL into it.
  const auto expect_the_two_commits = [&] {
    Connection reader = open_plain(path);
    EXPECT_EQ(count(reader), 320);
    EXPECT_EQ(count(reader, "k >= 1000 AND k < 5000"), 0);
    EXPECT_EQ(integrity_ok(reader), 1);
  };
  expect_the_two_commits();
  writer = Connection();
  other = Connection();
  expect_the_two_commits();
}

}  // namespace
}  // namespace relance::store::sqlite
