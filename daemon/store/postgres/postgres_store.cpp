#include "store/postgres/postgres_store.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "store/migrations.hpp"
#include "store/outbox_json.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/migrate.hpp"

namespace relance::store {

namespace {

using postgres::Connection;
using postgres::ConnectOptions;
using postgres::Param;
using postgres::PgResult;
using postgres::ResultFormat;
using postgres::StatementSpec;

// Deferred statements (state, alerts, offsets) are sent at the latest when this many wait, so
// that a huge transaction does not hold them all in memory.
constexpr std::size_t pending_statements_max = 4096;
// State rows are sent as one statement at commit, or earlier once they hold this many bytes.
constexpr std::size_t pending_state_bytes_max = 32 << 20;

// Exact both ways for any date before the year 2255: interval * bigint multiplies a whole
// number of microseconds below 2^53, and extract(epoch) is numeric from PostgreSQL 14 on.
#define RELANCE_PG_FROM_US(p) "timestamptz 'epoch' + " p "::bigint * interval '1 microsecond'"
#define RELANCE_PG_TO_US(c) "(extract(epoch FROM " c ") * 1000000)::bigint"

constexpr int server_version_min = 140000;

// Writer statements, prepared on the writer connection.
constexpr const char* begin_name = "relance_begin";
constexpr const char* commit_name = "relance_commit";
constexpr const char* lock_journal_name = "relance_lock_journal";
constexpr const char* append_name = "relance_append";
constexpr const char* put_state_name = "relance_put_state";
constexpr const char* raise_alert_name = "relance_raise_alert";
constexpr const char* resolve_alert_name = "relance_resolve_alert";
constexpr const char* put_source_offset_name = "relance_put_source_offset";
constexpr const char* enqueue_name = "relance_enqueue";

const StatementSpec writer_statements[] = {
    {begin_name, "BEGIN"},
    {commit_name, "COMMIT"},
    // Taken right after BEGIN and held until commit: writers of other daemons wait, readers do
    // not. First thing in the transaction, so that a writer never holds rows another one needs
    // while it waits for the lock (no deadlock), and every statement after it sees the journal
    // rows committed before (READ COMMITTED takes a snapshot per statement).
    {lock_journal_name, "LOCK TABLE journal IN EXCLUSIVE MODE"},
    // A batch of events in one statement, each (source, id) once (the caller drops copies
    // within the batch). An event not in the journal yet is numbered max + 1, + 2... in batch
    // order; the answer names the events appended, every other one is a duplicate. No ON CONFLICT:
    // under the journal lock no other writer can add a key between the check and the insert, and
    // a speculative insertion costs a third more per row.
    // The columns come as binary arrays, one per column: no text to escape or parse.
    {append_name,
     "INSERT INTO journal (sequence, source, id, type, received_at, json) "
     "SELECT (SELECT coalesce(max(sequence), 0) FROM journal) + row_number() OVER (ORDER BY "
     "b.ord), "
     "b.source, b.id, b.type, " RELANCE_PG_FROM_US(
         "$5") ", b.json "
               "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
               "WITH ORDINALITY AS b(source, id, type, json, ord) "
               "WHERE NOT EXISTS (SELECT 1 FROM journal j WHERE j.source = b.source AND j.id = "
               "b.id) "
               "RETURNING source, id"},
    // Every state row of a transaction in one statement (each (kind, key) once: ON CONFLICT DO
    // UPDATE may not touch a row twice), instead of one statement per row: the server's cost per
    // statement was most of the cost per row. A row rewritten as it was is left alone: no new
    // row version, index entries or WAL for it (the writer rewrites every row it touched).
    {put_state_name,
     "INSERT INTO state (kind, key, customer_id, blob, view_json) "
     "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[]) "
     "ON CONFLICT (kind, key) DO UPDATE SET customer_id = excluded.customer_id, "
     "blob = excluded.blob, view_json = excluded.view_json "
     "WHERE (state.customer_id, state.blob, state.view_json) IS DISTINCT FROM "
     "(excluded.customer_id, excluded.blob, excluded.view_json)"},
    // An open alert raised again keeps the time it was first raised; a resolved one opens
    // again from now.
    {raise_alert_name,
     "INSERT INTO alerts (id, kind, severity, status, customer_id, json, raised_at, resolved_at) "
     "VALUES ($1, $2, $3, 'open', $4, $5, " RELANCE_PG_FROM_US(
         "$6") ", NULL) "
               "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, severity = excluded.severity, "
               "customer_id = excluded.customer_id, json = excluded.json, "
               "raised_at = CASE WHEN alerts.status = 'open' THEN alerts.raised_at "
               "ELSE excluded.raised_at END, status = 'open', resolved_at = NULL"},
    {resolve_alert_name, "UPDATE alerts SET status = 'resolved', resolved_at = " RELANCE_PG_FROM_US(
                             "$2") " "
                                   "WHERE id = $1 AND status = 'open'"},
    {put_source_offset_name,
     "INSERT INTO source_offsets (source, \"partition\", \"offset\") VALUES ($1, $2, $3) "
     "ON CONFLICT (source, \"partition\") DO UPDATE SET \"offset\" = excluded.\"offset\""},
    {enqueue_name,
     "INSERT INTO outbox (idempotency_key, sink, customer_id, invoice_ids, payload, due_at, "
     "status, attempts, next_attempt_at, last_error, created_at, updated_at) "
     "VALUES ($1, $2, $3, $4, $5, " RELANCE_PG_FROM_US("$6") ", 'pending', 0, " RELANCE_PG_FROM_US(
         "$6") ", '', " RELANCE_PG_FROM_US("$7") ", " RELANCE_PG_FROM_US("$7") ") "
                                                                               "ON CONFLICT "
                                                                               "(idempotency_key) "
                                                                               "DO "
                                                                               "NOTHING"},
};

// The writer's session. Custom plans, always: a generic plan is kept for the connection's life
// and one made while the journal was small probes it with a hash join over the whole table,
// which grows with every event (6 ms per single-event append after 20,000 events), while the
// default switches to the generic plan after five executions because its 10-row guess of the
// arrays looks cheaper. Planning with the actual arrays is cheap now that they come in binary.
// work_mem: the journal's numbering sorts a batch of events, which must not spill to a
// temporary file.
constexpr const char* writer_settings =
    "SET plan_cache_mode = force_custom_plan; SET work_mem = '64MB'";

// Reader statements, prepared on each reader connection.
constexpr const char* ping_name = "relance_ping";
constexpr const char* find_event_name = "relance_find_event";
constexpr const char* journal_size_name = "relance_journal_size";
constexpr const char* read_journal_name = "relance_read_journal";
constexpr const char* state_blobs_name = "relance_state_blobs";
constexpr const char* find_state_view_name = "relance_find_state_view";
constexpr const char* customer_state_name = "relance_customer_state";
constexpr const char* receivable_owner_state_name = "relance_receivable_owner_state";
constexpr const char* alerts_name = "relance_alerts";
constexpr const char* alerts_by_status_name = "relance_alerts_by_status";
constexpr const char* source_offsets_name = "relance_source_offsets";
constexpr const char* claim_outbox_name = "relance_claim_outbox";
constexpr const char* settle_outbox_name = "relance_settle_outbox";
constexpr const char* requeue_outbox_name = "relance_requeue_outbox";
constexpr const char* retry_outbox_name = "relance_retry_outbox";
constexpr const char* find_outbox_name = "relance_find_outbox";
constexpr const char* outbox_all_name = "relance_outbox_all";
constexpr const char* outbox_by_status_name = "relance_outbox_by_status";
constexpr const char* outbox_depth_name = "relance_outbox_depth";

// The outbox row as every query returns it; outbox_row() decodes it.
#define RELANCE_PG_OUTBOX_COLUMNS \
  "id, idempotency_key, sink, customer_id, invoice_ids, payload, " RELANCE_PG_TO_US( \
      "due_at") ", status, attempts, " RELANCE_PG_TO_US("next_attempt_at") ", "      \
                "last_error, " RELANCE_PG_TO_US("created_at") ", " RELANCE_PG_TO_US("updated_at")

#define RELANCE_PG_ALERT_COLUMNS                                      \
  "id, kind, severity, status, customer_id, json, " RELANCE_PG_TO_US( \
      "raised_at") ", " RELANCE_PG_TO_US("resolved_at")

const StatementSpec reader_statements[] = {
    {ping_name, "SELECT 1"},
    {find_event_name,
     "SELECT sequence, type, " RELANCE_PG_TO_US("received_at") ", json FROM journal "
                                                               "WHERE source = $1 AND id = $2"},
    // Gap-free from 1, so the size is the last sequence: an index lookup, not a count.
    {journal_size_name, "SELECT coalesce(max(sequence), 0) FROM journal"},
    {read_journal_name, "SELECT sequence, source, id, type, " RELANCE_PG_TO_US(
                            "received_at") ", json FROM journal "
                                           "WHERE sequence > $1 ORDER BY sequence LIMIT $2"},
    {state_blobs_name, "SELECT blob FROM state WHERE kind = $1 ORDER BY key"},
    {find_state_view_name, "SELECT view_json FROM state WHERE kind = $1 AND key = $2"},
    // A customer's own row has its id as customer_id. One statement, one snapshot: the customer,
    // its receivables and its records as one commit left them.
    {customer_state_name,
     "SELECT kind, blob FROM state WHERE kind IN ('customer', 'receivable', 'record') "
     "AND customer_id = $1 ORDER BY kind, key"},
    {receivable_owner_state_name,
     "SELECT s.kind, s.blob, s.customer_id FROM state s JOIN (SELECT customer_id FROM state "
     "WHERE kind = 'receivable' AND key = $1) o ON s.customer_id = o.customer_id "
     "WHERE s.kind IN ('customer', 'receivable', 'record') ORDER BY s.kind, s.key"},
    {alerts_name,
     "SELECT " RELANCE_PG_ALERT_COLUMNS " FROM alerts WHERE id > $1 ORDER BY id LIMIT $2"},
    {alerts_by_status_name, "SELECT " RELANCE_PG_ALERT_COLUMNS
                            " FROM alerts WHERE status = $3 AND id > $1 ORDER BY id LIMIT $2"},
    {source_offsets_name,
     "SELECT \"partition\", \"offset\" FROM source_offsets WHERE source = $1 "
     "ORDER BY \"partition\""},
    // The outbox's updates run on reader connections, each its own transaction. SKIP LOCKED:
    // dispatchers of several daemons claim different rows instead of waiting for each other.
    {claim_outbox_name,
     "UPDATE outbox SET status = 'sending', updated_at = " RELANCE_PG_FROM_US(
         "$1") " WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at "
               "<= " RELANCE_PG_FROM_US("$1") " ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE "
                                              "SKIP LOCKED) RETURNING " RELANCE_PG_OUTBOX_COLUMNS},
    {settle_outbox_name,
     "UPDATE outbox SET status = $2, attempts = attempts + $3::integer, next_attempt_at = "
     "coalesce(" RELANCE_PG_FROM_US("$4") ", next_attempt_at), last_error = $5, "
                                          "updated_at = " RELANCE_PG_FROM_US(
                                              "$6") " WHERE id = $1 AND status = 'sending'"},
    {requeue_outbox_name,
     "UPDATE outbox SET status = 'pending', next_attempt_at = " RELANCE_PG_FROM_US(
         "$2") ", updated_at = " RELANCE_PG_FROM_US("$2") " WHERE status = 'sending' AND "
                                                          "updated_at <= " RELANCE_PG_FROM_US(
                                                              "$1")},
    // Answers the row's status before the update (none: unknown id).
    {retry_outbox_name,
     "WITH old AS (SELECT id, status FROM outbox WHERE id = $1 FOR UPDATE), "
     "done AS (UPDATE outbox o SET status = 'pending', attempts = 0, next_attempt_at "
     "= " RELANCE_PG_FROM_US("$2") ", updated_at = " RELANCE_PG_FROM_US(
         "$2") " FROM old WHERE o.id = old.id AND "
               "old.status = 'dead' RETURNING o.id) "
               "SELECT status FROM old"},
    {find_outbox_name, "SELECT " RELANCE_PG_OUTBOX_COLUMNS " FROM outbox WHERE id = $1"},
    {outbox_all_name,
     "SELECT " RELANCE_PG_OUTBOX_COLUMNS " FROM outbox WHERE id > $1 ORDER BY id LIMIT $2"},
    {outbox_by_status_name, "SELECT " RELANCE_PG_OUTBOX_COLUMNS
                            " FROM outbox WHERE status = $3 AND id > $1 ORDER BY id LIMIT $2"},
    {outbox_depth_name, "SELECT status, count(*) FROM outbox GROUP BY status"},
};

const char* kind_name(StateKind kind) { return state_kind_name(kind); }

const char* status_name(AlertStatus status) {
  return status == AlertStatus::open ? "open" : "resolved";
}

std::int64_t micros(core::Timestamp at) { return at.time_since_epoch().count(); }

core::Timestamp timestamp(std::int64_t us) {
  return core::Timestamp(std::chrono::microseconds(us));
}

std::string text_at(const PGresult* result, int row, int column) {
  return std::string(PQgetvalue(result, row, column),
                     static_cast<std::size_t>(PQgetlength(result, row, column)));
}

Result<std::vector<OutboxRow>> outbox_rows(const PGresult* rows) {
  std::vector<OutboxRow> decoded;
  decoded.reserve(static_cast<std::size_t>(PQntuples(rows)));
  for (int row = 0; row < PQntuples(rows); ++row) {
    OutboxRow entry;
    entry.id = postgres::get_int64(rows, row, 0);
    entry.idempotency_key = text_at(rows, row, 1);
    entry.sink = text_at(rows, row, 2);
    entry.customer_id = text_at(rows, row, 3);
    auto ids = parse_invoice_ids(text_at(rows, row, 4));
    if (!ids) return ids.error();
    entry.invoice_ids = std::move(*ids);
    entry.payload = text_at(rows, row, 5);
    entry.due_at = timestamp(postgres::get_int64(rows, row, 6));
    const auto status = parse_outbox_status(text_at(rows, row, 7));
    if (!status) return Error{"outbox.status", "unknown status " + text_at(rows, row, 7)};
    entry.status = *status;
    entry.attempts = static_cast<std::int32_t>(postgres::get_int64(rows, row, 8));
    entry.next_attempt_at = timestamp(postgres::get_int64(rows, row, 9));
    entry.last_error = text_at(rows, row, 10);
    entry.created_at = timestamp(postgres::get_int64(rows, row, 11));
    entry.updated_at = timestamp(postgres::get_int64(rows, row, 12));
    decoded.push_back(std::move(entry));
  }
  return decoded;
}

ConnectOptions connect_options(const PostgresOptions& options) {
  return {options.url, options.connect_timeout, options.statement_timeout};
}

class PostgresStoreImpl;

class PostgresTransactionImpl final : public Transaction {
 public:
  PostgresTransactionImpl(PostgresStoreImpl& store, Connection& db) : store_(store), db_(db) {}
  ~PostgresTransactionImpl() override;
  PostgresTransactionImpl(const PostgresTransactionImpl&) = delete;
  PostgresTransactionImpl& operator=(const PostgresTransactionImpl&) = delete;

