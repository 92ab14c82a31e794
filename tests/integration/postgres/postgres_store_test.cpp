#include "store/postgres/postgres_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <set>
#include <thread>
#include <vector>

#include "store/migrations.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/migrate.hpp"
#include "store_contract.hpp"
#include "test_events.hpp"
#include "tests/integration/servers/postgres_cluster.hpp"

namespace relance::store::testing {
namespace {

using relance::testing::PostgresCluster;

const core::Timestamp t0 = core::Timestamp(std::chrono::seconds(1'767'225'600));  // 2026-01-01

// One cluster per test process, started on first use and stopped (by its watchdog, whatever
// happens) when the process ends. A cluster that cannot start fails every test that needs it.
PostgresCluster& cluster() {
  static auto started = PostgresCluster::start();
  if (!started) {
    ADD_FAILURE() << "cannot start the PostgreSQL test cluster: " << started.error().to_string();
  }
  RELANCE_ASSERT(started.ok() && "the PostgreSQL test cluster did not start");
  return **started;
}

// Where a test's store lives in the shared cluster, removed at the end: a fresh schema of the
// `postgres` database (the store's search_path, a few milliseconds to make), or, for tests about
// database-wide settings, a database of its own.
class Database {
 public:
  Database() {
    auto schema = cluster().create_schema("relance_test");
    if (!schema) ADD_FAILURE() << schema.error().to_string();
    RELANCE_ASSERT(schema.ok());
    name_ = "postgres";
    schema_ = *schema;
  }
  // `options` go to CREATE DATABASE (a collation, say).
  explicit Database(std::string_view options) {
    auto name = cluster().create_database("relance_test", options);
    if (!name) ADD_FAILURE() << name.error().to_string();
    RELANCE_ASSERT(name.ok());
    name_ = *name;
  }
  ~Database() {
    auto dropped =
        schema_.empty() ? cluster().drop_database(name_) : cluster().drop_schema(schema_);
    if (!dropped) ADD_FAILURE() << dropped.error().to_string();
  }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& name() const { return name_; }
  std::string url() const { return cluster().url(name_, schema_); }
  Result<std::unique_ptr<Store>> open() const { return open_postgres_store({.url = url()}); }
  // Runs SQL where the store's tables are.
  std::string query(const std::string& sql) const {
    auto value = cluster().query(name_, sql, schema_);
    if (!value) ADD_FAILURE() << value.error().to_string();
    return value ? *value : std::string();
  }

 private:
  std::string name_;
  std::string schema_;  // "" when the database is the test's own
};

class PostgresBackendDatabase final : public BackendDatabase {
 public:
  Result<std::unique_ptr<Store>> open() override { return database_.open(); }

 private:
  Database database_;
};

INSTANTIATE_TEST_SUITE_P(Postgres, StoreContract,
                         ::testing::Values(Backend{
                             "Postgres",
                             [] { return std::make_unique<PostgresBackendDatabase>(); }}),
                         backend_name);

std::unique_ptr<Store> open_ok(const Database& database) { return expect_ok(database.open()); }

TEST(PostgresStore, new_database_records_every_embedded_migration) {
  Database database;
  auto store = open_ok(database);
  const std::string versions = database.query(
      "SELECT string_agg(version::text || ':' || name, ',' ORDER BY version) FROM "
      "relance_schema_version");
  std::string expected;
  for (const Migration& migration : postgres_migrations()) {
    expected += (expected.empty() ? "" : ",") + std::to_string(migration.version) + ":" +
                std::string(migration.name);
  }
  EXPECT_EQ(versions, expected);
  EXPECT_EQ(database.query("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND "
                           "tablename IN ('journal', 'state', 'alerts', 'source_offsets')"),
            "4");
}

TEST(PostgresStore, reopening_a_current_database_applies_nothing) {
  Database database;
  { auto store = open_ok(database); }
  const std::string applied_at =
      database.query("SELECT max(applied_at)::text FROM relance_schema_version");
  auto store = open_ok(database);
  EXPECT_EQ(database.query("SELECT max(applied_at)::text FROM relance_schema_version"), applied_at);
}

TEST(PostgresStore, daemons_starting_at_once_migrate_once) {
  Database database;
  std::vector<std::future<Result<std::unique_ptr<Store>>>> opening;
  for (int i = 0; i < 6; ++i) {
    opening.push_back(std::async(std::launch::async, [&database] { return database.open(); }));
  }
  for (auto& store : opening) {
    auto opened = store.get();
    EXPECT_TRUE(opened) << opened.error().to_string();
  }
  EXPECT_EQ(database.query("SELECT count(*) FROM relance_schema_version"),
            std::to_string(postgres_migrations().size()));
}

TEST(PostgresStore, database_written_by_a_newer_relanced_is_refused) {
  Database database;
  { auto store = open_ok(database); }
  database.query("INSERT INTO relance_schema_version (version, name) VALUES (999, '0999_future')");
  auto store = database.open();
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("schema version 999, newer than the"), std::string::npos)
      << store.error().to_string();
}

TEST(PostgresStore, database_of_another_application_is_refused_and_left_alone) {
  Database database;
  database.query("CREATE TABLE customers (id integer)");
  auto store = database.open();
  ASSERT_FALSE(store);
  EXPECT_NE(store.error().message.find("not a relance database"), std::string::npos)
      << store.error().to_string();
  EXPECT_EQ(database.query("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"),
            "1");
}

TEST(PostgresStore, failing_migration_is_rolled_back_whole_and_names_itself) {
  Database database;
  auto connection = expect_ok(postgres::Connection::open({.url = database.url()}, {}));
  const Migration migrations[] = {
      {1, "0001_a", "CREATE TABLE a (x integer);"},
      {2, "0002_broken", "CREATE TABLE half (x integer); CREATE TABLE broken (;"},
      {3, "0003_c", "CREATE TABLE c (x integer);"},
  };
  auto reached = postgres::migrate(connection, migrations);
  ASSERT_FALSE(reached);
  EXPECT_NE(reached.error().message.find("0002_broken"), std::string::npos)
      << reached.error().to_string();
  EXPECT_NE(reached.error().message.find("syntax error"), std::string::npos)
      << "libpq's message is kept: " << reached.error().to_string();
  EXPECT_EQ(database.query("SELECT max(version) FROM relance_schema_version"), "1");
  EXPECT_EQ(
      database.query(
          "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN "
          "('half', 'c')"),
      "0");
}

TEST(PostgresStore, unreachable_server_is_an_error_naming_the_url_key_with_libpq_message) {
  // Port 1: privileged, never a PostgreSQL server on a test machine.
  auto store = open_postgres_store(
      {.url = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2&sslmode=disable"});
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().field, "store.postgres.url");
  EXPECT_NE(store.error().message.find("Connection refused"), std::string::npos)
      << store.error().to_string();
  // libpq's several lines become one (a log line, a /readyz problem detail).
  EXPECT_EQ(store.error().message.find_first_of("\n\t"), std::string::npos)
      << store.error().to_string();
}

TEST(PostgresStore, two_daemons_writing_at_once_keep_the_journal_gap_free_and_complete) {
  Database database;
  constexpr int batches = 40;
  constexpr int events_per_batch = 25;
  auto write = [&](const std::string& source) -> Result<void> {
    auto store = database.open();
    if (!store) return store.error();
    for (int b = 0; b < batches; ++b) {
      auto transaction = (*store)->begin();
      if (!transaction) return transaction.error();
      std::vector<core::Event> events;
      for (int e = 0; e < events_per_batch; ++e) {
        // Both daemons also send some of the same keys: each is appended once in all.
        const std::string id = e % 5 == 0
                                   ? "shared-" + std::to_string(b) + "-" + std::to_string(e)
                                   : source + "-" + std::to_string(b) + "-" + std::to_string(e);
        events.push_back(make_event("erp", id));
      }
      auto outcomes = (*transaction)->append_batch(events, t0);
      if (!outcomes) return outcomes.error();
      if (auto committed = (*transaction)->commit(); !committed) return committed.error();
    }
    return {};
  };
  auto first = std::async(std::launch::async, write, "d1");
  auto second = std::async(std::launch::async, write, "d2");
  expect_ok(first.get());
  expect_ok(second.get());

  constexpr int shared = batches * events_per_batch / 5;
  constexpr int expected = 2 * batches * events_per_batch - shared;
  auto store = open_ok(database);
  EXPECT_EQ(expect_ok(store->journal_size()), expected);
  const auto journal = expect_ok(store->read_journal(0, 100000));
  ASSERT_EQ(journal.size(), static_cast<std::size_t>(expected));
  std::set<std::string> ids;
  for (std::size_t i = 0; i < journal.size(); ++i) {
    EXPECT_EQ(journal[i].sequence, static_cast<std::int64_t>(i) + 1);
    ids.insert(journal[i].id);
  }
  EXPECT_EQ(ids.size(), static_cast<std::size_t>(expected));
}

TEST(PostgresStore, reader_retries_once_on_a_connection_the_server_closed) {
  Database database;
  auto store = open_ok(database);
  {
    auto transaction = expect_ok(store->begin());
    (void)expect_ok(transaction->append(make_event("erp", "1"), t0));
    expect_ok(transaction->commit());
  }
  ASSERT_TRUE(store->find_event("erp", "1"));  // a reader connection now sits in the pool
  EXPECT_GE(expect_ok(cluster().terminate_connections(database.name())), 2);
  EXPECT_TRUE(expect_ok(store->find_event("erp", "1")).has_value());
  expect_ok(store->ping());
}

TEST(PostgresStore, writer_reconnects_at_begin_after_its_connection_was_closed) {
  Database database;
  auto store = open_ok(database);
  ASSERT_GE(expect_ok(cluster().terminate_connections(database.name())), 1);
  auto transaction = expect_ok(store->begin());
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "1"), t0)), AppendOutcome::appended);
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store->journal_size()), 1);
}

