#pragma once
// The hook through which the writer applies what it journals: the receivable engine plugs in
// here (daemon/state), and writes its state in the writer's transaction, so that journal, state,
// alerts and source offsets commit together or not at all.

#include "core/date.hpp"
#include "core/event.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace relance::ingest {

// Every method runs on the writer thread, one transaction at a time.
class Applier {
 public:
  virtual ~Applier() = default;

  // Each event newly appended to the journal (never a duplicate), in journal order; `now` is the
  // journal's received_at, so that a replay of the journal sees the same times.
  virtual Result<void> apply(store::Transaction& transaction, const core::Event& event,
                             core::Timestamp now) = 0;
  // Whether time alone may have changed something since the last apply or advance (the date
  // moved on): when not, the writer does not open a transaction for advance().
  virtual bool advance_due(core::Timestamp now) const = 0;
  // Time-only transitions (open -> overdue, a promise broken), in a transaction of their own.
  virtual Result<void> advance(store::Transaction& transaction, core::Timestamp now) = 0;
  // advance() left work due that one transaction could not take (a backlog taken in parts): the
  // writer calls it again at once rather than after its interval.
  virtual bool backlog() const { return false; }
  // Last call before commit: writes what the calls since the previous commit changed, once per
  // entity however many events touched it.
  virtual Result<void> before_commit(store::Transaction& transaction) = 0;
  // The transaction committed: what was applied is now the stored state.
  virtual void committed() = 0;
  // The transaction did not commit (an error from the store or from a hook): in-memory changes
  // made since the last commit must be dropped, e.g. by reloading from the store.
  virtual void rolled_back() = 0;
};

}  // namespace relance::ingest
