#include "store/sqlite/sqlite_store.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <tuple>
#include <vector>

#include "core/large_pages.hpp"
#include "store/migrations.hpp"
#include "store/outbox_json.hpp"
#include "store/sqlite/connection.hpp"
#include "store/sqlite/keys_by_customer.hpp"
#include "store/sqlite/migrate.hpp"
#include "store/sqlite/wal_buffer.hpp"

namespace relance::store {

namespace {

using sqlite::Connection;
using sqlite::KeysByCustomer;
using sqlite::ResetOnExit;
using sqlite::Statement;

std::int64_t micros(core::Timestamp instant) {
  return static_cast<std::int64_t>(instant.time_since_epoch().count());
}
core::Timestamp timestamp(std::int64_t micros) {
  return core::Timestamp(std::chrono::microseconds(micros));
}
// The words the schema's CHECK constraints accept.
const char* kind_text(StateKind kind) { return state_kind_name(kind); }
const char* status_text(AlertStatus status) {
  return status == AlertStatus::open ? "open" : "resolved";
}

// The rows a customer's state is read from, besides its own: its receivables and its records.
struct RowsByCustomer {
  KeysByCustomer receivables;
  KeysByCustomer records;
  // nullptr for the kinds not read by customer.
  KeysByCustomer* of(StateKind kind) {
    if (kind == StateKind::receivable) return &receivables;
    if (kind == StateKind::record) return &records;
    return nullptr;
  }
};

struct Item {
  Statement* target;
  const char* sql;
};

Result<void> prepare_all(Connection& db, std::span<const Item> items) {
  for (const auto& item : items) {
    auto prepared = Statement::prepare(db, item.sql);
    if (!prepared) return prepared.error();
    *item.target = std::move(*prepared);
  }
  return {};
}

// Readers are HTTP threads; a few connections serve them, more would only contend for the disk.
constexpr std::size_t reader_connections_max = 4;
// The WAL file is truncated back to this size when it starts over, so a burst does not leave a
// huge file behind. Above what a steady load makes of it (wal_restart_pages, plus what the writer
// commits while the checkpointer copies: 130-140 MiB in the ingest bench), or every restart would
// cut the file and the writer would grow it again, block by block.
constexpr std::int64_t wal_bytes_max = std::int64_t{192} << 20;
// Page cache of each connection, and of all of them together (configure_sqlite_process): the
// journal's (source, id) index must stay hot for dedupe.
constexpr std::int64_t page_cache_kib_max = 64 * 1024;
// The page size of a new database (an existing one keeps its own, which is not larger). Twice
// SQLite's default: the writer's transactions dirty thousands of pages, and each page is a WAL
// frame written at commit and copied by the checkpointer; half as many of them, and a level less
// in the trees, gave the Kafka bench 15-20 % more events/s.
constexpr std::size_t page_bytes = 8192;

// Before the first connection of the process. Once SQLite is initialized (by an earlier store, or
// another library) each call is refused with SQLITE_MISUSE and changes nothing: both settings
// are about speed, not about what is stored.
void configure_sqlite_process() {
  // SQLite's memory statistics take a global mutex around every allocation (the writer allocates
  // a lot per row), and nothing reads them.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // The page cache in one block, shared by the process's connections, rather than a malloc per
  // page: the writer's cache grows by a page every few events until it is full, and glibc grows
  // a thread's arena a page at a time, with an mprotect call each (15 % of the writer in the
  // Kafka bench's profile). Under the block's size the caches stop growing and recycle their
  // least recently used pages: the block is the budget of all of them.
  int header_bytes = 0;
  if (sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &header_bytes) != SQLITE_OK) return;
  const std::size_t slot_bytes = (page_bytes + static_cast<std::size_t>(header_bytes) + 7) / 8 * 8;
  const std::size_t slots = static_cast<std::size_t>(page_cache_kib_max) * 1024 / page_bytes;
  // SQLite writes every slot when it starts: the block (66 MiB) is resident from the first
  // store's opening on, in transparent huge pages where the kernel gives them (a fault per 4 KiB
  // page otherwise: 0.17 s at each start). Never freed: SQLite uses it until the process ends.
  void* block = core::allocate_large_pages(slot_bytes * slots);
  if (block == nullptr) return;
  if (sqlite3_config(SQLITE_CONFIG_PAGECACHE, block, static_cast<int>(slot_bytes),
                     static_cast<int>(slots)) != SQLITE_OK) {
    std::free(block);
  }
}

// The statements of the write side, prepared once. Later tables add theirs here.
struct WriterStatements {
  Statement begin;
  Statement commit;
  Statement rollback;
  Statement insert_event;
  Statement put_state;
  Statement move_state;
  Statement raise_alert;
  Statement resolve_alert;
  Statement put_source_offset;
  Statement enqueue;

