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

// State the receivable engine persists: one row per invoice and per customer, written in the
// same transaction as the journal entries that changed it.
enum class StateKind { receivable, customer };

struct StateRow {
  StateKind kind = StateKind::receivable;
  std::string key;          // invoice_id, or customer_id
  std::string customer_id;  // the owner: for a customer, its own id ("" when not known yet)
  std::string blob;         // the engine's serialization, loaded at start
  std::string view_json;    // the JSON document the HTTP API serves for it
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
  // The view_json of every receivable of a customer, in key order.
  virtual Result<std::vector<std::string>> customer_receivable_views(
      std::string_view customer_id) = 0;

  // Alerts in id order after `after_id` ("" from the start), at most `limit`; all statuses when
  // `status` is empty.
  virtual Result<std::vector<AlertRow>> list_alerts(std::optional<AlertStatus> status,
                                                    std::string_view after_id,
                                                    std::size_t limit) = 0;

  virtual Result<std::vector<SourceOffset>> source_offsets(std::string_view source) = 0;

  // Cheap liveness probe of the backend, for /readyz.
  virtual Result<void> ping() = 0;
};

}  // namespace relance::store