TEST(PostgresStore, transaction_cut_midway_reports_libpq_message_and_the_next_one_works) {
  Database database;
  auto store = open_ok(database);
  {
    auto transaction = expect_ok(store->begin());
    (void)expect_ok(transaction->append(make_event("erp", "before"), t0));
    ASSERT_GE(expect_ok(cluster().terminate_connections(database.name())), 1);
    auto appended = transaction->append(make_event("erp", "lost"), t0);
    ASSERT_FALSE(appended);
    EXPECT_NE(appended.error().message.find("terminat"), std::string::npos)
        << appended.error().to_string();
    EXPECT_NE(appended.error().message.find("PostgreSQL database " + database.name()),
              std::string::npos)
        << appended.error().to_string();
    auto committed = transaction->commit();
    EXPECT_FALSE(committed);
  }
  auto transaction = expect_ok(store->begin());
  EXPECT_EQ(expect_ok(transaction->append(make_event("erp", "after"), t0)),
            AppendOutcome::appended);
  expect_ok(transaction->commit());
  EXPECT_FALSE(expect_ok(store->find_event("erp", "before")).has_value());
  EXPECT_FALSE(expect_ok(store->find_event("erp", "lost")).has_value());
  EXPECT_EQ(expect_ok(store->find_event("erp", "after"))->sequence, 1);
}

