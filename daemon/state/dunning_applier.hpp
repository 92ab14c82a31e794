#pragma once
// Dunning inside the writer's transaction: a decorator of the EngineApplier. After the engine
// applied a batch (or time moved on), the receivables and customers it changed go to the
// scheduler; when the scheduler's next moment has come, it ticks, and each action is rendered
// and enqueued in the outbox in the SAME transaction as the state that caused it, with the
// progress it reached (StateKind::dunning per invoice, StateKind::contacts per customer) and
// the level shown in the receivable's view. A restart loads that progress: nothing already
// enqueued is enqueued again (the outbox also ignores a key it holds), the schedule continues.
//
// The scheduler ticks in the transaction when steps are due, but while events come in no more
// often than DunningSetup::tick_interval (the writer's timer ticks at that pace anyway): under a
// burst, a customer's new invoices are then taken in one run, not in one run per transaction.
// A backlog (after downtime, a ledger imported) is taken tick_receivables_max at a time, in
// transactions that follow each other at once (backlog()).
//
// An action that cannot be rendered (no address, a template or a rate missing for the date) is
// not enqueued: it raises an alert naming the customer and the cause, and is logged; the step
// is held (the receivable keeps its level) and tried again later, when the data changes or at
// the next start, until it goes out and resolves the alert (see dunning_glue.hpp). When a
// transaction fails, the scheduler is rebuilt from the stored state before the next one.

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "ingest/applier.hpp"
#include "state/dunning_glue.hpp"
#include "state/engine_applier.hpp"
#include "store/store.hpp"

namespace relance::state {

class DunningApplier final : public ingest::Applier {
 public:
  // Loads the stored progress and contacts and schedules every receivable the engine holds.
  // `engine` (already open) and `store` must outlive the applier.
  static Result<std::unique_ptr<DunningApplier>> open(store::Store& store, EngineApplier& engine,
                                                      std::shared_ptr<const DunningSetup> setup,
                                                      DunningGlue::Ownership owns = {});

  Result<void> apply(store::Transaction& transaction, const core::Event& event,
                     core::Timestamp now) override;
  // Also true when the scheduler's next moment has come, or a rebuild is pending.
  bool advance_due(core::Timestamp now) const override;
  Result<void> advance(store::Transaction& transaction, core::Timestamp now) override;
  // The last tick stopped at DunningSetup::tick_receivables_max with customers still due.
  bool backlog() const override { return tick_unfinished_; }
  Result<void> before_commit(store::Transaction& transaction) override;
  void committed() override;
  void rolled_back() override;

  // Each action rendered is also enqueued, in the same transaction, for `sink`
  // (kafka.actions_topic: the Kafka sink publishes the same delivery keyed by customer), with the
  // idempotency key "<action's key>:<sink>". Call before the writer starts; empty: no copy.
  void copy_actions_to(std::string sink) { copy_sink_ = std::move(sink); }
  // Called on the writer thread after a commit that enqueued actions (wakes the dispatcher).
  void set_on_enqueued(std::function<void()> on_enqueued);
  // Which customers this daemon schedules (several daemons on one Kafka topic: the customers of
  // the partitions it owns). Any thread; `owns` itself must be safe to call from the writer
  // thread and from the one that takes a transaction's changes into the scheduler while the
  // writer waits. The writer rebuilds the schedule before its next transaction.
  void set_ownership(DunningGlue::Ownership owns);
  // Partitions were assigned to this daemon (the same Ownership answers differently now): any
  // thread. Another daemon may have applied events and advanced dunning for their customers, so
  // the engine reloads from the store at the start of the next transaction, and the schedule is
  // rebuilt from the stored progress and contacts in that same transaction, before any of their
  // events is applied (the caller must hand none over before this returns).
  void ownership_changed() {
    engine_.request_refresh();  // first: the rescan waits for it
    rescan_.store(true);
  }
  // Partitions were revoked: their receivables leave the schedule before the next tick. Any
  // thread.
  void ownership_reduced() { rescan_.store(true); }

  // On the writer thread only, or while no writer runs (tests).
  const DunningGlue& glue() const { return *glue_; }
  std::size_t enqueued_total() const { return enqueued_total_; }

 private:
  DunningApplier(store::Store& store, EngineApplier& engine, std::unique_ptr<DunningGlue> glue)
      : store_(store), engine_(engine), glue_(std::move(glue)) {}
  Result<void> rebuild();
  // After the scheduler took in the engine's changes: the tick, its actions and alerts, the
  // progress reached.
  Result<void> write(store::Transaction& transaction);

  store::Store& store_;
  EngineApplier& engine_;
  std::unique_ptr<DunningGlue> glue_;
  core::Timestamp now_{};  // the latest `now` of apply() and advance()
  // DunningSetup::tick_interval: a transaction of events ticks only once the last tick is that
  // old; one of advance() (the writer's timer, every tick_interval) ticks whenever steps are due.
  bool advancing_ = false;
  std::optional<core::Timestamp> last_tick_;     // committed
  std::optional<core::Timestamp> pending_tick_;  // in the open transaction
  bool tick_unfinished_ = false;                 // backlog(); the next transaction ticks too
  bool needs_rebuild_ = false;
  std::uint64_t engine_generation_ = 0;  // the engine's reload the schedule was built from
  std::atomic<bool> rescan_{false};
  std::string copy_sink_;     // copy_actions_to()
  std::size_t enqueued_ = 0;  // in the open transaction
  std::size_t enqueued_total_ = 0;
  std::mutex on_enqueued_mutex_;
  std::function<void()> on_enqueued_;
  std::mutex ownership_mutex_;
  std::optional<DunningGlue::Ownership> pending_ownership_;  // set_ownership() not yet applied
};

}  // namespace relance::state
