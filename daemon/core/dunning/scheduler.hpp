#pragma once
// The dunning scheduler: for every receivable under dunning, the next step due and the instant
// it may go out, kept in a set ordered by instant so that a tick costs the actions due (times
// log n), never the number of receivables. Pure: no clock, no I/O; `now` is an argument. The
// state glue calls update() whenever the engine changed a receivable or a customer, tick() on
// its timer, and persists the DunningProgress that both return.
//
// Rules (issue 4, points 2-4 and 9):
// - a step's date comes from the policy (due-5d, due+3bd, prev+7d), moves to the next business
//   day of the policy's calendar, then into the customer's send window in its time zone; when the
//   customer was contacted too recently (contact_pressure), to the first instant allowed;
// - one e-mail per customer per run: a statement listing every overdue invoice (and optionally
//   the soon-due ones) with credit notes and unapplied cash netted; CRM and escalation steps are
//   separate actions, one per customer and step;
// - disputed: no step for that invoice; promised: paused until the promised date plus grace,
//   then it resumes at the step it was; payment plan: reminders on the instalments instead;
//   closed (paid, cancelled, written off): removed. Leaving a pause shifts the rest of the
//   schedule by the time lost, so the step that was next goes out first and the spacing of the
//   policy is kept;
// - after downtime, when several steps of a receivable are due at once, only the latest goes out;
//   the earlier ones are reported as skipped.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/dunning/calendar.hpp"
#include "core/dunning/policy.hpp"
#include "core/dunning/templates.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace relance::core::dunning {

// Where a receivable stands for dunning (the engine's status, reduced).
enum class Standing : std::uint8_t {
  active,        // open, overdue or partially paid: the policy's steps apply
  disputed,      // no step for this invoice until resolved
  promised,      // paused through `paused_through`, then resumes
  payment_plan,  // reminders on the unpaid instalments instead of the policy's steps
  closed,        // paid, overpaid, cancelled, written off: nothing queued stays
};
std::string_view standing_name(Standing standing);

// What the scheduler remembers of a receivable across restarts; the glue persists it (the
// engine keeps `level` as the receivable's dunning_level) and passes it back in the snapshot.
struct DunningProgress {
  int level = 0;                       // steps of the policy passed (sent or skipped)
  std::optional<Date> last_step_date;  // date of the last step passed (prev-anchored steps)
  int shift_days = 0;                  // schedule delay accumulated by pauses
  int instalments_passed = 0;          // payment plan: instalments reminded (or skipped)
  bool operator==(const DunningProgress&) const = default;
};

struct Instalment {
  Date due_date;
  Money open;  // still owed on it; 0 when paid
};

struct ReceivableSnapshot {
  std::string invoice_id;
  std::string number;  // printed number; the invoice id when empty
  std::string customer_id;
  Standing standing = Standing::active;
  Money original;
  Money open;
  Date issue_date;
  Date due_date;
  std::optional<Date> paused_through;   // promised: the promised date plus grace (last day paused)
  std::vector<Instalment> instalments;  // payment_plan
  DunningProgress progress;
};

struct CustomerSnapshot {
  std::string customer_id;
  std::string name;
  std::string segment;                     // empty: none
  std::string timezone;                    // IANA; empty: SchedulerOptions::default_timezone
  std::string language;                    // BCP 47; empty: unknown
  std::vector<CreditLine> credits;         // credit notes and unapplied cash, netted in statements
  std::vector<Timestamp> recent_contacts;  // contacts already made (restart): contact pressure
  // Not scheduled on, but a change may let a held step go out (an address given at last).
  std::vector<std::string> emails;
  bool operator==(const CustomerSnapshot&) const = default;
};

// The template of payment-plan reminders (no policy names it: it replaces any policy's steps).
inline constexpr std::string_view default_instalment_template = "instalment_reminder";

struct SchedulerOptions {
  std::string default_timezone = "Europe/Paris";
  // Statements also list invoices falling due within this many days (0: overdue ones only).
  int statement_soon_due_days = 0;
  // Payment plans: one reminder per unpaid instalment, this many days from its due date.
  int instalment_reminder_offset_days = -3;
  std::string instalment_template = std::string(default_instalment_template);
  Channel instalment_channel = Channel::email;
};

struct ActionInvoice {
  std::string invoice_id;
  std::string number;
  Date issue_date;
  Date due_date;
  Money original;
  Money open;
  int days_late = 0;                // 0 when not yet due
  std::optional<int> step_reached;  // "relance n°N" (1-based) when this run moved it to step N
  std::optional<Date> instalment;   // payment plan reminder: the instalment's due date
};

