#include "store/sqlite/migrate.hpp"

#include <gtest/gtest.h>

#include "../temp_dir.hpp"

namespace relance::store::sqlite {
namespace {

using relance::store::testing::TempDir;

Connection open(const std::string& path) {
  auto connection = Connection::open(path, Connection::Access::read_write_create, 1000);
  RELANCE_ASSERT(connection.ok());
  return std::move(*connection);
}

std::int64_t version(Connection& db) { return *db.query_int("PRAGMA user_version", "test"); }

bool has_table(Connection& db, const std::string& name) {
  const std::string sql = "SELECT count(*) FROM sqlite_schema WHERE name = '" + name + "'";
  return *db.query_int(sql.c_str(), "test") == 1;
}

TEST(Migrate, pending_migrations_are_applied_in_order_and_recorded) {
  TempDir dir;
  Connection db = open(dir.file("m.db"));
  const Migration first[] = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"}};
  ASSERT_EQ(*migrate(db, first), 1);
  EXPECT_EQ(version(db), 1);

  // The second migration depends on the first having run.
  const Migration both[] = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"},
                            {2, "0002_b", "CREATE TABLE b (x INTEGER); INSERT INTO a VALUES (2);"}};
  ASSERT_EQ(*migrate(db, both), 2);
  EXPECT_EQ(version(db), 2);
  EXPECT_TRUE(has_table(db, "b"));
  EXPECT_EQ(*db.query_int("SELECT count(*) FROM a", "test"), 1);

  // Already current: nothing runs again.
  ASSERT_EQ(*migrate(db, both), 2);
  EXPECT_EQ(*db.query_int("SELECT count(*) FROM a", "test"), 1);
}

TEST(Migrate, failing_migration_leaves_the_database_at_the_previous_version_untouched) {
  TempDir dir;
  Connection db = open(dir.file("m.db"));
  const Migration migrations[] = {
      {1, "0001_a", "CREATE TABLE a (x INTEGER);"},
      {2, "0002_broken", "CREATE TABLE half (x INTEGER); CREATE TABLE broken (;"},
      {3, "0003_c", "CREATE TABLE c (x INTEGER);"},
  };
  auto reached = migrate(db, migrations);
  ASSERT_FALSE(reached);
  EXPECT_NE(reached.error().message.find("0002_broken"), std::string::npos)
      << reached.error().to_string();
  EXPECT_EQ(version(db), 1);
  EXPECT_TRUE(has_table(db, "a"));
  EXPECT_FALSE(has_table(db, "half"));  // its own transaction was rolled back whole
  EXPECT_FALSE(has_table(db, "c"));
}

TEST(Migrate, database_newer_than_the_migrations_is_refused_and_left_alone) {
  TempDir dir;
  Connection db = open(dir.file("m.db"));
  const Migration two[] = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"},
                           {2, "0002_b", "CREATE TABLE b (x INTEGER);"}};
  ASSERT_TRUE(migrate(db, two));
  const Migration one[] = {{1, "0001_a", "CREATE TABLE a (x INTEGER);"}};
  auto reached = migrate(db, one);
  ASSERT_FALSE(reached);
  EXPECT_NE(reached.error().message.find("schema version 2, newer than the 1"), std::string::npos)
      << reached.error().to_string();
  EXPECT_EQ(version(db), 2);
  EXPECT_TRUE(has_table(db, "b"));
}

}  // namespace
}  // namespace relance::store::sqlite