  static Result<WriterStatements> prepare(Connection& db) {
    WriterStatements s;
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
        // A new row, or a row rewritten with the same owner: one statement. Setting only blob
        // and view_json leaves the index on (kind, customer_id, key) untouched. A row that
        // already holds what it would write is left alone (no page made dirty).
        {&s.put_state,
         "INSERT INTO state (kind, key, customer_id, blob, view_json) VALUES (?1, ?2, ?3, ?4, ?5) "
         "ON CONFLICT (kind, key) DO UPDATE SET blob = excluded.blob, view_json = "
         "excluded.view_json WHERE state.customer_id = excluded.customer_id AND (state.blob IS "
         "NOT excluded.blob OR state.view_json IS NOT excluded.view_json)"},
        // What the upsert left: a new owner, or nothing to change.
        {&s.move_state,
         "UPDATE state SET customer_id = ?3, blob = ?4, view_json = ?5 WHERE kind = ?1 AND key = "
         "?2 AND customer_id IS NOT ?3"},
        // An open alert raised again keeps the time it was first raised; a resolved one opens
        // again from now.
        {&s.raise_alert,
         "INSERT INTO alerts (id, kind, severity, status, customer_id, json, raised_at, "
         "resolved_at) VALUES (?1, ?2, ?3, 'open', ?4, ?5, ?6, NULL) "
         "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, severity = excluded.severity, "
         "customer_id = excluded.customer_id, json = excluded.json, "
         "raised_at = CASE WHEN alerts.status = 'open' THEN alerts.raised_at "
         "ELSE excluded.raised_at END, status = 'open', resolved_at = NULL"},
        {&s.resolve_alert,
         "UPDATE alerts SET status = 'resolved', resolved_at = ?2 WHERE id = ?1 AND status = "
         "'open'"},
        {&s.put_source_offset,
         "INSERT INTO source_offsets (source, \"partition\", \"offset\") VALUES (?1, ?2, ?3) "
         "ON CONFLICT (source, \"partition\") DO UPDATE SET \"offset\" = excluded.\"offset\""},
        {&s.enqueue,
         "INSERT INTO outbox (idempotency_key, sink, customer_id, invoice_ids, payload, due_at, "
         "status, attempts, next_attempt_at, last_error, created_at, updated_at) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?6, '', ?7, ?7) "
         "ON CONFLICT (idempotency_key) DO NOTHING"},
    };
    if (auto prepared = prepare_all(db, items); !prepared) return prepared.error();
    return s;
  }
};

// The outbox row as every query returns it; read_outbox_row() decodes it.
#define RELANCE_SQLITE_OUTBOX_COLUMNS                                                        \
  "id, idempotency_key, sink, customer_id, invoice_ids, payload, due_at, status, attempts, " \
  "next_attempt_at, last_error, created_at, updated_at"

Result<OutboxRow> read_outbox_row(const Statement& read) {
  OutboxRow row;
  row.id = read.column_int64(0);
  row.idempotency_key = read.column_text(1);
  row.sink = read.column_text(2);
  row.customer_id = read.column_text(3);
  auto ids = parse_invoice_ids(read.column_text(4));
  if (!ids) return ids.error();
  row.invoice_ids = std::move(*ids);
  row.payload = read.column_text(5);
  row.due_at = timestamp(read.column_int64(6));
  const auto status = parse_outbox_status(read.column_text(7));
  if (!status) return Error{"outbox.status", "unknown status " + read.column_text(7)};
  row.status = *status;
  row.attempts = static_cast<std::int32_t>(read.column_int64(8));
  row.next_attempt_at = timestamp(read.column_int64(9));
  row.last_error = read.column_text(10);
  row.created_at = timestamp(read.column_int64(11));
  row.updated_at = timestamp(read.column_int64(12));
  return row;
}

// The dispatcher's and the operators' writes: a read-write connection of their own, so that
// they never touch the writer's. Each statement is its own transaction; SQLite serializes them
// with the writer's (busy timeout).
struct OutboxConnection {
  Connection db;
  Statement claim;
  Statement settle;
  Statement requeue;
  Statement retry;
  Statement exists;

  static Result<std::unique_ptr<OutboxConnection>> open(const SqliteOptions& options) {
    auto db = Connection::open(options.path, Connection::Access::read_write_create,
                               options.busy_timeout_ms);
    if (!db) return db.error();
    auto outbox = std::make_unique<OutboxConnection>();
    outbox->db = std::move(*db);
    if (auto configured = outbox->db.exec("PRAGMA synchronous = FULL", "configuring");
        !configured) {
      return configured.error();
    }
    const Item items[] = {
        // One statement: the rows it picks are the rows it moves, whatever runs beside it.
        {&outbox->claim,
         "UPDATE outbox SET status = 'sending', updated_at = ?2 WHERE id IN (SELECT id FROM "
         "outbox WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id "
         "LIMIT ?3) RETURNING " RELANCE_SQLITE_OUTBOX_COLUMNS},
        {&outbox->settle,
         "UPDATE outbox SET status = ?2, attempts = attempts + ?3, "
         "next_attempt_at = coalesce(?4, next_attempt_at), last_error = ?5, updated_at = ?6 "
         "WHERE id = ?1 AND status = 'sending'"},
        {&outbox->requeue,
         "UPDATE outbox SET status = 'pending', next_attempt_at = ?2, updated_at = ?2 "
         "WHERE status = 'sending' AND updated_at <= ?1"},
        {&outbox->retry,
         "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2, "
         "updated_at = ?2 WHERE id = ?1 AND status = 'dead'"},
        {&outbox->exists, "SELECT 1 FROM outbox WHERE id = ?1"},
    };
    if (auto prepared = prepare_all(outbox->db, items); !prepared) return prepared.error();
    return outbox;
  }
};

