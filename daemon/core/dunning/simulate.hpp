#pragma once
// What-if: runs the scheduler over invoices for a period with a virtual clock and returns every
// action that would have been sent. Pure: the same scheduler code as the daemon, no delivery.
// The basis of `relanced simulate` (which will feed it the engine's view of replayed events).

#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/dunning/scheduler.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace relance::core::dunning {

struct SimulatedEvent {
  enum class Kind { payment, dispute_opened, dispute_resolved, promise };
  Timestamp at{};
  Kind kind = Kind::payment;
  std::string invoice_id;
  Money amount;           // payment: reduces the open amount; paid in full closes it
  Date paused_through{};  // promise: the promised date plus grace (last day paused)
};

struct SimulationInput {
  std::vector<CustomerSnapshot> customers;
  // Each invoice enters the schedule at its issue date (00:00 UTC), or at `from` when issued
  // before. Its `standing` and `open` are the starting point; events change them.
  std::vector<ReceivableSnapshot> invoices;
  std::vector<SimulatedEvent> events;  // any order; applied in time order
  Timestamp from{};
  Timestamp to{};  // inclusive
};

struct SimulationResult {
  std::vector<Action> actions;  // in the order they would have gone out
  std::vector<SkippedStep> skipped;
  std::size_t ticks = 0;  // scheduler ticks run (one per instant something was due)
};

// The virtual clock jumps from one instant to the next where something happens (an event, or an
// action due), so a year costs the actions, not the minutes. An event at the same instant as an
// action is applied first: a payment made at 09:00 stops the 09:00 reminder.
// Errors: an unknown time zone, an event naming an invoice not given, `to` before `from`.
Result<SimulationResult> simulate(const PolicySet& policies,
                                  const std::vector<BusinessCalendar>& calendars,
                                  const SchedulerOptions& options, const SimulationInput& input);

}  // namespace relance::core::dunning
