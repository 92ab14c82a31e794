#pragma once
// The Store seam. One writer thread opens transactions; any thread may read. Backends:
// store/sqlite (embedded default) and, later, store/postgres, behind this same interface.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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
  std::string type;                // "invoice.issued"
  core::Timestamp received_at{};   // when the writer committed it
  std::string json;                // the envelope as received (core::Event::json)
};

// Work of one writer batch. Nothing is visible to readers before commit(); destroying an
// uncommitted transaction rolls it back.
class Transaction {
 public:
  virtual ~Transaction() = default;
  // Appends the event unless (source, id) is already in the journal.
  virtual Result<AppendOutcome> append(const core::Event& event, core::Timestamp received_at) = 0;
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
  // Cheap liveness probe of the backend, for /readyz.
  virtual Result<void> ping() = 0;
};

}  // namespace relance::store