struct ReaderConnection {
  Connection db;
  Statement find_event;
  Statement journal_size;
  Statement read_journal;
  Statement state_blobs;
  Statement find_state_view;
  Statement begin_read;
  Statement end_read;
  Statement state_row;
  Statement alerts_all;
  Statement alerts_by_status;
  Statement source_offsets;
  Statement find_outbox;
  Statement outbox_all;
  Statement outbox_by_status;
  Statement outbox_depth;
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
    const Item items[] = {
        {&reader->find_event,
         "SELECT sequence, type, received_at, json FROM journal WHERE source = ?1 AND id = ?2"},
        // The journal is gap-free from 1 (no AUTOINCREMENT, no deletes), so its size is its
        // last sequence: an index lookup instead of a count over every row.
        {&reader->journal_size, "SELECT coalesce(max(sequence), 0) FROM journal"},
        {&reader->read_journal,
         "SELECT sequence, source, id, type, received_at, json FROM journal WHERE sequence > ?1 "
         "ORDER BY sequence LIMIT ?2"},
        {&reader->state_blobs, "SELECT blob FROM state WHERE kind = ?1 ORDER BY key"},
        {&reader->find_state_view, "SELECT view_json FROM state WHERE kind = ?1 AND key = ?2"},
        // A customer and its receivables, read row by row in one read transaction: one
        // snapshot, as one commit left them.
        {&reader->begin_read, "BEGIN"},
        {&reader->end_read, "COMMIT"},
        {&reader->state_row, "SELECT blob, customer_id FROM state WHERE kind = ?1 AND key = ?2"},
        // Two statements rather than "(?1 IS NULL OR status = ?1)", which would keep the
        // planner from the (status, id) index.
        {&reader->alerts_all,
         "SELECT id, kind, severity, status, customer_id, json, raised_at, resolved_at "
         "FROM alerts WHERE id > ?1 ORDER BY id LIMIT ?2"},
        {&reader->alerts_by_status,
         "SELECT id, kind, severity, status, customer_id, json, raised_at, resolved_at "
         "FROM alerts WHERE status = ?3 AND id > ?1 ORDER BY id LIMIT ?2"},
        {&reader->source_offsets,
         "SELECT \"partition\", \"offset\" FROM source_offsets WHERE source = ?1 "
         "ORDER BY \"partition\""},
        {&reader->find_outbox,
         "SELECT " RELANCE_SQLITE_OUTBOX_COLUMNS " FROM outbox WHERE id = ?1"},
        {&reader->outbox_all,
         "SELECT " RELANCE_SQLITE_OUTBOX_COLUMNS " FROM outbox WHERE id > ?1 ORDER BY id LIMIT ?2"},
        {&reader->outbox_by_status,
         "SELECT " RELANCE_SQLITE_OUTBOX_COLUMNS
         " FROM outbox WHERE status = ?3 AND id > ?1 ORDER BY id LIMIT ?2"},
        {&reader->outbox_depth, "SELECT status, count(*) FROM outbox GROUP BY status"},
        {&reader->ping, "SELECT 1 FROM journal LIMIT 1"},
    };
    if (auto prepared = prepare_all(reader->db, items); !prepared) return prepared.error();
    return reader;
  }
};

// Between the writer's transactions and the other threads that write: the checkpointer's
// catch-up, the dispatcher's outbox updates, an operator's retry. Such a write waits for the
// writer's transaction in progress to end, and the writer's next one waits for it. Under a
// steady load the writer holds SQLite's write lock nearly all the time, and SQLite's busy
// handler, which polls, let an outbox update starve past busy_timeout ("database is locked").
class WriteGate {
 public:
  void writer_enter() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return others_waiting_ == 0 && !other_in_; });
    writer_in_ = true;
  }
  void writer_exit() {
    {
      std::lock_guard lock(mutex_);
      writer_in_ = false;
      if (others_waiting_ == 0) return;
    }
    changed_.notify_all();
  }

  // Another thread's write, one at a time, between two of the writer's transactions.
  class Turn {
   public:
    explicit Turn(WriteGate& gate) : gate_(gate) {
      std::unique_lock lock(gate_.mutex_);
      ++gate_.others_waiting_;
      gate_.changed_.wait(lock, [&] { return !gate_.writer_in_ && !gate_.other_in_; });
      --gate_.others_waiting_;
      gate_.other_in_ = true;
    }
    ~Turn() {
      {
        std::lock_guard lock(gate_.mutex_);
        gate_.other_in_ = false;
      }
      gate_.changed_.notify_all();
    }
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;

   private:
    WriteGate& gate_;
  };

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool writer_in_ = false;
  int others_waiting_ = 0;
  bool other_in_ = false;
};

