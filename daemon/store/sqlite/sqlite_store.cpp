#include "store/sqlite/sqlite_store.hpp"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "store/migrations.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/migrate.hpp"

namespace relance::store {

namespace {

using sqlite::Connection;
using sqlite::ResetOnExit;
using sqlite::Statement;

// Readers are HTTP threads; a few connections serve them, more would only contend for the disk.
constexpr std::size_t reader_connections_max = 4;
// The WAL file is truncated back to this size after a checkpoint, so a burst does not leave a
// huge file behind.
constexpr std::int64_t wal_bytes_max = std::int64_t{64} << 20;
// Page cache of each connection: the journal's (source, id) index must stay hot for dedupe.
constexpr std::int64_t page_cache_kib_max = 64 * 1024;

// The statements of the write side, prepared once. Later tables add theirs here.
struct WriterStatements {
  Statement begin;
  Statement commit;
  Statement rollback;
  Statement insert_event;

  static Result<WriterStatements> prepare(Connection& db) {
    WriterStatements s;
    struct Item {
      Statement* target;
      const char* sql;
    };
    const Item items[] = {
        // IMMEDIATE takes the write lock up front: a writer that would fail on a lock held by
        // another process fails here, before doing any work.
        {&s.begin, "BEGIN IMMEDIATE"},
        {&s.commit, "COMMIT"},
        {&s.rollback, "ROLLBACK"},
        // DO NOTHING on (source, id): a duplicate, in the journal or earlier in this same
        // transaction, changes no row and consumes no sequence number.
        {&s.insert_event,
         "INSERT INTO journal (source, id, type, received_at, json) VALUES (?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT (source, id) DO NOTHING"},
    };
    for (const auto& item : items) {
      auto prepared = Statement::prepare(db, item.sql);
      if (!prepared) return prepared.error();
      *item.target = std::move(*prepared);
    }
    return s;
  }
};

struct ReaderConnection {
  Connection db;
  Statement find_event;
  Statement journal_size;
  Statement ping;

  static Result<std::unique_ptr<ReaderConnection>> open(const SqliteOptions& options) {
    auto db =
        Connection::open(options.path, Connection::Access::read_only, options.busy_timeout_ms);
    if (!db) return db.error();
    auto reader = std::make_unique<ReaderConnection>();
    reader->db = std::move(*db);
    if (auto cache = reader->db.exec("PRAGMA cache_size = -" + std::to_string(page_cache_kib_max),
                                     "configuring the page cache");
        !cache) {
      return cache.error();
    }
    struct Item {
      Statement* target;
      const char* sql;
    };
    const Item items[] = {
        {&reader->find_event,
         "SELECT sequence, type, received_at, json FROM journal WHERE source = ?1 AND id = ?2"},
        // The journal is gap-free from 1 (no AUTOINCREMENT, no deletes), so its size is its
        // last sequence: an index lookup instead of a count over every row.
        {&reader->journal_size, "SELECT coalesce(max(sequence), 0) FROM journal"},
        {&reader->ping, "SELECT 1 FROM journal LIMIT 1"},
    };
    for (const auto& item : items) {
      auto prepared = Statement::prepare(reader->db, item.sql);
      if (!prepared) return prepared.error();
      *item.target = std::move(*prepared);
    }
    return reader;
  }
};

class SqliteStore;

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection& db, WriterStatements& statements, bool& open)
      : db_(db), statements_(statements), open_(open) {}
  ~SqliteTransaction() override {
    if (!finished_) rollback();
  }
  SqliteTransaction(const SqliteTransaction&) = delete;
  SqliteTransaction& operator=(const SqliteTransaction&) = delete;

  Result<AppendOutcome> append(const core::Event& event, core::Timestamp received_at) override {
    RELANCE_ASSERT(!finished_);
    Statement& insert = statements_.insert_event;
    ResetOnExit reset(insert);
    insert.bind(1, event.source);
    insert.bind(2, event.id);
    insert.bind(3, core::event_type_name(event.type));
    insert.bind(4, static_cast<std::int64_t>(received_at.time_since_epoch().count()));
    insert.bind(5, event.json);
    if (insert.step() != SQLITE_DONE) return db_.error("appending event " + event.id);
    return sqlite3_changes(db_.get()) == 1 ? AppendOutcome::appended : AppendOutcome::duplicate;
  }

  Result<void> commit() override {
    RELANCE_ASSERT(!finished_);
    Statement& commit = statements_.commit;
    const int rc = commit.step();
    Result<void> outcome = rc == SQLITE_DONE ? Result<void>() : db_.error("committing");
    commit.reset();
    if (!outcome) {
      rollback();  // SQLite may keep the transaction open after a failed COMMIT
    } else {
      finish();
    }
    return outcome;
  }

 private:
  void rollback() {
    if (sqlite3_get_autocommit(db_.get()) == 0) {
      statements_.rollback.step();
      statements_.rollback.reset();
    }
    finish();
  }
  void finish() {
    finished_ = true;
    open_ = false;
  }

  Connection& db_;
  WriterStatements& statements_;
  bool& open_;
  bool finished_ = false;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(SqliteOptions options, Connection writer, WriterStatements statements)
      : options_(std::move(options)),
        writer_(std::move(writer)),
        statements_(std::move(statements)) {}
  ~SqliteStore() override {
    RELANCE_ASSERT(!transaction_open_ && "a transaction outlives its store");
  }