  Result<AppendOutcome> append(const core::Event& event, core::Timestamp received_at) override {
    auto outcomes = append_batch(std::span<const core::Event>(&event, 1), received_at);
    if (!outcomes) return outcomes.error();
    return outcomes->front();
  }

  Result<std::vector<AppendOutcome>> append_batch(std::span<const core::Event> events,
                                                  core::Timestamp received_at) override {
    if (auto usable = usable_(); !usable) return usable.error();
    std::vector<AppendOutcome> outcomes(events.size(), AppendOutcome::duplicate);
    if (events.empty()) return outcomes;
    // The first copy of each (source, id) in the batch is a candidate; the others are
    // duplicates whatever the journal holds.
    std::unordered_map<std::string, std::size_t> candidates;
    candidates.reserve(events.size());
    postgres::BinaryArray sources(postgres::BinaryArray::Element::text);
    postgres::BinaryArray ids(postgres::BinaryArray::Element::text);
    postgres::BinaryArray types(postgres::BinaryArray::Element::text);
    postgres::BinaryArray jsons(postgres::BinaryArray::Element::text);
    for (std::size_t i = 0; i < events.size(); ++i) {
      const core::Event& event = events[i];
      if (!candidates.emplace(event_key(event.source, event.id), i).second) continue;
      sources.add(std::string_view(event.source));
      ids.add(std::string_view(event.id));
      types.add(std::string_view(core::event_type_name(event.type)));
      jsons.add(std::string_view(event.json));
    }
    std::vector<Param> params;
    params.reserve(5);
    params.push_back(sources.take());
    params.push_back(ids.take());
    params.push_back(types.take());
    params.push_back(jsons.take());
    params.push_back(Param::integer(micros(received_at)));
    pending_.push_back(
        {append_name, std::move(params), "appending " + std::to_string(events.size()) + " events"});
    auto results = flush();
    if (!results) return results.error();
    const PGresult* appended = results->back().get();
    for (int row = 0; row < PQntuples(appended); ++row) {
      const auto found =
          candidates.find(event_key(text_at(appended, row, 0), text_at(appended, row, 1)));
      RELANCE_ASSERT(found != candidates.end());
      outcomes[found->second] = AppendOutcome::appended;
    }
    return outcomes;
  }

