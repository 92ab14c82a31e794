#pragma once
// The receivable state machine: ONE table, status x trigger -> target (+ alert). Every status
// change of a receivable goes through transition(); nothing else decides a status.

#include <cstdint>
#include <optional>
#include <string_view>

namespace relance::core::engine {

enum class Status : std::uint8_t {
  open,            // not yet due, nothing paid
  overdue,         // past due (time), money still owed, no pause
  disputed,        // a dispute is open: dunning paused
  promised,        // the customer promised to pay: paused until promised date + grace
  payment_plan,    // instalments agreed: paused while they are honoured
  partially_paid,  // not yet due, part paid
  paid,
  overpaid,  // more applied than owed (explicit allocation, or the invoice was reduced)
  cancelled,
  written_off,
};
inline constexpr int status_count = 10;
std::string_view status_name(Status status);
std::optional<Status> status_from_name(std::string_view name);
// Statuses in which nothing is owed any more: no dunning, no exposure.
bool is_closed(Status status);

enum class Trigger : std::uint8_t {
  settlement_offered,     // a payment or credit note targets the receivable
  settled_partially,      // money applied, some still open
  settled_fully,          // open reached zero
  settled_over,           // open went below zero
  settlement_removed,     // a payment reversed: its money taken back
  amount_changed,         // a newer invoice version changed the amount
  cancelled,              // invoice.cancelled
  written_off_partially,  // invoice.written_off, part of the open amount
  written_off_fully,      // invoice.written_off, what was open
  dispute_opened,
  disputes_resolved,  // the last open dispute was resolved
  promise_recorded,
  promise_kept,
  plan_agreed,
  plan_completed,
  // Time alone (evaluated against the evaluation date, never stored as events).
  due_date_passed,
  promise_expired,
  instalment_late,
};
inline constexpr int trigger_count = 18;
std::string_view trigger_name(Trigger trigger);

// What the table says. `reassess` recomputes the status from the receivable's balance and
// pauses (used when leaving a pause or a settled state); `refuse` means the receivable does not
// accept the money (it stays on the customer's account and an alert is raised).
enum class Target : std::uint8_t { keep, to, reassess, refuse };
enum class TableAlert : std::uint8_t { none, on_closed_receivable, payment_over, payment_reversed };

struct Transition {
  Target target;
  Status status;  // meaningful when target == to
  TableAlert alert;
};

Transition transition(Status from, Trigger trigger);

}  // namespace relance::core::engine