TEST(PostgresStore, failed_statement_fails_the_commit_instead_of_committing_half) {
  Database database;
  auto store = open_ok(database);
  // Make put_state fail on the server (a trigger refusing one key), to see a deferred error.
  database.query(
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "IF NEW.key = 'bad' THEN RAISE EXCEPTION 'refused by test trigger'; END IF; "
      "RETURN NEW; END $$");
  database.query(
      "CREATE TRIGGER refuse BEFORE INSERT ON state FOR EACH ROW EXECUTE FUNCTION refuse()");
  auto transaction = expect_ok(store->begin());
  (void)expect_ok(transaction->append(make_event("erp", "1"), t0));
  expect_ok(transaction->put_state({StateKind::receivable, "good", "C-1", "g", "{}"}));
  // Deferred: put_state answers when its statement reaches the server, at the latest at commit.
  (void)transaction->put_state({StateKind::receivable, "bad", "C-1", "b", "{}"});
  auto committed = transaction->commit();
  ASSERT_FALSE(committed);
  EXPECT_NE(committed.error().message.find("refused by test trigger"), std::string::npos)
      << committed.error().to_string();
  transaction.reset();
  EXPECT_EQ(expect_ok(store->journal_size()), 0);
  EXPECT_FALSE(expect_ok(store->find_state_view(StateKind::receivable, "good")).has_value());
}