  // Kept until commit (or until enough wait) and sent as one statement; a later row of the same
  // kind and key replaces the earlier one, as the later statement would have.
  Result<void> put_state(const StateRow& row) override {
    if (auto usable = usable_(); !usable) return usable.error();
    std::string key = std::string(kind_name(row.kind)) + '\0' + row.key;
    const auto [found, inserted] = state_index_.try_emplace(std::move(key), state_rows_.size());
    if (inserted) {
      state_rows_.push_back(row);
    } else {
      state_bytes_ -= state_row_bytes(state_rows_[found->second]);
      state_rows_[found->second] = row;
    }
    state_bytes_ += state_row_bytes(row);
    if (state_bytes_ >= pending_state_bytes_max) return defer_state();
    return {};
  }

  Result<void> raise_alert(const AlertRow& row) override {
    return defer({raise_alert_name,
                  {Param::text(row.id), Param::text(row.kind), Param::text(row.severity),
                   Param::text(row.customer_id), Param::text(row.json),
                   Param::integer(micros(row.raised_at))},
                  "raising alert " + row.id});
  }

  Result<void> resolve_alert(std::string_view id, core::Timestamp at) override {
    return defer({resolve_alert_name,
                  {Param::text(id), Param::integer(micros(at))},
                  "resolving alert " + std::string(id)});
  }