struct Action {
  // dunning/<customer>/<step>/<date>/<hash of the invoices it moved>: the same on every run.
  std::string idempotency_key;
  Timestamp at;  // when it goes out (the tick's `now`)
  Date as_of;    // the customer's local date at `at`
  std::string customer_id;
  std::string policy;
  Channel channel = Channel::email;
  std::string step;     // the most advanced step of the run ("instalment" for plan reminders)
  int step_number = 0;  // its 1-based position in the policy (0 for instalment reminders)
  std::string template_name;
  std::string language;  // the customer's
  Claim claim = Claim::none;
  std::optional<Date> pay_by;           // formal notice: as_of + pay_within_days
  std::vector<ActionInvoice> invoices;  // listed, by due date then id in natural order
  std::vector<CreditLine> credits;      // netted (statements only)
  std::vector<Money> totals;            // per currency: open invoices minus credits
};

enum class SkipReason : std::uint8_t {
  superseded,  // a later step was due at the same time (downtime): only the latest goes out
  conditions,  // the step's conditions (segment, amount, currency) do not hold
  past_due,    // a step before the due date (courtesy) reached after the due date
};
std::string_view skip_reason_name(SkipReason reason);

struct SkippedStep {
  std::string customer_id;
  std::string invoice_id;
  std::string step;
  int step_number = 0;
  Date planned;  // the date the policy gave it
  SkipReason reason;
};

struct ProgressChange {
  std::string invoice_id;
  DunningProgress progress;
};

struct TickResult {
  std::vector<Action> actions;  // by customer id, then channel, then step
  std::vector<SkippedStep> skipped;
  std::vector<ProgressChange> progress;  // to persist, by invoice id
  // The tick reached its receivables_max with customers still due: tick again at once.
  bool unfinished = false;
};

class Scheduler {
 public:
  // Every policy's calendar must be built in ("fr", ...) or among `calendars`.
  static Result<Scheduler> create(PolicySet policies, std::vector<BusinessCalendar> calendars = {},
                                  SchedulerOptions options = {});
  ~Scheduler();
  Scheduler(Scheduler&&) noexcept;
  Scheduler& operator=(Scheduler&&) noexcept;

  // The customer's profile changed (segment, time zone, language, credits, addresses). Its
  // receivables are rescheduled and their held steps are due again; a snapshot equal to the
  // known profile, without new contacts, changes nothing. Error: an unknown time zone (nothing
  // changes).
  Result<void> update_customer(const CustomerSnapshot& customer);
  // The engine changed a receivable. `now` dates a pause's end (a dispute resolved today).
  // Returns the progress as it now stands (shifted when a pause ended). A receivable of a
  // customer never given takes the default profile.
  Result<DunningProgress> update(ReceivableSnapshot receivable, Timestamp now);
  // Forgets a receivable (same as a closed snapshot).
  void remove(std::string_view invoice_id);

  // Everything due at `now`, grouped per customer. Time only moves forward for contact
  // pressure: ticks are expected in increasing `now`.
  // At most about `receivables_max` receivables' steps per tick, whole customers (a customer's
  // run is never cut, however many of its receivables are due): after downtime or the import of
  // a ledger's backlog, a tick takes the backlog in parts, so that each transaction stays short
  // and its result small. The customers whose steps came due first go first.
  TickResult tick(Timestamp now, std::size_t receivables_max = SIZE_MAX);

  // What a hold is about: the action's invoices (a rate missing for their dates), or the
  // customer's channel as a whole (no e-mail address, no CRM to take a task).
  enum class HoldScope : std::uint8_t { invoices, channel };

  // The caller could not carry out an action of the last tick (it could not be rendered): the
  // step is not done. The invoices the action moved go back to the progress they had before
  // that tick, and their step is tried again at the first instant the send window allows on or
  // after `retry_at`, or sooner when their receivable or customer is updated (the missing data
  // may have come). When every action of the customer's run is held, the run does not count as
  // a contact. Returns the progress restored (by invoice id), which is the one to persist; empty
  // when the action is not one of the last tick's.
  // HoldScope::channel: until then, or until the customer is updated, every other step of the
  // customer on that channel that comes due waits with it, at the cost of a lookup: a customer
  // without an address whose invoices keep coming makes no action, no rendering and no hold
  // per invoice.
  std::vector<ProgressChange> hold(const Action& action, Timestamp retry_at,
                                   HoldScope scope = HoldScope::invoices);

  // Whether a step of the customer on `channel` is still to go out: a receivable still scheduled
  // (not closed, disputed or paused by a promise) whose next step is on that channel and whose
  // day has come by `now` in the customer's zone, however long it waits for the send window,
  // contact pressure or a hold's retry. A held step stays so until it goes out; once its
  // invoices are paid or settled otherwise it is not, which is when the caller's alert about it
  // may be resolved. Also true for a step due after a restart (the hold itself is not stored).
  bool step_waiting(std::string_view customer_id, Channel channel, Timestamp now);

  // The earliest instant something is scheduled (a simulation ticks there).
  std::optional<Timestamp> next_moment() const;
  // When the receivable's next action is scheduled; nullopt when nothing is.
  std::optional<Timestamp> scheduled_at(std::string_view invoice_id) const;
  std::optional<DunningProgress> progress(std::string_view invoice_id) const;
  std::size_t receivable_count() const;
  std::size_t scheduled_count() const;

  struct Impl;

 private:
  explicit Scheduler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relance::core::dunning