TEST(PostgresStore, server_restart_fails_ping_then_store_recovers_without_reopening) {
  Database database;
  auto store = open_ok(database);
  expect_ok(store->ping());
  ASSERT_TRUE(cluster().stop_server());
  auto down = store->ping();
  EXPECT_FALSE(down);
  if (!down) {
    EXPECT_NE(down.error().message.find("PostgreSQL database"), std::string::npos)
        << down.error().to_string();
  }
  EXPECT_FALSE(store->begin());
  auto restarted = cluster().start_server();
  ASSERT_TRUE(restarted) << restarted.error().to_string();
  expect_ok(store->ping());
  auto transaction = expect_ok(store->begin());
  (void)expect_ok(transaction->append(make_event("erp", "1"), t0));
  expect_ok(transaction->commit());
  EXPECT_EQ(expect_ok(store->journal_size()), 1);
}

TEST(PostgresStore, keys_sort_in_byte_order_whatever_the_database_collation) {
  // In en-US order "_x" < "a" < "A" < "b" < "B"; SQLite and the contract expect bytes.
  Database database("TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'");
  ASSERT_EQ(database.query("SELECT 'a' < 'B'"), "t") << "the database should not sort bytes";
  auto store = open_ok(database);
  auto transaction = expect_ok(store->begin());
  for (const char* key : {"b", "B", "a", "_x", "A"}) {
    expect_ok(transaction->put_state({StateKind::receivable, key, "C-1", key, "{}"}));
  }
  expect_ok(transaction->commit());
  std::string order;
  expect_ok(store->for_each_state(StateKind::receivable, [&](std::string_view blob) {
    order += blob;
    return Result<void>();
  }));
  EXPECT_EQ(order, "AB_xab");
  EXPECT_EQ(expect_ok(store->customer_state("C-1")).receivables.size(), 5u);
}

// The writer sends state rows and journal events as binary arrays, one per column: bytes that a
// text literal would have to escape (quotes, backslashes, braces, NUL, non-ASCII, empty
// strings) must come back as they went in.
TEST(PostgresStore, rows_sent_as_binary_arrays_come_back_byte_for_byte) {
  Database database;
  auto store = open_ok(database);
  const std::string awkward = std::string("a\"b\\c{d},e NULL \xc3\xa9\0z", 20);
  ASSERT_EQ(awkward.size(), 20u);
  auto event = make_event("erp", "quote\"d\\id,{x}");
  event.json.insert(event.json.size() - 3, "\\\"\xc3\xa9{},");
  auto transaction = expect_ok(store->begin());
  const core::Event events[] = {event, make_event("erp", ""), make_event("erp", "plain")};
  EXPECT_EQ(expect_ok(transaction->append_batch(events, t0)),
            (std::vector<AppendOutcome>{AppendOutcome::appended, AppendOutcome::appended,
                                        AppendOutcome::appended}));
  expect_ok(
      transaction->put_state({StateKind::receivable, "k\"1", "C\\1", awkward, "{\"v\":\"\\\"\"}"}));
  expect_ok(transaction->put_state({StateKind::receivable, "", "", "", ""}));
  expect_ok(transaction->commit());
  const auto journal = expect_ok(store->read_journal(0, 10));
  ASSERT_EQ(journal.size(), 3u);
  EXPECT_EQ(journal[0].id, event.id);
  EXPECT_EQ(journal[0].json, event.json);
  EXPECT_EQ(journal[0].received_at, t0);
  EXPECT_EQ(journal[1].id, "");
  EXPECT_EQ(journal[2].sequence, 3);
  EXPECT_EQ(expect_ok(store->customer_state("C\\1")).receivables,
            std::vector<std::string>{awkward});
  EXPECT_EQ(*expect_ok(store->find_state_view(StateKind::receivable, "k\"1")), "{\"v\":\"\\\"\"}");
  EXPECT_EQ(*expect_ok(store->find_state_view(StateKind::receivable, "")), "");
}

