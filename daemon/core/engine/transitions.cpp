#include "core/engine/transitions.hpp"

#include <array>

namespace relance::core::engine {
namespace {

using enum Status;
constexpr Transition K{Target::keep, open, TableAlert::none};
constexpr Transition R{Target::reassess, open, TableAlert::none};
// The receivable refuses money: it stays on the customer's account, with an alert.
constexpr Transition X{Target::refuse, open, TableAlert::on_closed_receivable};
// A reversal took money back: re-assess and alert.
constexpr Transition V{Target::reassess, open, TableAlert::payment_reversed};
constexpr Transition V_keep{Target::keep, open, TableAlert::payment_reversed};
constexpr Transition T(Status s) { return {Target::to, s, TableAlert::none}; }
constexpr Transition O{Target::to, overpaid, TableAlert::payment_over};

using Row = std::array<Transition, trigger_count>;

// Columns, in Trigger order:
//   offered  partial  fully  over  removed  amount  cancel  wo_part  wo_full  disp_open
//   disp_resolved  prom_rec  prom_kept  plan  plan_done  | due_passed  prom_expired  inst_late
// Base statuses come from events only; the last three columns are applied at evaluation time
// (status as of a date), so `overdue` is reached from them and never stored as a base status.
constexpr std::array<Row, status_count> table = {{
    // open
    {K, T(partially_paid), T(paid), O, V, R, T(cancelled), K, T(written_off), T(disputed), K,
     T(promised), K, T(payment_plan), K, T(overdue), K, K},
    // overdue
    {K, K, T(paid), O, V_keep, R, T(cancelled), K, T(written_off), T(disputed), K, T(promised), K,
     T(payment_plan), K, K, K, K},
    // disputed: the dispute dominates; a promise or plan recorded meanwhile waits for its end
    {K, K, T(paid), O, V_keep, K, T(cancelled), K, T(written_off), K, R, K, K, K, K, K, K, K},
    // promised: an expired promise gives the receivable back to its balance (then due date)
    {K, K, T(paid), O, V_keep, R, T(cancelled), K, T(written_off), T(disputed), K, K, R,
     T(payment_plan), K, K, R, K},
    // payment_plan: a plan dominates a promise
    {K, K, T(paid), O, V_keep, R, T(cancelled), K, T(written_off), T(disputed), K, K, K, K, R, K, K,
     T(overdue)},
    // partially_paid
    {K, K, T(paid), O, V, R, T(cancelled), K, T(written_off), T(disputed), K, T(promised), K,
     T(payment_plan), K, T(overdue), K, K},
    // paid: money offered again is refused; a reversal re-opens it
    {X, K, K, O, V, R, T(cancelled), K, K, K, K, K, K, K, K, K, K, K},
    // overpaid
    {X, K, T(paid), K, V, R, T(cancelled), K, K, K, K, K, K, K, K, K, K, K},
    // cancelled: terminal
    {X, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K, K},
    // written_off: terminal; money that arrives later is recovered cash, for an operator
    {X, K, K, K, K, K, T(cancelled), K, K, K, K, K, K, K, K, K, K, K},
}};

constexpr std::array<std::string_view, status_count> status_names = {
    "open",           "overdue", "disputed", "promised",  "payment_plan",
    "partially_paid", "paid",    "overpaid", "cancelled", "written_off"};

constexpr std::array<std::string_view, trigger_count> trigger_names = {
    "settlement_offered", "settled_partially", "settled_fully",     "settled_over",
    "settlement_removed", "amount_changed",    "cancelled",         "written_off_partially",
    "written_off_fully",  "dispute_opened",    "disputes_resolved", "promise_recorded",
    "promise_kept",       "plan_agreed",       "plan_completed",    "due_date_passed",
    "promise_expired",    "instalment_late"};

}  // namespace

std::string_view status_name(Status status) {
  return status_names[static_cast<std::size_t>(status)];
}

std::optional<Status> status_from_name(std::string_view name) {
  for (std::size_t i = 0; i < status_names.size(); ++i) {
    if (status_names[i] == name) return static_cast<Status>(i);
  }
  return std::nullopt;
}

bool is_closed(Status status) {
  return status == paid || status == overpaid || status == cancelled || status == written_off;
}

std::string_view trigger_name(Trigger trigger) {
  return trigger_names[static_cast<std::size_t>(trigger)];
}

Transition transition(Status from, Trigger trigger) {
  return table[static_cast<std::size_t>(from)][static_cast<std::size_t>(trigger)];
}

}  // namespace relance::core::engine
