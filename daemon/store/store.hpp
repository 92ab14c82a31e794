#pragma once
// The Store seam. One writer thread opens transactions; any thread may read. Backends:
// store/sqlite (embedded default) and, later, store/postgres, behind this same interface.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/event.hpp"
#include "core/result.hpp"

namespace relance::store {

enum class AppendOutcome { appended, duplicate };

// A journal row: the event as received, in the order the writer committed it.
struct StoredEvent {
  std::int64_t sequence = 0;  // position in the journal, from 1, gap-free per store
  std::string source;
  std::string id;
  std::string type;               // "invoice.issued"
  core::Timestamp received_at{};  // when the writer committed it
  std::string json;               // the envelope as received (core::Event::json)
};

// State the receivable engine persists: one row per invoice, per customer and per record of a
// customer's history (a payment, a credit note, a dispute...), written in the same transaction
// as the journal entries that changed it. Dunning keeps its own rows beside them: `dunning` per
// invoice (the step reached), `contacts` per customer (recent contacts).
enum class StateKind { receivable, customer, dunning, contacts, record };
// The words of the schema's CHECK constraint.
inline const char* state_kind_name(StateKind kind) {
  switch (kind) {
    case StateKind::receivable:
      return "receivable";
    case StateKind::customer:
      return "customer";
    case StateKind::dunning:
      return "dunning";
    case StateKind::contacts:
      return "contacts";
    case StateKind::record:
      return "record";
  }
  return "receivable";
}

struct StateRow {
  StateKind kind = StateKind::receivable;
  std::string key;          // invoice_id, customer_id, or a record's identity
  std::string customer_id;  // the owner: for a customer, its own id ("" when not known yet)
  std::string blob;         // the engine's serialization, loaded at start
  // A JSON document kept beside the blob, for kinds that have one. Receivable and customer rows
  // keep "": their documents are computed from the blobs when read (state/views_on_read.hpp), as
  // of the day they are read, which spares the writer serializing them on every change.
  std::string view_json;
};

// The stored rows of one customer, read from one snapshot: its own row, its receivables' and
// its records'.
struct CustomerState {
  std::string customer_id;
  std::optional<std::string> customer;   // its blob; nullopt when no customer row is stored
  std::vector<std::string> receivables;  // their blobs, in key order
  std::vector<std::string> records;      // their blobs, in key order
};

enum class AlertStatus { open, resolved };

struct AlertRow {
  std::string id;        // stable: the same alert raised again keeps its id
  std::string kind;      // "payment.unmatched"
  std::string severity;  // "info", "warning", "critical"
  AlertStatus status = AlertStatus::open;
  std::string customer_id;
  std::string json;  // the document the HTTP API serves (without status and dates)
  core::Timestamp raised_at{};
  std::optional<core::Timestamp> resolved_at;
};

// Where an input stands in a partitioned source (a Kafka topic): `offset` is the next one to read.
struct SourceOffset {
  std::string source;  // "kafka:<topic>"
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  bool operator==(const SourceOffset&) const = default;
};

// The outbox: dunning actions waiting for (or done with) delivery by the dispatcher.
//   pending -> sending -> delivered | pending (retry later) | dead | dropped
//   dead -> pending (an operator's retry); sending -> pending (restart after a crash)
enum class OutboxStatus { pending, sending, delivered, dropped, dead };
inline constexpr OutboxStatus outbox_statuses[] = {OutboxStatus::pending, OutboxStatus::sending,
                                                   OutboxStatus::delivered, OutboxStatus::dropped,
                                                   OutboxStatus::dead};
// The words of the schema's CHECK constraint and of the HTTP API.
inline std::string_view outbox_status_name(OutboxStatus status) {
  switch (status) {
    case OutboxStatus::pending:
      return "pending";
    case OutboxStatus::sending:
      return "sending";
    case OutboxStatus::delivered:
      return "delivered";
    case OutboxStatus::dropped:
      return "dropped";
    case OutboxStatus::dead:
      return "dead";
  }
  return "pending";
}
inline std::optional<OutboxStatus> parse_outbox_status(std::string_view name) {
  for (const OutboxStatus status : outbox_statuses) {
    if (outbox_status_name(status) == name) return status;
  }
  return std::nullopt;
}

// An action as the writer enqueues it.
struct OutboxEntry {
  // Deterministic (receivable or customer, step, due date): a second enqueue is a no-op.
  std::string idempotency_key;
  std::string sink;  // registered sink name ("email.smtp", "crm.rest")
  std::string customer_id;
  std::vector<std::string> invoice_ids;
  std::string payload;       // JSON of the Delivery (daemon/outbox/payload.hpp), kept as is
  core::Timestamp due_at{};  // the first attempt is not made before
  core::Timestamp created_at{};
};

struct OutboxRow {
  std::int64_t id = 0;  // from 1, increasing in enqueue order
  std::string idempotency_key;
  std::string sink;
  std::string customer_id;
  std::vector<std::string> invoice_ids;
  std::string payload;
  core::Timestamp due_at{};
  OutboxStatus status = OutboxStatus::pending;
  std::int32_t attempts = 0;  // sends made
  core::Timestamp next_attempt_at{};
  std::string last_error;  // the last failure, or why it was dropped; "" if none
  core::Timestamp created_at{};
  core::Timestamp updated_at{};
};

// The end of one claimed (`sending`) row's turn.
struct OutboxSettlement {
  OutboxStatus status = OutboxStatus::delivered;  // pending (later), delivered, dropped or dead
  bool attempted = true;  // a send was made: attempts + 1 (not when postponed or dropped)
  std::optional<core::Timestamp> next_attempt_at;  // pending: when to try again
  std::string last_error;                          // kept as is, even ""
  core::Timestamp at{};
};

enum class OutboxRetryOutcome { retried, unknown, not_dead };

// Rows per status.
struct OutboxDepth {
  std::int64_t counts[sizeof(outbox_statuses) / sizeof(outbox_statuses[0])] = {};
  std::int64_t& operator[](OutboxStatus status) { return counts[static_cast<int>(status)]; }
  std::int64_t operator[](OutboxStatus status) const { return counts[static_cast<int>(status)]; }
};

// Work of one writer batch. Nothing is visible to readers before commit(); destroying an
// uncommitted transaction rolls it back.
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Appends the event unless (source, id) is already in the journal.
  virtual Result<AppendOutcome> append(const core::Event& event, core::Timestamp received_at) = 0;
  // As append() on each event in order (a key repeated within `events` is a duplicate after its
  // first occurrence). A backend with a round trip per statement sends them all at once.
  virtual Result<std::vector<AppendOutcome>> append_batch(std::span<const core::Event> events,
                                                          core::Timestamp received_at) {
    std::vector<AppendOutcome> outcomes;
    outcomes.reserve(events.size());
    for (const core::Event& event : events) {
      auto outcome = append(event, received_at);
      if (!outcome) return outcome.error();
      outcomes.push_back(*outcome);
    }
    return outcomes;
  }
  // Inserts or replaces the row of (kind, key).
  virtual Result<void> put_state(const StateRow& row) = 0;
  // Opens the alert, or updates its content if already there; a resolved alert raised again is
  // open again (raised_at is then the new time).
  virtual Result<void> raise_alert(const AlertRow& row) = 0;
  // Marks an open alert resolved; nothing when it is unknown or already resolved.
  virtual Result<void> resolve_alert(std::string_view id, core::Timestamp at) = 0;
  // Records where a partitioned source stands, with the state its messages produced.
  virtual Result<void> put_source_offset(const SourceOffset& offset) = 0;
  // Adds the action as pending, due at entry.due_at; nothing when its idempotency key is already
  // in the outbox (whatever that row's status) or earlier in this transaction.
  virtual Result<void> enqueue(const OutboxEntry& entry) = 0;
  virtual Result<void> commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Only the writer thread calls begin(); one transaction at a time.
  virtual Result<std::unique_ptr<Transaction>> begin() = 0;

