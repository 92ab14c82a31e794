#pragma once
// The engine's view of a receivable or a customer, reduced to what the dunning scheduler needs.
// Pure functions of the engine's state: the same engine gives the same snapshots.

#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/dunning/scheduler.hpp"
#include "core/engine/engine.hpp"

namespace relance::state {

// open, overdue, partially paid -> active; disputed; promised; payment plan; paid, overpaid,
// cancelled, written off -> closed.
core::dunning::Standing standing_of(core::engine::Status status);

// `progress` is what dunning last stored for it. A receivable that no longer owes anything is
// closed whatever its status says. Promised: paused through the promised date plus the engine's
// grace. Payment plan: the plan's instalments with what is still open on each (the plan's
// payments fill them in order); a plan covering several invoices gives its instalments to the
// first of them (by invoice id) only, so that one reminder per instalment goes out, not one
// per invoice.
core::dunning::ReceivableSnapshot receivable_snapshot(
    const core::engine::Engine& engine, const core::engine::Receivable& receivable,
    const core::dunning::DunningProgress& progress);

// Credits are the customer's credit notes and payments not applied to an invoice (their part
// still unapplied), netted in statements.
core::dunning::CustomerSnapshot customer_snapshot(const core::engine::Engine& engine,
                                                  const core::engine::Customer& customer,
                                                  std::vector<core::Timestamp> recent_contacts);

// Late interest needs what was outstanding on the due date and the payments made after it; the
// receivable's timeline gives both.
struct LateBalance {
  core::Money at_due_date;
  std::vector<std::pair<core::Date, core::Money>> paid_after;  // positive amounts, by date
};
LateBalance late_balance(const core::engine::Receivable& receivable);

}  // namespace relance::state
