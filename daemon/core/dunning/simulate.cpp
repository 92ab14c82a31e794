#include "core/dunning/simulate.hpp"

#include <algorithm>
#include <unordered_map>

namespace relance::core::dunning {

namespace {

// What happens at an instant, before the actions due then.
struct Input {
  Timestamp at;
  enum class Kind { invoice, event, promise_expired } kind;
  std::size_t index;  // into invoices or events
};

}  // namespace

Result<SimulationResult> simulate(const PolicySet& policies,
                                  const std::vector<BusinessCalendar>& calendars,
                                  const SchedulerOptions& options, const SimulationInput& input) {
  if (input.to < input.from) return Error{"to", "is before from"};
  auto created = Scheduler::create(policies, calendars, options);
  if (!created) return created.error();
  Scheduler& scheduler = *created;
  for (const CustomerSnapshot& customer : input.customers) {
    if (auto updated = scheduler.update_customer(customer); !updated) return updated.error();
  }

  std::unordered_map<std::string, std::size_t> by_id;
  std::vector<ReceivableSnapshot> invoices = input.invoices;
  std::vector<Input> inputs;
  inputs.reserve(invoices.size() + input.events.size());
  for (std::size_t i = 0; i < invoices.size(); ++i) {
    if (!by_id.emplace(invoices[i].invoice_id, i).second) {
      return Error{"invoices[" + std::to_string(i) + "].invoice_id",
                   "'" + invoices[i].invoice_id + "' is given twice"};
    }
    const Timestamp issued{std::chrono::sys_days(invoices[i].issue_date)};
    inputs.push_back({std::max(issued, input.from), Input::Kind::invoice, i});
  }
  for (std::size_t i = 0; i < input.events.size(); ++i) {
    const SimulatedEvent& event = input.events[i];
    if (!by_id.contains(event.invoice_id)) {
      return Error{"events[" + std::to_string(i) + "].invoice_id",
                   "'" + event.invoice_id + "' is not among the invoices"};
    }
    inputs.push_back({event.at, Input::Kind::event, i});
    if (event.kind == SimulatedEvent::Kind::promise) {
      // The engine turns a promise not kept by then back to overdue.
      const Timestamp expiry{std::chrono::sys_days(add_days(event.paused_through, 1))};
      inputs.push_back({expiry, Input::Kind::promise_expired, i});
    }
  }
  // Invoices first at an instant, then events in the order given.
  std::stable_sort(inputs.begin(), inputs.end(), [](const Input& a, const Input& b) {
    return std::pair(a.at, a.kind) < std::pair(b.at, b.kind);
  });

  SimulationResult result;
  const auto run_until = [&](Timestamp limit, bool inclusive) {
    for (auto next = scheduler.next_moment(); next && (inclusive ? *next <= limit : *next < limit);
         next = scheduler.next_moment()) {
      TickResult tick = scheduler.tick(*next);
      ++result.ticks;
      for (Action& action : tick.actions) result.actions.push_back(std::move(action));
      for (SkippedStep& skipped : tick.skipped) result.skipped.push_back(std::move(skipped));
    }
  };
  const auto push = [&](ReceivableSnapshot& snapshot, Timestamp at) -> Result<void> {
    auto progress = scheduler.update(snapshot, at);
    if (!progress) return progress.error();
    snapshot.progress = *progress;
    return {};
  };

  for (const Input& in : inputs) {
    if (in.at > input.to) break;
    run_until(in.at, false);
    if (in.kind == Input::Kind::invoice) {
      ReceivableSnapshot& snapshot = invoices[in.index];
      if (snapshot.open.minor_units <= 0) snapshot.standing = Standing::closed;
      if (auto pushed = push(snapshot, in.at); !pushed) return pushed.error();
      continue;
    }
    const SimulatedEvent& event = input.events[in.index];
    ReceivableSnapshot& snapshot = invoices[by_id.at(event.invoice_id)];
    if (snapshot.standing == Standing::closed) continue;
    if (in.kind == Input::Kind::promise_expired) {
      if (snapshot.standing != Standing::promised) continue;
      snapshot.standing = Standing::active;
      snapshot.paused_through.reset();
    } else {
      switch (event.kind) {
        case SimulatedEvent::Kind::payment:
          snapshot.open.minor_units -= event.amount.minor_units;
          if (snapshot.open.minor_units <= 0) snapshot.standing = Standing::closed;
          break;
        case SimulatedEvent::Kind::dispute_opened:
          snapshot.standing = Standing::disputed;
          break;
        case SimulatedEvent::Kind::dispute_resolved:
          if (snapshot.standing == Standing::disputed) snapshot.standing = Standing::active;
          break;
        case SimulatedEvent::Kind::promise:
          snapshot.standing = Standing::promised;
          snapshot.paused_through = event.paused_through;
          break;
      }
    }
    if (auto pushed = push(snapshot, in.at); !pushed) return pushed.error();
  }
  run_until(input.to, true);
  return result;
}

}  // namespace relance::core::dunning