// Copies the WAL into the database file off the writer's commit path. The writer's connection
// has no automatic checkpoint; its WAL hook (run after each commit, with the WAL's size) wakes
// this thread once wal_checkpoint_pages frames were committed since the last checkpoint, and the
// thread checkpoints from a connection of its own:
// 1. a PASSIVE checkpoint beside the writer and the readers copies those frames;
// 2. once the WAL holds wal_restart_pages, between two of the writer's transactions, a last one
//    copies the frames committed meanwhile, so that the writer's next transaction finds the WAL
//    fully copied and starts it over (SQLite restarts the WAL only then). The writer waits for
//    that catch-up alone, which copies what its last transaction wrote: doing it at every
//    checkpoint held the writer back a tenth of the time under a steady load.
// A WAL past wal_pages_max (readers kept it from restarting) gets a RESTART checkpoint in step 2,
// which also waits for the readers: the WAL stays bounded.
class Checkpointer {
 public:
  static Result<std::unique_ptr<Checkpointer>> start(const SqliteOptions& options,
                                                     WriteGate& gate) {
    auto db = Connection::open(options.path, Connection::Access::read_write_create,
                               options.busy_timeout_ms);
    if (!db) return db.error();
    if (auto configured = db->exec("PRAGMA synchronous = FULL", "configuring"); !configured) {
      return configured.error();
    }
    std::unique_ptr<Checkpointer> checkpointer(new Checkpointer(options, gate, std::move(*db)));
    checkpointer->thread_ = std::thread([c = checkpointer.get()] { c->run(); });
    return checkpointer;
  }
  ~Checkpointer() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Installs the hook on the writer's connection; this must outlive the hook (detach()).
  void attach(Connection& writer) {
    sqlite3_wal_hook(writer.get(), &Checkpointer::on_commit, this);
  }
  static void detach(Connection& writer) { sqlite3_wal_hook(writer.get(), nullptr, nullptr); }

 private:
  Checkpointer(const SqliteOptions& options, WriteGate& gate, Connection db)
      : options_(options), gate_(gate), db_(std::move(db)) {}

  // On the writer's thread, after each commit: a comparison, and a wake-up only when one is due.
  static int on_commit(void* self, sqlite3*, const char*, int pages) {
    auto* checkpointer = static_cast<Checkpointer*>(self);
    int copied = checkpointer->copied_.load(std::memory_order_relaxed);
    if (copied > pages) copied = 0;  // the WAL restarted since
    if (pages - copied < checkpointer->options_.wal_checkpoint_pages) return SQLITE_OK;
    {
      std::lock_guard lock(checkpointer->mutex_);
      const bool awake = checkpointer->due_pages_ != 0;
      checkpointer->due_pages_ = pages;
      if (awake) return SQLITE_OK;
    }
    checkpointer->wake_.notify_one();
    return SQLITE_OK;
  }

  // SQLITE_BUSY (readers past busy_timeout) and I/O errors leave the WAL as it was: the next
  // commit past the threshold tries again. Nothing is lost either way. Returns the frames left
  // to copy, -1 on failure.
  int checkpoint(int mode) {
    int wal_frames = 0;
    int copied = 0;
    if (sqlite3_wal_checkpoint_v2(db_.get(), nullptr, mode, &wal_frames, &copied) != SQLITE_OK) {
      return -1;
    }
    copied_.store(copied, std::memory_order_relaxed);
    return wal_frames - copied;
  }

  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      wake_.wait(lock, [&] { return stopping_ || due_pages_ != 0; });
      if (stopping_) return;
      const int pages = due_pages_;
      lock.unlock();
      checkpoint(SQLITE_CHECKPOINT_PASSIVE);
      if (pages >= options_.wal_restart_pages) {
        WriteGate::Turn turn(gate_);
        const int left = checkpoint(pages > options_.wal_pages_max ? SQLITE_CHECKPOINT_RESTART
                                                                   : SQLITE_CHECKPOINT_PASSIVE);
        if (left == 0) copied_.store(0, std::memory_order_relaxed);  // the WAL starts over
      }
      lock.lock();
      // Copied, and the WAL restarts with the writer's next transaction when it was due to.
      due_pages_ = 0;
    }
  }

  const SqliteOptions options_;
  WriteGate& gate_;
  Connection db_;
  std::mutex mutex_;
  std::condition_variable wake_;
  int due_pages_ = 0;  // the WAL's size at the last commit over the threshold; 0: nothing due
  std::atomic<int> copied_{0};  // WAL frames the last checkpoint left copied
  bool stopping_ = false;
  std::thread thread_;
};

class SqliteStore;