  // Readers: safe from any thread, see committed data only.
  virtual Result<std::optional<StoredEvent>> find_event(std::string_view source,
                                                        std::string_view id) = 0;
  virtual Result<std::int64_t> journal_size() = 0;
  // Journal rows with sequence > after, in sequence order, at most `limit` of them (replay).
  virtual Result<std::vector<StoredEvent>> read_journal(std::int64_t after, std::size_t limit) = 0;

  // Calls `visit` with the blob of every row of `kind`, in key order; stops at its first error.
  virtual Result<void> for_each_state(
      StateKind kind, const std::function<Result<void>(std::string_view blob)>& visit) = 0;
  virtual Result<std::optional<std::string>> find_state_view(StateKind kind,
                                                             std::string_view key) = 0;
  // A customer's row and its receivables' and records' blobs (nothing stored: no customer row,
  // no receivables, no records).
  virtual Result<CustomerState> customer_state(std::string_view customer_id) = 0;
  // The same, for the customer that owns a receivable, found and read in one snapshot; nullopt
  // when no such receivable is stored.
  virtual Result<std::optional<CustomerState>> receivable_owner_state(
      std::string_view invoice_id) = 0;

  // Alerts in id order after `after_id` ("" from the start), at most `limit`; all statuses when
  // `status` is empty.
  virtual Result<std::vector<AlertRow>> list_alerts(std::optional<AlertStatus> status,
                                                    std::string_view after_id,
                                                    std::size_t limit) = 0;

