#pragma once
// The receivable engine behind the single writer. The writer hands it each newly journaled
// event inside its transaction; it applies it to the in-memory engine and writes what changed
// (receivables and customers: their blobs; alerts raised and resolved) into that same
// transaction, so that journal and state never disagree. At start it loads the stored blobs
// instead of replaying the journal; when a transaction fails it reloads them.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/engine/engine.hpp"
#include "ingest/applier.hpp"
#include "store/store.hpp"

namespace relance::state {

// The engine remembers the latest time it was evaluated at; it is stored with the state, in the
// offsets table, so that a restart evaluates as of the same day and lets advance() persist what
// time changed since.
inline constexpr std::string_view clock_source = "engine:clock";

// The entities a transaction changed, by their index in the engine: appended as the engine
// reports them (a customer once per event), taken sorted and each once. A vector sorted when
// read costs far less than a node per entity: the writer handles thousands of events a
// transaction.
class ChangedIndexes {
 public:
  void add(std::uint32_t index) { indexes_.push_back(index); }
  // Ascending and deduplicated; the set is empty afterwards.
  std::vector<std::uint32_t> take();
  void clear() { indexes_.clear(); }

 private:
  std::vector<std::uint32_t> indexes_;
};

// The rows of the state table for an entity of `engine`: its blob (views are computed on read).
store::StateRow receivable_row(const core::engine::Engine& engine,
                               const core::engine::Receivable& receivable);
store::StateRow customer_row(const core::engine::Engine& engine,
                             const core::engine::Customer& customer);
store::StateRow record_row(const core::engine::Engine& engine, const core::engine::Record& record);
store::AlertRow alert_row(const core::engine::Alert& alert, core::Timestamp raised_at);

// Applies the journal, from its first event, to `engine` (which should be empty), each event as
// of the time it was received, as the writer did. Returns the latest received_at (epoch when
// the journal is empty).
Result<core::Timestamp> replay_journal(store::Store& store, core::engine::Engine& engine);

class EngineApplier final : public ingest::Applier {
 public:
  // Loads every stored customer, receivable and record. A store that has a journal but no state
  // (written by a relanced without the engine) is rebuilt from the journal, and the state
  // written, first; one whose customer rows still hold their records (written before records had
  // rows of their own) is written again. Call before the writer starts: it may open a
  // transaction.
  static Result<std::unique_ptr<EngineApplier>> open(store::Store& store,
                                                     core::engine::EngineOptions options);

  Result<void> apply(store::Transaction& transaction, const core::Event& event,
                     core::Timestamp now) override;
  bool advance_due(core::Timestamp now) const override;
  Result<void> advance(store::Transaction& transaction, core::Timestamp now) override;
  Result<void> before_commit(store::Transaction& transaction) override;
  void committed() override;
  void rolled_back() override;

  // On the writer thread only, or while no writer runs (tests).
  const core::engine::Engine& engine() const { return *engine_; }
  int reloads() const { return reloads_; }
  // The latest `now` the engine was evaluated at (stored with the state).
  core::Timestamp evaluated_at() const { return evaluated_at_; }
  // The entities changed since the last take_changed() or before_commit(), each once: indexes
  // into engine(), ascending (valid until the next reload, which clears them).
  struct Changed {
    std::vector<std::uint32_t> receivables;
    std::vector<std::uint32_t> customers;      // Changes::customers
    std::vector<std::uint32_t> customer_rows;  // Changes::customer_rows: rows to write
    std::vector<std::uint32_t> records;
  };
  // Hands them over: a decorator such as DunningApplier reads them, and has their rows written
  // by write_rows(); before_commit() then writes only what changed after this call.
  Changed take_changed();
  // Their rows, in `transaction`. Only reads the engine: another thread may read it meanwhile.
  Result<void> write_rows(store::Transaction& transaction, const Changed& changed) const;
  // The dunning step a receivable reached, shown in its view; its row is written again by
  // before_commit().
  Result<void> set_dunning_level(const std::string& invoice_id, int level);

  // Several daemons on one store: partitions moved here from another daemon, which changed their
  // customers' rows meanwhile. Any thread. The engine reloads everything from the store at the
  // start of the next transaction (before its first apply() or advance()), so that no event of
  // the new partitions is applied to a stale state. A full reload rather than the customers of
  // the new partitions: the store has no per-customer read, and a reload of 100,000 receivables
  // takes about a second (bench figures in connectors/kafka/README.md).
  void request_refresh() { refresh_requested_.store(true); }
  bool refresh_pending() const { return refresh_requested_.load(); }
  // Counts the reloads that succeeded (start, failed commit, refresh): a decorator that keeps
  // state derived from the engine rebuilds it when this moves.
  std::uint64_t generation() const { return generation_; }
  // Which customers this daemon owns (several daemons). Time-only changes (advance()) of the
  // others are not written: their owner writes them, and our copy of them may be stale. Events
  // applied here are always written, whoever the customer. Empty: every customer.
  using Ownership = std::function<bool(std::string_view customer_id)>;
  void set_ownership(Ownership owns) { owns_ = std::move(owns); }

  // kafka.alerts_topic: each alert raised or resolved is also enqueued for `sink` in the
  // transaction that records it (state/alert_topic.hpp); the dunning applier reads alerts_sink()
  // for its own alerts. Call before the writer starts; empty (the default): none.
  void publish_alerts_to(std::string sink) { alerts_sink_ = std::move(sink); }
  const std::string& alerts_sink() const { return alerts_sink_; }

 private:
  EngineApplier(store::Store& store, core::engine::EngineOptions options)
      : store_(store), options_(std::move(options)) {}
  // A fresh engine from the stored blobs, as of the stored clock.
  Result<void> reload();
  // `only_owned`: changes of customers not owned are left out (advance()).
  Result<void> record(store::Transaction& transaction, const core::engine::Changes& changes,
                      core::Timestamp now, bool only_owned);
  // At the start of a transaction: reloads if a refresh was requested or a reload is pending.
  Result<void> refresh_if_requested();
  Result<void> write_everything(store::Transaction& transaction);

  store::Store& store_;
  const core::engine::EngineOptions options_;
  std::unique_ptr<core::engine::Engine> engine_;
  core::Timestamp evaluated_at_{};  // the latest `now` given to the engine
  // Changed since the last take_changed(): written once each by before_commit().
  ChangedIndexes receivables_;
  ChangedIndexes customers_;
  ChangedIndexes customer_rows_;
  ChangedIndexes records_;
  bool dirty_ = false;         // the engine holds changes not committed
  bool needs_reload_ = false;  // a reload failed: the engine cannot be trusted until one works
  int reloads_ = 0;
  std::uint64_t generation_ = 0;
  std::atomic<bool> refresh_requested_{false};
  Ownership owns_;
  std::string alerts_sink_;
  // The engine's open alerts: id -> customer, kind, severity (a resolve names only the id).
  // Rebuilt at each reload, so a rolled back transaction leaves nothing stale.
  struct OpenAlert {
    std::string customer_id;
    std::string kind;
    std::string severity;
  };
  std::unordered_map<std::string, OpenAlert> open_alerts_;
};

}  // namespace relance::state