  Result<std::unique_ptr<Transaction>> begin() override {
    RELANCE_ASSERT(!transaction_open_ && "one transaction at a time");
    Statement& begin = statements_.begin;
    const int rc = begin.step();
    begin.reset();
    if (rc != SQLITE_DONE) return writer_.error("starting a transaction");
    transaction_open_ = true;
    return std::unique_ptr<Transaction>(
        std::make_unique<SqliteTransaction>(writer_, statements_, transaction_open_));
  }

  Result<std::optional<StoredEvent>> find_event(std::string_view source,
                                                std::string_view id) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& find = lease->find_event;
    ResetOnExit reset(find);
    find.bind(1, source);
    find.bind(2, id);
    const int rc = find.step();
    if (rc == SQLITE_DONE) return std::optional<StoredEvent>();
    if (rc != SQLITE_ROW) return lease->db.error("reading the journal");
    StoredEvent stored;
    stored.sequence = find.column_int64(0);
    stored.source = std::string(source);
    stored.id = std::string(id);
    stored.type = find.column_text(1);
    stored.received_at = core::Timestamp(std::chrono::microseconds(find.column_int64(2)));
    stored.json = find.column_text(3);
    return std::optional<StoredEvent>(std::move(stored));
  }

  Result<std::int64_t> journal_size() override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& size = lease->journal_size;
    ResetOnExit reset(size);
    if (size.step() != SQLITE_ROW) return lease->db.error("counting the journal");
    return size.column_int64(0);
  }

  Result<void> ping() override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& ping = lease->ping;
    ResetOnExit reset(ping);
    const int rc = ping.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return lease->db.error("probing the database");
    return {};
  }

 private:
  // A reader connection borrowed from the pool for one call.
  class Lease {
   public:
    Lease(SqliteStore& store, std::unique_ptr<ReaderConnection> reader)
        : store_(store), reader_(std::move(reader)) {}
    ~Lease() { store_.release_reader(std::move(reader_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ReaderConnection* operator->() { return reader_.get(); }

   private:
    SqliteStore& store_;
    std::unique_ptr<ReaderConnection> reader_;
  };

  Result<std::unique_ptr<ReaderConnection>> acquire_reader() {
    std::unique_lock lock(readers_mutex_);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.busy_timeout_ms);
    while (idle_readers_.empty() && readers_open_ >= reader_connections_max) {
      if (readers_available_.wait_until(lock, deadline) == std::cv_status::timeout &&
          idle_readers_.empty() && readers_open_ >= reader_connections_max) {
        return Error{"", "SQLite database " + options_.path + ": all " +
                             std::to_string(reader_connections_max) +
                             " reader connections stayed busy for " +
                             std::to_string(options_.busy_timeout_ms) + " ms"};
      }
    }
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader;
    }
    ++readers_open_;
    lock.unlock();  // opening touches the disk; other readers need not wait for it
    auto opened = ReaderConnection::open(options_);
    if (!opened) {
      lock.lock();
      --readers_open_;
      readers_available_.notify_one();
    }
    return opened;
  }

  void release_reader(std::unique_ptr<ReaderConnection> reader) {
    {
      std::lock_guard lock(readers_mutex_);
      idle_readers_.push_back(std::move(reader));
    }
    readers_available_.notify_one();
  }

  const SqliteOptions options_;
  // Write side: only the writer thread touches these.
  Connection writer_;
  WriterStatements statements_;
  bool transaction_open_ = false;
  // Read side: a small pool of read-only connections. In WAL mode they read the last committed
  // snapshot, never wait for the writer and never see its open transaction.
  std::mutex readers_mutex_;
  std::condition_variable readers_available_;
  std::vector<std::unique_ptr<ReaderConnection>> idle_readers_;
  std::size_t readers_open_ = 0;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteOptions& options) {
  if (options.path.empty() || options.path == ":memory:" || options.path.starts_with("file:")) {
    return Error{"path", "the SQLite store needs a file path (got \"" + options.path +
                             "\"): readers use their own connections to the same file"};
  }
  if (options.busy_timeout_ms < 0) {
    return Error{"busy_timeout_ms", std::to_string(options.busy_timeout_ms) + " is negative"};
  }
  auto writer = Connection::open(options.path, Connection::Access::read_write_create,
                                 options.busy_timeout_ms);
  if (!writer) return writer.error();

  auto mode = writer->query_int("SELECT 0", "opening");  // fails early on a file that is not SQLite
  if (!mode) return mode.error();
  {
    // journal_mode returns the mode in effect: anything but "wal" (a network filesystem, a
    // read-only directory) would silently lose the reader/writer separation.
    sqlite3_stmt* stmt = nullptr;
    std::string journal_mode;
    if (sqlite3_prepare_v2(writer->get(), "PRAGMA journal_mode = WAL", -1, &stmt, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      journal_mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    if (journal_mode != "wal") {
      if (journal_mode.empty()) return writer->error("enabling WAL mode");
      return Error{"", "SQLite database " + options.path + ": WAL mode could not be enabled (" +
                           journal_mode + " instead); put the database on a local filesystem"};
    }
  }
  const std::string pragmas =
      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = " +
      std::to_string(wal_bytes_max) + "; PRAGMA cache_size = -" +
      std::to_string(page_cache_kib_max) + ";";
  if (auto configured = writer->exec(pragmas, "configuring the connection"); !configured) {
    return configured.error();
  }
  if (auto migrated = sqlite::migrate(*writer, sqlite_migrations()); !migrated) {
    return migrated.error();
  }
  auto statements = WriterStatements::prepare(*writer);
  if (!statements) return statements.error();
  return std::unique_ptr<Store>(
      std::make_unique<SqliteStore>(options, std::move(*writer), std::move(*statements)));
}

}  // namespace relance::store