  Result<void> put_source_offset(const SourceOffset& offset) override {
    return defer({put_source_offset_name,
                  {Param::text(offset.source), Param::integer(offset.partition),
                   Param::integer(offset.offset)},
                  "storing the offset of " + offset.source + " partition " +
                      std::to_string(offset.partition)});
  }

  Result<void> enqueue(const OutboxEntry& entry) override {
    return defer({enqueue_name,
                  {Param::text(entry.idempotency_key), Param::text(entry.sink),
                   Param::text(entry.customer_id), Param::text(invoice_ids_json(entry.invoice_ids)),
                   Param::text(entry.payload), Param::integer(micros(entry.due_at)),
                   Param::integer(micros(entry.created_at))},
                  "enqueuing action " + entry.idempotency_key});
  }

  Result<void> commit() override {
    if (auto usable = usable_(); !usable) return usable.error();
    if (auto state = defer_state(); !state) return state;
    pending_.push_back({commit_name, {}, "committing"});
    auto results = flush();
    if (!results) return results.error();
    // COMMIT of a transaction the server had already aborted answers ROLLBACK, not an error.
    const char* tag = PQcmdStatus(results->back().get());
    if (std::strcmp(tag, "COMMIT") != 0) {
      failed_ = true;
      return Error{"", db_.describe() + ": the transaction was rolled back (" + tag +
                           ") instead of committed"};
    }
    committed_ = true;
    finish();
    return {};
  }

 private:
  Result<void> usable_() {
    RELANCE_ASSERT(!finished_);
    if (failed_) {
      return Error{"", db_.describe() +
                           ": an earlier statement of this transaction failed; it can only be "
                           "rolled back"};
    }
    return {};
  }

  Result<void> defer(Connection::Pipelined statement) {
    if (auto usable = usable_(); !usable) return usable.error();
    pending_.push_back(std::move(statement));
    if (pending_.size() >= pending_statements_max) {
      auto sent = flush();
      if (!sent) return sent.error();
    }
    return {};
  }

  static std::string event_key(std::string_view source, std::string_view id) {
    std::string key;
    key.reserve(source.size() + id.size() + 1);
    key.append(source).append(1, '\0').append(id);
    return key;
  }

  static std::size_t state_row_bytes(const StateRow& row) {
    return row.key.size() + row.customer_id.size() + row.blob.size() + row.view_json.size() + 64;
  }

  // The state rows kept so far become one statement of the pipeline.
  Result<void> defer_state() {
    if (state_rows_.empty()) return {};
    using postgres::BinaryArray;
    BinaryArray kinds(BinaryArray::Element::text), keys(BinaryArray::Element::text),
        customers(BinaryArray::Element::text), blobs(BinaryArray::Element::bytea),
        views(BinaryArray::Element::text);
    for (const StateRow& row : state_rows_) {
      kinds.add(std::string_view(kind_name(row.kind)));
      keys.add(std::string_view(row.key));
      customers.add(std::string_view(row.customer_id));
      blobs.add(std::string_view(row.blob));
      views.add(std::string_view(row.view_json));
    }
    std::string doing = "writing " + std::to_string(state_rows_.size()) + " state rows (" +
                        state_rows_.front().key + (state_rows_.size() > 1 ? "..." : "") + ")";
    std::vector<Param> params;
    params.reserve(5);
    for (BinaryArray* array : {&kinds, &keys, &customers, &blobs, &views}) {
      params.push_back(array->take());
    }
    state_rows_.clear();
    state_index_.clear();
    state_bytes_ = 0;
    return defer({put_state_name, std::move(params), std::move(doing)});
  }