// put_state rows wait for commit and go as one statement, which may not touch a row twice: the
// last row of a kind and key wins, as it would statement by statement; the same key under
// another kind is another row.
TEST(PostgresStore, state_row_written_twice_in_one_transaction_keeps_the_last) {
  Database database;
  auto store = open_ok(database);
  auto transaction = expect_ok(store->begin());
  expect_ok(transaction->put_state({StateKind::receivable, "K", "C-1", "first", "{}"}));
  expect_ok(transaction->put_state({StateKind::customer, "K", "K", "customer", "{}"}));
  expect_ok(transaction->put_state({StateKind::receivable, "K", "C-2", "second", "{\"v\":2}"}));
  expect_ok(transaction->commit());
  EXPECT_EQ(*expect_ok(store->find_state_view(StateKind::receivable, "K")), "{\"v\":2}");
  EXPECT_TRUE(expect_ok(store->customer_state("C-1")).receivables.empty());
  EXPECT_EQ(expect_ok(store->customer_state("C-2")).receivables,
            std::vector<std::string>{"second"});
  EXPECT_EQ(expect_ok(store->customer_state("K")).customer, "customer");
}

// The writer rewrites every row an event touched, most of them unchanged: such a rewrite leaves
// the row version alone (same xmin: no new version, index entries or WAL), a changed one does not.
TEST(PostgresStore, state_row_rewritten_unchanged_keeps_its_row_version) {
  Database database;
  auto store = open_ok(database);
  const auto write = [&](const StateRow& row) {
    auto transaction = expect_ok(store->begin());
    expect_ok(transaction->put_state(row));
    expect_ok(transaction->commit());
    return database.query("SELECT xmin FROM state WHERE key = 'K'");
  };
  const std::string first = write({StateKind::receivable, "K", "C-1", "blob", "{}"});
  EXPECT_EQ(write({StateKind::receivable, "K", "C-1", "blob", "{}"}), first);
  EXPECT_NE(write({StateKind::receivable, "K", "C-1", "blob", "{\"v\":2}"}), first);
  const std::string second = database.query("SELECT xmin FROM state WHERE key = 'K'");
  EXPECT_NE(write({StateKind::receivable, "K", "C-2", "blob", "{\"v\":2}"}), second);
  EXPECT_EQ(expect_ok(store->customer_state("C-2")).receivables, std::vector<std::string>{"blob"});
  EXPECT_EQ(*expect_ok(store->find_state_view(StateKind::receivable, "K")), "{\"v\":2}");
}

// Past 32 MB of waiting state rows a statement goes out before commit; a row written again
// after that is a second statement, and still the last one wins.
TEST(PostgresStore, state_rows_beyond_the_pending_limit_go_out_early_and_the_last_still_wins) {
  Database database;
  auto store = open_ok(database);
  auto transaction = expect_ok(store->begin());
  const std::string big(12 << 20, 'b');
  for (const char* key : {"A", "B", "C"}) {
    expect_ok(transaction->put_state({StateKind::receivable, key, "C-1", big, "{}"}));
  }
  expect_ok(transaction->put_state({StateKind::receivable, "A", "C-1", "small", "{}"}));
  expect_ok(transaction->commit());
  EXPECT_EQ(database.query("SELECT string_agg(key || ':' || length(blob), ',' ORDER BY key) "
                           "FROM state"),
            "A:5,B:12582912,C:12582912");
}

TEST(PostgresMigrations, embedded_migrations_are_the_files_under_schemas_in_order) {
  expect_migrations_are_the_files_of(
      postgres_migrations(), std::filesystem::path(RELANCE_SOURCE_DIR) / "schemas/sql/postgres");
}

TEST(PostgresMigrations, both_backends_have_the_same_migrations) {
  const auto sqlite = sqlite_migrations();
  const auto postgres = postgres_migrations();
  ASSERT_EQ(sqlite.size(), postgres.size());
  for (std::size_t i = 0; i < sqlite.size(); ++i) EXPECT_EQ(sqlite[i].name, postgres[i].name);
}

}  // namespace
}  // namespace relance::store::testing