  virtual Result<std::vector<SourceOffset>> source_offsets(std::string_view source) = 0;

  // The outbox, for the dispatcher and the operators. These write outside the writer's
  // transactions (any thread, each call its own short transaction): they only move rows the
  // writer has committed, and the writer only inserts.
  //
  // Moves up to `limit` pending rows whose next_attempt_at <= now to `sending` and returns them,
  // earliest next_attempt_at first (then id). Two concurrent claims never return the same row.
  virtual Result<std::vector<OutboxRow>> claim_outbox(core::Timestamp now, std::size_t limit) = 0;
  // Ends the turn of a row in `sending`; false (and no change) when the row is not in `sending`.
  virtual Result<bool> settle_outbox(std::int64_t id, const OutboxSettlement& settlement) = 0;
  // Rows left in `sending` by a dispatcher that stopped mid-send (updated_at <= claimed_before)
  // go back to pending, due at `at`: at-least-once, the idempotency key lets the receiver
  // deduplicate. Returns how many.
  virtual Result<std::int64_t> requeue_outbox_sending(core::Timestamp claimed_before,
                                                      core::Timestamp at) = 0;
  // A dead row goes back to pending, due at `at`, its attempts counted from 0 again.
  virtual Result<OutboxRetryOutcome> retry_outbox(std::int64_t id, core::Timestamp at) = 0;
  virtual Result<std::optional<OutboxRow>> find_outbox(std::int64_t id) = 0;
  // Rows with id > after_id in id order, at most `limit`; all statuses when `status` is empty.
  virtual Result<std::vector<OutboxRow>> list_outbox(std::optional<OutboxStatus> status,
                                                     std::int64_t after_id, std::size_t limit) = 0;
  virtual Result<OutboxDepth> outbox_depth() = 0;

  // The dispatcher's outcomes, as settlements.
  Result<bool> mark_outbox_delivered(std::int64_t id, core::Timestamp at) {
    return settle_outbox(id, {OutboxStatus::delivered, true, std::nullopt, "", at});
  }
  Result<bool> mark_outbox_retry(std::int64_t id, core::Timestamp next_attempt_at,
                                 std::string error, core::Timestamp at) {
    return settle_outbox(id, {OutboxStatus::pending, true, next_attempt_at, std::move(error), at});
  }
  Result<bool> mark_outbox_dropped(std::int64_t id, std::string reason, core::Timestamp at) {
    return settle_outbox(id, {OutboxStatus::dropped, false, std::nullopt, std::move(reason), at});
  }
  Result<bool> mark_outbox_dead(std::int64_t id, std::string error, core::Timestamp at) {
    return settle_outbox(id, {OutboxStatus::dead, true, std::nullopt, std::move(error), at});
  }

  // Cheap liveness probe of the backend, for /readyz.
  virtual Result<void> ping() = 0;
};

}  // namespace relance::store