  // Sends what waits, in one pipeline; a failure fails the transaction.
  Result<std::vector<PgResult>> flush() {
    auto results = db_.exec_pipeline(pending_);
    pending_.clear();
    if (!results) failed_ = true;
    return results;
  }

  void finish();

  PostgresStoreImpl& store_;
  Connection& db_;
  std::vector<Connection::Pipelined> pending_;
  // put_state rows not yet turned into a statement, each (kind, key) once.
  std::vector<StateRow> state_rows_;
  std::unordered_map<std::string, std::size_t> state_index_;  // kind \0 key -> state_rows_
  std::size_t state_bytes_ = 0;
  bool failed_ = false;
  bool finished_ = false;
  bool committed_ = false;
  // From begin() (BEGIN sent) to COMMIT answered: relance_postgres_transaction_seconds.
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

class PostgresStoreImpl final : public Store {
 public:
  PostgresStoreImpl(PostgresOptions options, Connection writer)
      : options_(std::move(options)), description_(writer.describe()), writer_(std::move(writer)) {
    if (options_.metrics != nullptr) {
      transaction_seconds_ = &options_.metrics->histogram(
          "relance_postgres_transaction_seconds",
          "PostgreSQL writer transactions, from BEGIN to COMMIT answered (committed ones).",
          {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
    }
  }
  ~PostgresStoreImpl() override {
    RELANCE_ASSERT(!transaction_open_ && "a transaction outlives its store");
  }

  Result<std::unique_ptr<Transaction>> begin() override {
    RELANCE_ASSERT(!transaction_open_ && "one transaction at a time");
    // BEGIN and the journal lock are one round trip, which also tells a dead connection (a
    // server restart since the last batch) before any work is done, when opening a new one and
    // retrying is still harmless.
    Result<void> begun = start_transaction();
    if (!begun && writer_.broken()) {
      auto reopened = Connection::open(connect_options(options_), writer_statements);
      if (!reopened) return reopened.error();
      if (auto set = reopened->exec(writer_settings, "configuring the writer session"); !set) {
        return set.error();
      }
      writer_ = std::move(*reopened);
      begun = start_transaction();
    }
    if (!begun) return begun.error();
    transaction_open_ = true;
    return std::unique_ptr<Transaction>(std::make_unique<PostgresTransactionImpl>(*this, writer_));
  }

  Result<std::optional<StoredEvent>> find_event(std::string_view source,
                                                std::string_view id) override {
    const Param params[] = {Param::text(source), Param::text(id)};
    return read<std::optional<StoredEvent>>(
        find_event_name, params, "reading the journal",
        [&](const PGresult* rows) -> Result<std::optional<StoredEvent>> {
          if (PQntuples(rows) == 0) return std::optional<StoredEvent>();
          StoredEvent stored;
          stored.sequence = postgres::get_int64(rows, 0, 0);
          stored.source = std::string(source);
          stored.id = std::string(id);
          stored.type = text_at(rows, 0, 1);
          stored.received_at = timestamp(postgres::get_int64(rows, 0, 2));
          stored.json = text_at(rows, 0, 3);
          return std::optional<StoredEvent>(std::move(stored));
        });
  }

  Result<std::int64_t> journal_size() override {
    return read<std::int64_t>(journal_size_name, {}, "counting the journal",
                              [](const PGresult* rows) -> Result<std::int64_t> {
                                return postgres::get_int64(rows, 0, 0);
                              });
  }

  Result<std::vector<StoredEvent>> read_journal(std::int64_t after, std::size_t limit) override {
    const Param params[] = {Param::integer(after),
                            Param::integer(static_cast<std::int64_t>(limit))};
    return read<std::vector<StoredEvent>>(
        read_journal_name, params, "reading the journal",
        [](const PGresult* rows) -> Result<std::vector<StoredEvent>> {
          std::vector<StoredEvent> events;
          events.reserve(static_cast<std::size_t>(PQntuples(rows)));
          for (int row = 0; row < PQntuples(rows); ++row) {
            StoredEvent stored;
            stored.sequence = postgres::get_int64(rows, row, 0);
            stored.source = text_at(rows, row, 1);
            stored.id = text_at(rows, row, 2);
            stored.type = text_at(rows, row, 3);
            stored.received_at = timestamp(postgres::get_int64(rows, row, 4));
            stored.json = text_at(rows, row, 5);
            events.push_back(std::move(stored));
          }
          return events;
        });
  }

  Result<void> for_each_state(
      StateKind kind, const std::function<Result<void>(std::string_view blob)>& visit) override {
    auto lease = acquire_reader();
    if (!lease) return lease.error();
    bool visited_any = false;
    Result<void> outcome = stream_state(*lease->connection, kind, visit, visited_any);
    if (!outcome && lease->connection->broken() && !visited_any) {
      if (auto reopened = reopen(*lease); !reopened) return reopened.error();
      outcome = stream_state(*lease->connection, kind, visit, visited_any);
    }
    // A visitor that stopped early leaves rows unread on the connection: do not reuse it.
    if (!outcome) lease->discard = true;
    return outcome;
  }

  Result<std::optional<std::string>> find_state_view(StateKind kind,
                                                     std::string_view key) override {
    const Param params[] = {Param::text(kind_name(kind)), Param::text(key)};
    return read<std::optional<std::string>>(
        find_state_view_name, params, "reading a state view",
        [](const PGresult* rows) -> Result<std::optional<std::string>> {
          if (PQntuples(rows) == 0) return std::optional<std::string>();
          return std::optional<std::string>(text_at(rows, 0, 0));
        });
  }

  Result<CustomerState> customer_state(std::string_view customer_id) override {
    const Param params[] = {Param::text(customer_id)};
    return read_binary<CustomerState>(customer_state_name, params, "reading a customer's state",
                                      [&](const PGresult* rows) -> Result<CustomerState> {
                                        CustomerState state;
                                        state.customer_id = std::string(customer_id);
                                        customer_rows(rows, state);
                                        return state;
                                      });
  }

  Result<std::optional<CustomerState>> receivable_owner_state(
      std::string_view invoice_id) override {
    const Param params[] = {Param::text(invoice_id)};
    return read_binary<std::optional<CustomerState>>(
        receivable_owner_state_name, params, "reading the state of a receivable's customer",
        [](const PGresult* rows) -> Result<std::optional<CustomerState>> {
          if (PQntuples(rows) == 0) return std::optional<CustomerState>();
          CustomerState state;
          state.customer_id = text_at(rows, 0, 2);
          customer_rows(rows, state);
          return std::optional<CustomerState>(std::move(state));
        });
  }

  Result<std::vector<AlertRow>> list_alerts(std::optional<AlertStatus> status,
                                            std::string_view after_id, std::size_t limit) override {
    std::vector<Param> params = {Param::text(after_id),
                                 Param::integer(static_cast<std::int64_t>(limit))};
    if (status) params.push_back(Param::text(status_name(*status)));
    return read<std::vector<AlertRow>>(
        status ? alerts_by_status_name : alerts_name, params, "listing alerts",
        [](const PGresult* rows) -> Result<std::vector<AlertRow>> {
          std::vector<AlertRow> alerts;
          alerts.reserve(static_cast<std::size_t>(PQntuples(rows)));
          for (int row = 0; row < PQntuples(rows); ++row) {
            AlertRow alert;
            alert.id = text_at(rows, row, 0);
            alert.kind = text_at(rows, row, 1);
            alert.severity = text_at(rows, row, 2);
            alert.status =
                text_at(rows, row, 3) == "open" ? AlertStatus::open : AlertStatus::resolved;
            alert.customer_id = text_at(rows, row, 4);
            alert.json = text_at(rows, row, 5);
            alert.raised_at = timestamp(postgres::get_int64(rows, row, 6));
            if (!PQgetisnull(rows, row, 7)) {
              alert.resolved_at = timestamp(postgres::get_int64(rows, row, 7));
            }
            alerts.push_back(std::move(alert));
          }
          return alerts;
        });
  }

  Result<std::vector<SourceOffset>> source_offsets(std::string_view source) override {
    const Param params[] = {Param::text(source)};
    return read<std::vector<SourceOffset>>(
        source_offsets_name, params, "reading source offsets",
        [&](const PGresult* rows) -> Result<std::vector<SourceOffset>> {
          std::vector<SourceOffset> offsets;
          for (int row = 0; row < PQntuples(rows); ++row) {
            offsets.push_back({std::string(source),
                               static_cast<std::int32_t>(postgres::get_int64(rows, row, 0)),
                               postgres::get_int64(rows, row, 1)});
          }
          return offsets;
        });
  }

  // Not retried on a broken connection: an update may have been applied before the break.
  Result<std::vector<OutboxRow>> claim_outbox(core::Timestamp now, std::size_t limit) override {
    const Param params[] = {Param::integer(micros(now)),
                            Param::integer(static_cast<std::int64_t>(limit))};
    auto rows = write<std::vector<OutboxRow>>(claim_outbox_name, params, "claiming outbox rows",
                                              outbox_rows);
    if (!rows) return rows.error();
    // RETURNING gives rows in no promised order.
    std::sort(rows->begin(), rows->end(), [](const OutboxRow& a, const OutboxRow& b) {
      return std::tie(a.next_attempt_at, a.id) < std::tie(b.next_attempt_at, b.id);
    });
    return rows;
  }

  Result<bool> settle_outbox(std::int64_t id, const OutboxSettlement& settlement) override {
    const Param params[] = {Param::integer(id),
                            Param::text(outbox_status_name(settlement.status)),
                            Param::integer(settlement.attempted ? 1 : 0),
                            settlement.next_attempt_at
                                ? Param::integer(micros(*settlement.next_attempt_at))
                                : Param::null_value(),
                            Param::text(settlement.last_error),
                            Param::integer(micros(settlement.at))};
    return write<bool>(settle_outbox_name, params, "settling outbox row " + std::to_string(id),
                       [](const PGresult* rows) -> Result<bool> {
                         return std::strcmp(PQcmdTuples(const_cast<PGresult*>(rows)), "1") == 0;
                       });
  }

  Result<std::int64_t> requeue_outbox_sending(core::Timestamp claimed_before,
                                              core::Timestamp at) override {
    const Param params[] = {Param::integer(micros(claimed_before)), Param::integer(micros(at))};
    return write<std::int64_t>(
        requeue_outbox_name, params, "requeuing outbox rows left in sending",
        [](const PGresult* rows) -> Result<std::int64_t> {
          return std::int64_t{std::strtoll(PQcmdTuples(const_cast<PGresult*>(rows)), nullptr, 10)};
        });
  }

  Result<OutboxRetryOutcome> retry_outbox(std::int64_t id, core::Timestamp at) override {
    const Param params[] = {Param::integer(id), Param::integer(micros(at))};
    return write<OutboxRetryOutcome>(
        retry_outbox_name, params, "retrying outbox row " + std::to_string(id),
        [](const PGresult* rows) -> Result<OutboxRetryOutcome> {
          if (PQntuples(rows) == 0) return OutboxRetryOutcome::unknown;
          return text_at(rows, 0, 0) == "dead" ? OutboxRetryOutcome::retried
                                               : OutboxRetryOutcome::not_dead;
        });
  }

  Result<std::optional<OutboxRow>> find_outbox(std::int64_t id) override {
    const Param params[] = {Param::integer(id)};
    return read<std::optional<OutboxRow>>(
        find_outbox_name, params, "reading an outbox row",
        [](const PGresult* rows) -> Result<std::optional<OutboxRow>> {
          auto decoded = outbox_rows(rows);
          if (!decoded) return decoded.error();
          if (decoded->empty()) return std::optional<OutboxRow>();
          return std::optional<OutboxRow>(std::move(decoded->front()));
        });
  }

  Result<std::vector<OutboxRow>> list_outbox(std::optional<OutboxStatus> status,
                                             std::int64_t after_id, std::size_t limit) override {
    std::vector<Param> params = {Param::integer(after_id),
                                 Param::integer(static_cast<std::int64_t>(limit))};
    if (status) params.push_back(Param::text(outbox_status_name(*status)));
    return read<std::vector<OutboxRow>>(status ? outbox_by_status_name : outbox_all_name, params,
                                        "listing the outbox", outbox_rows);
  }

  Result<OutboxDepth> outbox_depth() override {
    return read<OutboxDepth>(outbox_depth_name, {}, "counting the outbox",
                             [](const PGresult* rows) -> Result<OutboxDepth> {
                               OutboxDepth depth;
                               for (int row = 0; row < PQntuples(rows); ++row) {
                                 const auto status = parse_outbox_status(text_at(rows, row, 0));
                                 if (status) depth[*status] = postgres::get_int64(rows, row, 1);
                               }
                               return depth;
                             });
  }

  Result<void> ping() override {
    auto pinged = read<bool>(ping_name, {}, "probing the database",
                             [](const PGresult*) -> Result<bool> { return true; });
    if (!pinged) return pinged.error();
    return {};
  }

  void transaction_finished() { transaction_open_ = false; }
  void transaction_committed(std::chrono::steady_clock::time_point started) {
    if (transaction_seconds_ == nullptr) return;
    transaction_seconds_->observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

  // After a failed transaction: a connection left inside a transaction or a pipeline is
  // replaced at the next begin().
  void rollback(Connection& db) {
    if (db.broken()) return;
    if (PQpipelineStatus(db.get()) != PQ_PIPELINE_OFF || !db.exec("ROLLBACK", "rolling back")) {
      db = Connection();  // broken() from now on: begin() opens a new one
    }
  }

 private:
  Result<void> start_transaction() {
    if (writer_.broken()) return Error{"", writer_.describe() + ": no connection"};
    const Connection::Pipelined statements[] = {
        {begin_name, {}, "starting a transaction"},
        {lock_journal_name, {}, "waiting for the journal lock"}};
    auto begun = writer_.exec_pipeline(statements);
    if (!begun) {
      rollback(writer_);
      return begun.error();
    }
    return {};
  }

  struct Lease;

  // Runs a prepared reader statement; a broken connection is replaced and the statement run
  // again once (a read has no effect, so repeating it is safe).
  template <class T, class Decode>
  Result<T> read(const char* name, std::span<const Param> params, std::string_view doing,
                 Decode decode) {
    auto lease = acquire_reader();
    if (!lease) return lease.error();
    auto rows = lease->connection->exec_prepared(name, params, doing);
    if (!rows && lease->connection->broken()) {
      if (auto reopened = reopen(*lease); !reopened) return reopened.error();
      rows = lease->connection->exec_prepared(name, params, doing);
    }
    if (!rows) return rows.error();
    return decode(rows->get());
  }

  // As read(), with every column in binary format: bytea as raw bytes (text is text either way).
  template <class T, class Decode>
  Result<T> read_binary(const char* name, std::span<const Param> params, std::string_view doing,
                        Decode decode) {
    auto lease = acquire_reader();
    if (!lease) return lease.error();
    auto rows = lease->connection->exec_prepared(name, params, doing, ResultFormat::binary);
    if (!rows && lease->connection->broken()) {
      if (auto reopened = reopen(*lease); !reopened) return reopened.error();
      rows = lease->connection->exec_prepared(name, params, doing, ResultFormat::binary);
    }
    if (!rows) return rows.error();
    return decode(rows->get());
  }

  // Rows of (kind, blob, ...) into `state`.
  static void customer_rows(const PGresult* rows, CustomerState& state) {
    for (int row = 0; row < PQntuples(rows); ++row) {
      const std::string kind = text_at(rows, row, 0);
      if (kind == "customer") {
        state.customer = text_at(rows, row, 1);
      } else if (kind == "record") {
        state.records.push_back(text_at(rows, row, 1));
      } else {
        state.receivables.push_back(text_at(rows, row, 1));
      }
    }
  }

  // Runs a prepared statement that changes rows, on a reader connection (its own transaction).
  // A broken connection is replaced for the next call, but the statement is not sent again.
  template <class T, class Decode>
  Result<T> write(const char* name, std::span<const Param> params, std::string_view doing,
                  Decode decode) {
    auto lease = acquire_reader();
    if (!lease) return lease.error();
    auto rows = lease->connection->exec_prepared(name, params, doing);
    if (!rows) return rows.error();
    return decode(rows->get());
  }

  Result<void> stream_state(Connection& db, StateKind kind,
                            const std::function<Result<void>(std::string_view blob)>& visit,
                            bool& visited_any) {
    const char* kind_text = kind_name(kind);
    const int format = static_cast<int>(ResultFormat::binary);  // bytea as raw bytes
    // One row at a time: the whole table never sits in memory.
    if (PQsendQueryPrepared(db.get(), state_blobs_name, 1, &kind_text, nullptr, nullptr, format) !=
            1 ||
        PQsetSingleRowMode(db.get()) != 1) {
      return db.error("reading state");
    }
    Result<void> outcome;
    while (true) {
      PgResult row(PQgetResult(db.get()));
      if (!row) break;
      const ExecStatusType status = PQresultStatus(row.get());
      if (status == PGRES_SINGLE_TUPLE) {
        if (!outcome) continue;
        visited_any = true;
        outcome = visit(std::string_view(PQgetvalue(row.get(), 0, 0),
                                         static_cast<std::size_t>(PQgetlength(row.get(), 0, 0))));
        if (!outcome) return outcome;  // the caller discards the connection
      } else if (status != PGRES_TUPLES_OK && outcome) {
        outcome = db.error("reading state", row.get());
      }
    }
    return outcome;
  }

  struct Lease {
    PostgresStoreImpl* store;
    std::unique_ptr<Connection> connection;
    bool discard = false;
    Lease(PostgresStoreImpl* s, std::unique_ptr<Connection> c)
        : store(s), connection(std::move(c)) {}
    Lease(Lease&& other) noexcept
        : store(other.store), connection(std::move(other.connection)), discard(other.discard) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (connection) store->release_reader(std::move(connection), discard);
    }
  };

  Result<void> reopen(Lease& lease) {
    auto opened = Connection::open(connect_options(options_), reader_statements);
    if (!opened) return opened.error();
    *lease.connection = std::move(*opened);
    return {};
  }

  Result<Lease> acquire_reader() {
    std::unique_lock lock(readers_mutex_);
    const auto deadline = std::chrono::steady_clock::now() + options_.connect_timeout;
    while (idle_readers_.empty() && readers_open_ >= options_.reader_connections_max) {
      if (readers_available_.wait_until(lock, deadline) == std::cv_status::timeout &&
          idle_readers_.empty() && readers_open_ >= options_.reader_connections_max) {
        return Error{"", description_ + ": all " + std::to_string(options_.reader_connections_max) +
                             " reader connections stayed busy for " +
                             std::to_string(options_.connect_timeout.count()) + " s"};
      }
    }
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return Lease(this, std::move(reader));
    }
    ++readers_open_;
    lock.unlock();  // connecting takes a round trip or more; other readers need not wait
    auto opened = Connection::open(connect_options(options_), reader_statements);
    if (!opened) {
      lock.lock();
      --readers_open_;
      readers_available_.notify_one();
      return opened.error();
    }
    return Lease(this, std::make_unique<Connection>(std::move(*opened)));
  }

  void release_reader(std::unique_ptr<Connection> reader, bool discard) {
    {
      std::lock_guard lock(readers_mutex_);
      if (discard || reader->broken()) {
        --readers_open_;
      } else {
        idle_readers_.push_back(std::move(reader));
      }
    }
    readers_available_.notify_one();
  }

  const PostgresOptions options_;
  const std::string description_;  // for messages: the database, host and port
  // Write side: only the writer thread touches these.
  Connection writer_;
  bool transaction_open_ = false;
  metrics::Histogram* transaction_seconds_ = nullptr;
  // Read side: a pool of connections, each used by one thread at a time.
  std::mutex readers_mutex_;
  std::condition_variable readers_available_;
  std::vector<std::unique_ptr<Connection>> idle_readers_;
  std::size_t readers_open_ = 0;
};

PostgresTransactionImpl::~PostgresTransactionImpl() {
  if (!finished_) {
    store_.rollback(db_);
    finish();
  }
}

void PostgresTransactionImpl::finish() {
  finished_ = true;
  if (committed_) store_.transaction_committed(started_);
  store_.transaction_finished();
}

}  // namespace

Result<std::unique_ptr<Store>> open_postgres_store(const PostgresOptions& options) {
  if (options.url.empty()) {
    return Error{"store.postgres.url", "is empty; give a libpq connection string or URI"};
  }
  if (options.reader_connections_max == 0) {
    return Error{"reader_connections_max", "must be at least 1"};
  }
  auto writer = Connection::open(connect_options(options), {});
  if (!writer) return writer.error();
  if (PQserverVersion(writer->get()) < server_version_min) {
    return Error{"store.postgres.url", writer->describe() + ": server version " +
                                           std::to_string(PQserverVersion(writer->get())) +
                                           " is too old; relanced needs PostgreSQL 14 or newer"};
  }
  if (auto migrated = postgres::migrate(*writer, postgres_migrations()); !migrated) {
    return migrated.error();
  }
  // Prepared after migrating: the statements name the tables the migrations create.
  if (auto prepared = writer->prepare(writer_statements); !prepared) return prepared.error();
  if (auto set = writer->exec(writer_settings, "configuring the writer session"); !set) {
    return set.error();
  }
  return std::unique_ptr<Store>(std::make_unique<PostgresStoreImpl>(options, std::move(*writer)));
}

}  // namespace relance::store