class SqliteTransaction final : public Transaction {
 public:
  SqliteTransaction(Connection& db, WriterStatements& statements, bool& open, WriteGate& gate,
                    RowsByCustomer& by_customer)
      : db_(db), statements_(statements), open_(open), gate_(gate), by_customer_(by_customer) {}
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
    insert.bind(4, micros(received_at));
    insert.bind(5, event.json);
    if (insert.step() != SQLITE_DONE) return db_.error("appending event " + event.id);
    return sqlite3_changes(db_.get()) == 1 ? AppendOutcome::appended : AppendOutcome::duplicate;
  }

  Result<void> put_state(const StateRow& row) override {
    RELANCE_ASSERT(!finished_);
    // Before the commit, whatever comes of it (KeysByCustomer).
    if (KeysByCustomer* index = by_customer_.of(row.kind)) index->add(row.customer_id, row.key);
    for (Statement* put : {&statements_.put_state, &statements_.move_state}) {
      ResetOnExit reset(*put);
      put->bind(1, std::string_view(kind_text(row.kind)));
      put->bind(2, row.key);
      put->bind(3, row.customer_id);
      put->bind_blob(4, row.blob);
      put->bind(5, row.view_json);
      if (put->step() != SQLITE_DONE) {
        return db_.error(std::string("writing the state of ") + kind_text(row.kind) + " " +
                         row.key);
      }
      if (sqlite3_changes(db_.get()) == 1) return {};  // inserted, or rewritten in place
      // Else: a new owner, or a row that holds this already (which the update leaves alone).
    }
    return {};
  }

  Result<void> raise_alert(const AlertRow& row) override {
    RELANCE_ASSERT(!finished_);
    Statement& raise = statements_.raise_alert;
    ResetOnExit reset(raise);
    raise.bind(1, row.id);
    raise.bind(2, row.kind);
    raise.bind(3, row.severity);
    raise.bind(4, row.customer_id);
    raise.bind(5, row.json);
    raise.bind(6, micros(row.raised_at));
    if (raise.step() != SQLITE_DONE) return db_.error("raising alert " + row.id);
    return {};
  }

  Result<void> resolve_alert(std::string_view id, core::Timestamp at) override {
    RELANCE_ASSERT(!finished_);
    Statement& resolve = statements_.resolve_alert;
    ResetOnExit reset(resolve);
    resolve.bind(1, id);
    resolve.bind(2, micros(at));
    if (resolve.step() != SQLITE_DONE) return db_.error("resolving alert " + std::string(id));
    return {};
  }

  Result<void> put_source_offset(const SourceOffset& offset) override {
    RELANCE_ASSERT(!finished_);
    Statement& put = statements_.put_source_offset;
    ResetOnExit reset(put);
    put.bind(1, offset.source);
    put.bind(2, std::int64_t{offset.partition});
    put.bind(3, offset.offset);
    if (put.step() != SQLITE_DONE) {
      return db_.error("storing the offset of " + offset.source + " partition " +
                       std::to_string(offset.partition));
    }
    return {};
  }

  Result<void> enqueue(const OutboxEntry& entry) override {
    RELANCE_ASSERT(!finished_);
    Statement& enqueue = statements_.enqueue;
    ResetOnExit reset(enqueue);
    const std::string invoice_ids = invoice_ids_json(entry.invoice_ids);
    enqueue.bind(1, entry.idempotency_key);
    enqueue.bind(2, entry.sink);
    enqueue.bind(3, entry.customer_id);
    enqueue.bind(4, invoice_ids);
    enqueue.bind(5, entry.payload);
    enqueue.bind(6, micros(entry.due_at));
    enqueue.bind(7, micros(entry.created_at));
    if (enqueue.step() != SQLITE_DONE) {
      return db_.error("enqueuing action " + entry.idempotency_key);
    }
    return {};
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
    gate_.writer_exit();
  }

  Connection& db_;
  WriterStatements& statements_;
  bool& open_;
  WriteGate& gate_;
  RowsByCustomer& by_customer_;
  bool finished_ = false;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(SqliteOptions options, Connection writer, WriterStatements statements)
      : options_(std::move(options)),
        writer_(std::move(writer)),
        statements_(std::move(statements)) {}
  // Before the first transaction: RowsByCustomer from the stored receivables and records.
  Result<void> index_rows_by_customer() {
    for (const StateKind kind : {StateKind::receivable, StateKind::record}) {
      auto read = Statement::prepare(
          writer_, "SELECT customer_id, key FROM state WHERE kind = ?1 ORDER BY key");
      if (!read) return read.error();
      read->bind(1, std::string_view(kind_text(kind)));
      int rc;
      while ((rc = read->step()) == SQLITE_ROW) {
        by_customer_.of(kind)->add(read->column_text(0), read->column_text(1));
      }
      if (rc != SQLITE_DONE) {
        return writer_.error(std::string("indexing the ") + kind_text(kind) + " rows by customer");
      }
    }
    return {};
  }
  Result<void> start_checkpointer() {
    auto checkpointer = Checkpointer::start(options_, gate_);
    if (!checkpointer) return checkpointer.error();
    checkpointer_ = std::move(*checkpointer);
    checkpointer_->attach(writer_);
    return {};
  }
  ~SqliteStore() override {
    RELANCE_ASSERT(!transaction_open_ && "a transaction outlives its store");
    Checkpointer::detach(writer_);
    checkpointer_.reset();  // before the gate it uses
  }

  Result<std::unique_ptr<Transaction>> begin() override {
    RELANCE_ASSERT(!transaction_open_ && "one transaction at a time");
    Statement& begin = statements_.begin;
    gate_.writer_enter();
    const int rc = begin.step();
    begin.reset();
    if (rc != SQLITE_DONE) {
      gate_.writer_exit();
      return writer_.error("starting a transaction");
    }
    transaction_open_ = true;
    return std::unique_ptr<Transaction>(std::make_unique<SqliteTransaction>(
        writer_, statements_, transaction_open_, gate_, by_customer_));
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
    stored.received_at = timestamp(find.column_int64(2));
    stored.json = find.column_text(3);
    return std::optional<StoredEvent>(std::move(stored));
  }

  Result<std::vector<StoredEvent>> read_journal(std::int64_t after, std::size_t limit) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& read = lease->read_journal;
    ResetOnExit reset(read);
    read.bind(1, after);
    read.bind(2, clamp_limit(limit));
    std::vector<StoredEvent> events;
    int rc;
    while ((rc = read.step()) == SQLITE_ROW) {
      StoredEvent& stored = events.emplace_back();
      stored.sequence = read.column_int64(0);
      stored.source = read.column_text(1);
      stored.id = read.column_text(2);
      stored.type = read.column_text(3);
      stored.received_at = timestamp(read.column_int64(4));
      stored.json = read.column_text(5);
    }
    if (rc != SQLITE_DONE) return lease->db.error("reading the journal");
    return events;
  }

  Result<void> for_each_state(
      StateKind kind, const std::function<Result<void>(std::string_view blob)>& visit) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& read = lease->state_blobs;
    ResetOnExit reset(read);
    read.bind(1, std::string_view(kind_text(kind)));
    int rc;
    while ((rc = read.step()) == SQLITE_ROW) {
      if (auto visited = visit(read.column_blob(0)); !visited) return visited.error();
    }
    if (rc != SQLITE_DONE) {
      return lease->db.error(std::string("reading the ") + kind_text(kind) + " states");
    }
    return {};
  }

  Result<std::optional<std::string>> find_state_view(StateKind kind,
                                                     std::string_view key) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& find = lease->find_state_view;
    ResetOnExit reset(find);
    find.bind(1, std::string_view(kind_text(kind)));
    find.bind(2, key);
    const int rc = find.step();
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    if (rc != SQLITE_ROW) {
      return lease->db.error(std::string("reading ") + kind_text(kind) + " " + std::string(key));
    }
    return std::optional<std::string>(find.column_text(0));
  }

  Result<CustomerState> customer_state(std::string_view customer_id) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    CustomerState state;
    state.customer_id = std::string(customer_id);
    if (auto read = read_customer(*lease, state); !read) {
      return lease->db.error("reading the state of customer " + state.customer_id);
    }
    return state;
  }

  Result<std::optional<CustomerState>> receivable_owner_state(
      std::string_view invoice_id) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    const auto failed = [&] {
      return lease->db.error("reading the state of the owner of receivable " +
                             std::string(invoice_id));
    };
    ReadTransaction snapshot(*lease);
    if (!snapshot.ok()) return failed();
    auto owner = read_state_row(*lease, StateKind::receivable, invoice_id);
    if (!owner) return failed();
    if (!*owner) return std::optional<CustomerState>();
    CustomerState state;
    state.customer_id = std::move((*owner)->customer_id);
    if (!read_customer(*lease, state)) return failed();
    return std::optional<CustomerState>(std::move(state));
  }

  Result<std::vector<AlertRow>> list_alerts(std::optional<AlertStatus> status,
                                            std::string_view after_id, std::size_t limit) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& read = status ? lease->alerts_by_status : lease->alerts_all;
    ResetOnExit reset(read);
    read.bind(1, after_id);
    read.bind(2, clamp_limit(limit));
    if (status) read.bind(3, std::string_view(status_text(*status)));
    std::vector<AlertRow> alerts;
    int rc;
    while ((rc = read.step()) == SQLITE_ROW) {
      AlertRow& row = alerts.emplace_back();
      row.id = read.column_text(0);
      row.kind = read.column_text(1);
      row.severity = read.column_text(2);
      row.status = read.column_text(3) == "open" ? AlertStatus::open : AlertStatus::resolved;
      row.customer_id = read.column_text(4);
      row.json = read.column_text(5);
      row.raised_at = timestamp(read.column_int64(6));
      if (!read.column_is_null(7)) row.resolved_at = timestamp(read.column_int64(7));
    }
    if (rc != SQLITE_DONE) return lease->db.error("reading the alerts");
    return alerts;
  }

  Result<std::vector<SourceOffset>> source_offsets(std::string_view source) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& read = lease->source_offsets;
    ResetOnExit reset(read);
    read.bind(1, source);
    std::vector<SourceOffset> offsets;
    int rc;
    while ((rc = read.step()) == SQLITE_ROW) {
      offsets.push_back(SourceOffset{std::string(source),
                                     static_cast<std::int32_t>(read.column_int64(0)),
                                     read.column_int64(1)});
    }
    if (rc != SQLITE_DONE) return lease->db.error("reading the offsets of " + std::string(source));
    return offsets;
  }

  Result<std::vector<OutboxRow>> claim_outbox(core::Timestamp now, std::size_t limit) override {
    std::lock_guard lock(outbox_mutex_);
    auto outbox = outbox_connection();
    if (!outbox) return outbox.error();
    WriteGate::Turn turn(gate_);
    Statement& claim = (*outbox)->claim;
    ResetOnExit reset(claim);
    claim.bind(1, micros(now));
    claim.bind(2, micros(now));
    claim.bind(3, clamp_limit(limit));
    std::vector<OutboxRow> rows;
    int rc;
    while ((rc = claim.step()) == SQLITE_ROW) {
      auto row = read_outbox_row(claim);
      if (!row) return row.error();
      rows.push_back(std::move(*row));
    }
    if (rc != SQLITE_DONE) return (*outbox)->db.error("claiming due outbox rows");
    // RETURNING gives rows in no promised order.
    std::sort(rows.begin(), rows.end(), [](const OutboxRow& a, const OutboxRow& b) {
      return std::tie(a.next_attempt_at, a.id) < std::tie(b.next_attempt_at, b.id);
    });
    return rows;
  }

  Result<bool> settle_outbox(std::int64_t id, const OutboxSettlement& settlement) override {
    std::lock_guard lock(outbox_mutex_);
    auto outbox = outbox_connection();
    if (!outbox) return outbox.error();
    WriteGate::Turn turn(gate_);
    Statement& settle = (*outbox)->settle;
    ResetOnExit reset(settle);
    settle.bind(1, id);
    settle.bind(2, outbox_status_name(settlement.status));
    settle.bind(3, std::int64_t{settlement.attempted ? 1 : 0});
    if (settlement.next_attempt_at) {
      settle.bind(4, micros(*settlement.next_attempt_at));
    } else {
      settle.bind_null(4);
    }
    settle.bind(5, settlement.last_error);
    settle.bind(6, micros(settlement.at));
    if (settle.step() != SQLITE_DONE) {
      return (*outbox)->db.error("settling outbox row " + std::to_string(id));
    }
    return sqlite3_changes((*outbox)->db.get()) == 1;
  }

  Result<std::int64_t> requeue_outbox_sending(core::Timestamp claimed_before,
                                              core::Timestamp at) override {
    std::lock_guard lock(outbox_mutex_);
    auto outbox = outbox_connection();
    if (!outbox) return outbox.error();
    WriteGate::Turn turn(gate_);
    Statement& requeue = (*outbox)->requeue;
    ResetOnExit reset(requeue);
    requeue.bind(1, micros(claimed_before));
    requeue.bind(2, micros(at));
    if (requeue.step() != SQLITE_DONE) {
      return (*outbox)->db.error("requeuing outbox rows left in sending");
    }
    return std::int64_t{sqlite3_changes((*outbox)->db.get())};
  }

  Result<OutboxRetryOutcome> retry_outbox(std::int64_t id, core::Timestamp at) override {
    std::lock_guard lock(outbox_mutex_);
    auto outbox = outbox_connection();
    if (!outbox) return outbox.error();
    WriteGate::Turn turn(gate_);
    {
      Statement& retry = (*outbox)->retry;
      ResetOnExit reset(retry);
      retry.bind(1, id);
      retry.bind(2, micros(at));
      if (retry.step() != SQLITE_DONE) {
        return (*outbox)->db.error("retrying outbox row " + std::to_string(id));
      }
      if (sqlite3_changes((*outbox)->db.get()) == 1) return OutboxRetryOutcome::retried;
    }
    Statement& exists = (*outbox)->exists;
    ResetOnExit reset(exists);
    exists.bind(1, id);
    const int rc = exists.step();
    if (rc == SQLITE_ROW) return OutboxRetryOutcome::not_dead;
    if (rc == SQLITE_DONE) return OutboxRetryOutcome::unknown;
    return (*outbox)->db.error("reading outbox row " + std::to_string(id));
  }

  Result<std::optional<OutboxRow>> find_outbox(std::int64_t id) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& find = lease->find_outbox;
    ResetOnExit reset(find);
    find.bind(1, id);
    const int rc = find.step();
    if (rc == SQLITE_DONE) return std::optional<OutboxRow>();
    if (rc != SQLITE_ROW) return lease->db.error("reading outbox row " + std::to_string(id));
    auto row = read_outbox_row(find);
    if (!row) return row.error();
    return std::optional<OutboxRow>(std::move(*row));
  }

  Result<std::vector<OutboxRow>> list_outbox(std::optional<OutboxStatus> status,
                                             std::int64_t after_id, std::size_t limit) override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& read = status ? lease->outbox_by_status : lease->outbox_all;
    ResetOnExit reset(read);
    read.bind(1, after_id);
    read.bind(2, clamp_limit(limit));
    if (status) read.bind(3, outbox_status_name(*status));
    std::vector<OutboxRow> rows;
    int rc;
    while ((rc = read.step()) == SQLITE_ROW) {
      auto row = read_outbox_row(read);
      if (!row) return row.error();
      rows.push_back(std::move(*row));
    }
    if (rc != SQLITE_DONE) return lease->db.error("listing the outbox");
    return rows;
  }

  Result<OutboxDepth> outbox_depth() override {
    auto reader = acquire_reader();
    if (!reader) return reader.error();
    Lease lease(*this, std::move(*reader));
    Statement& read = lease->outbox_depth;
    ResetOnExit reset(read);
    OutboxDepth depth;
    int rc;
    while ((rc = read.step()) == SQLITE_ROW) {
      const auto status = parse_outbox_status(read.column_text(0));
      if (status) depth[*status] = read.column_int64(1);
    }
    if (rc != SQLITE_DONE) return lease->db.error("counting the outbox");
    return depth;
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
  // A read transaction on a reader connection: the statements run within it see one snapshot,
  // taken at the first of them.
  class ReadTransaction {
   public:
    explicit ReadTransaction(ReaderConnection& reader) : reader_(reader) {
      if (sqlite3_get_autocommit(reader_.db.get()) == 0) return;  // one is open already
      ok_ = reader_.begin_read.step() == SQLITE_DONE;
      reader_.begin_read.reset();
      owned_ = ok_;
    }
    ~ReadTransaction() {
      if (!owned_) return;
      reader_.end_read.step();
      reader_.end_read.reset();
    }
    ReadTransaction(const ReadTransaction&) = delete;
    ReadTransaction& operator=(const ReadTransaction&) = delete;
    bool ok() const { return ok_; }

   private:
    ReaderConnection& reader_;
    bool ok_ = true;
    bool owned_ = false;
  };

  struct StateRowRead {
    std::string blob;
    std::string customer_id;
  };
  // nullopt when no such row is stored; an error on a SQLite error.
  static Result<std::optional<StateRowRead>> read_state_row(ReaderConnection& reader,
                                                            StateKind kind, std::string_view key) {
    Statement& read = reader.state_row;
    ResetOnExit reset(read);
    read.bind(1, std::string_view(kind_text(kind)));
    read.bind(2, key);
    const int rc = read.step();
    if (rc == SQLITE_DONE) return std::optional<StateRowRead>();
    if (rc != SQLITE_ROW) return Error{"", "reading a state row"};
    return std::optional<StateRowRead>(
        StateRowRead{std::string(read.column_blob(0)), std::string(read.column_text(1))});
  }

  // The customer's row and its receivables' and records' rows into `state`, in one snapshot;
  // false on a SQLite error. The indexes may name rows this snapshot does not hold as the
  // customer's.
  bool read_customer(ReaderConnection& reader, CustomerState& state) {
    ReadTransaction snapshot(reader);
    if (!snapshot.ok()) return false;
    auto customer = read_state_row(reader, StateKind::customer, state.customer_id);
    if (!customer) return false;
    if (*customer) state.customer = std::move((*customer)->blob);
    // After the snapshot's first read: the indexes hold at least what the snapshot does.
    for (const auto& [kind, into] : {std::pair{StateKind::receivable, &state.receivables},
                                     std::pair{StateKind::record, &state.records}}) {
      for (const std::string& key : by_customer_.of(kind)->of(state.customer_id)) {
        auto row = read_state_row(reader, kind, key);
        if (!row) return false;
        if (*row && (*row)->customer_id == state.customer_id) {
          into->push_back(std::move((*row)->blob));
        }
      }
    }
    return true;
  }

  // SQLite's LIMIT is a signed 64-bit integer.
  static std::int64_t clamp_limit(std::size_t limit) {
    return static_cast<std::int64_t>(
        std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
  }

  // Opened at first use: a store that never dispatches keeps one writing connection.
  Result<OutboxConnection*> outbox_connection() {
    if (!outbox_) {
      auto opened = OutboxConnection::open(options_);
      if (!opened) return opened.error();
      outbox_ = std::move(*opened);
    }
    return outbox_.get();
  }

  // A reader connection borrowed from the pool for one call.
  class Lease {
   public:
    Lease(SqliteStore& store, std::unique_ptr<ReaderConnection> reader)
        : store_(store), reader_(std::move(reader)) {}
    ~Lease() { store_.release_reader(std::move(reader_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ReaderConnection* operator->() { return reader_.get(); }
    ReaderConnection& operator*() { return *reader_; }

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
  WriteGate gate_;
  // Write side: only the writer thread touches these.
  Connection writer_;
  WriterStatements statements_;
  bool transaction_open_ = false;
  RowsByCustomer by_customer_;
  // Checkpoints the WAL, woken by the writer's commits.
  std::unique_ptr<Checkpointer> checkpointer_;
  // Outbox side: the dispatcher's and the operators' updates, one at a time.
  std::mutex outbox_mutex_;
  std::unique_ptr<OutboxConnection> outbox_;
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
  static std::once_flag sqlite_configured;
  std::call_once(sqlite_configured, configure_sqlite_process);
  // Its WAL writes gathered into large blocks (store/sqlite/wal_buffer.hpp).
  auto writer = sqlite::open_buffered_writer(options.path, options.busy_timeout_ms);
  if (!writer) return writer.error();

  auto mode = writer->query_int("SELECT 0", "opening");  // fails early on a file that is not SQLite
  if (!mode) return mode.error();
  // Before WAL mode, which fixes the page size of a new database; no effect on an existing one.
  if (auto sized =
          writer->exec("PRAGMA page_size = " + std::to_string(page_bytes), "setting the page size");
      !sized) {
    return sized.error();
  }
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
  if (options.wal_checkpoint_pages < 1 ||
      options.wal_restart_pages < options.wal_checkpoint_pages ||
      options.wal_pages_max < options.wal_restart_pages) {
    return Error{"wal_pages_max",
                 "wal_checkpoint_pages must be at least 1, wal_restart_pages at least "
                 "wal_checkpoint_pages and wal_pages_max at least wal_restart_pages"};
  }
  // wal_autocheckpoint = 0: the Checkpointer does it, off the commit path.
  const std::string pragmas =
      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA wal_autocheckpoint = 0; "
      "PRAGMA journal_size_limit = " +
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
  auto store = std::make_unique<SqliteStore>(options, std::move(*writer), std::move(*statements));
  if (auto indexed = store->index_rows_by_customer(); !indexed) return indexed.error();
  if (auto started = store->start_checkpointer(); !started) return started.error();
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace relance::store
