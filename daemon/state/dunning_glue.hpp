#pragma once
// The dunning glue: keeps the scheduler in step with the engine and turns what it decides into
// deliveries. No store and no clock: the daemon's writer (DunningApplier) persists what it
// reports in its transaction, and `relanced simulate` drives it with a virtual clock, so that
// both run the same code.
//
// sync() converts every receivable and customer the engine changed into scheduler snapshots;
// tick() runs the scheduler at `now` and renders each action. What must be persisted for a
// restart to continue where it stood (progress per receivable, recent contacts per customer)
// and the alerts for operators are collected until take_*() is called.
//
// An action that cannot be rendered (no address, a template, a rate or the company's address
// missing) is not a step done: the scheduler holds it (Scheduler::hold), its invoices keep the
// level they had, and it is tried again after DunningSetup::retry_delay, as soon as the
// receivable or the customer changes (an address given), or at the next start (a corrected
// config). A missing address or destination holds the customer's channel: the customer's other
// steps on it that come due meanwhile wait with it, and only a change of the customer (or the
// retry) brings them back. Its alert stays open meanwhile and is resolved when the step goes out.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dunning/late_payment.hpp"
#include "core/dunning/scheduler.hpp"
#include "core/dunning/templates.hpp"
#include "core/engine/engine.hpp"
#include "core/string_map.hpp"
#include "state/render.hpp"

namespace relance::state {

// What dunning needs, loaded once (see dunning_setup.hpp).
struct DunningSetup {
  DunningSetup(core::dunning::PolicySet policies_in, core::dunning::TemplateSet templates_in,
               core::dunning::LatePaymentRates rates_in)
      : policies(std::move(policies_in)),
        templates(std::move(templates_in)),
        rates(std::move(rates_in)) {}
  core::dunning::PolicySet policies;
  core::dunning::TemplateSet templates;
  core::dunning::LatePaymentRates rates;
  std::vector<core::dunning::BusinessCalendar> calendars;  // beyond the built-in ones
  core::dunning::SchedulerOptions scheduler;
  RenderSettings render;
  // An action that could not be rendered is tried again after this long (in the send window)
  // unless new data brings it back sooner. Long next to the writer's tick: what is missing is
  // mostly data (an address, which reschedules at once when it comes) or config (a restart).
  std::chrono::microseconds retry_delay{std::chrono::hours(1)};
  // While events come in, due steps are looked for at most this often (dunning.tick_interval),
  // so that a customer's invoices arriving in a burst make one run, not one per transaction.
  // 0: at every transaction.
  std::chrono::microseconds tick_interval{0};
  // A tick takes at most about this many receivables' steps (Scheduler::tick); the rest of a
  // backlog goes in the next transactions, one after the other.
  std::size_t tick_receivables_max = 5'000;
};

// An alert for operators about dunning (the engine's are about reconciliation).
struct DunningNotice {
  std::string id;    // stable: raised again, the same alert is updated
  std::string kind;  // "dunning.no_email_address", "dunning.action_failed", ...
  std::string severity;
  std::string customer_id;
  std::vector<std::string> invoice_ids;
  std::string message;
  bool resolve = false;  // the condition no longer holds
};

// One action of a tick: rendered for its sink, or failed with the reason.
struct Outgoing {
  core::dunning::Action action;
  RenderOutcome outcome;
};

struct TickOutput {
  // Rendered actions, and those that failed for a reason not reported yet (a retry failing as
  // before is held without a word: its alert is open already).
  std::vector<Outgoing> outgoing;
  std::vector<core::dunning::SkippedStep> skipped;  // not those of held invoices
  std::size_t held = 0;                             // actions held, reported or not
  bool unfinished = false;  // customers still due past tick_receivables_max: tick again at once
};

class DunningGlue {
 public:
  // Whether this daemon schedules a customer's receivables (several daemons share a Kafka
  // topic: each schedules the customers of the partitions it owns). Empty: every customer.
  using Ownership = std::function<bool(std::string_view customer_id)>;

  static Result<std::unique_ptr<DunningGlue>> create(std::shared_ptr<const DunningSetup> setup,
                                                     Ownership owns = {});

  // A fresh scheduler from the engine's whole state and what was stored: progress per invoice,
  // recent contacts per customer, the ids of the dunning alerts open (to resolve them when
  // their cause goes). Receivables of customers not owned are left out.
  Result<void> rebuild(const core::engine::Engine& engine, core::Timestamp now,
                       core::StringMap<core::dunning::DunningProgress> progress,
                       std::unordered_map<std::string, std::vector<core::Timestamp>> contacts,
                       std::set<std::string> open_alerts = {});

  // The engine changed these (indexes into `engine`, each once; customers first: their profile
  // decides the receivables' policy). `now` dates the end of a pause.
  void sync(const core::engine::Engine& engine, std::span<const std::uint32_t> receivables,
            std::span<const std::uint32_t> customers, core::Timestamp now);

  // Takes effect at the next rebuild().
  void set_ownership(Ownership owns) { owns_ = std::move(owns); }

  std::optional<core::Timestamp> next_moment() const { return scheduler_.next_moment(); }
  bool due(core::Timestamp now) const {
    const auto next = scheduler_.next_moment();
    return next && *next <= now;
  }
  // Everything due at `now`, rendered. Marks the progress and contacts to persist.
  TickOutput tick(const core::engine::Engine& engine, core::Timestamp now);

  // Since the last take: invoices whose progress changed, customers whose contacts changed, and
  // the alerts to raise or resolve.
  std::set<std::string> take_changed_progress();
  std::set<std::string> take_changed_contacts();
  std::vector<DunningNotice> take_notices();
  // Alerts to write though nothing else happened (a rebuild resolved some).
  bool has_notices() const { return !notices_.empty(); }

  core::dunning::DunningProgress progress(const std::string& invoice_id) const;
  std::vector<core::Timestamp> contacts(const std::string& customer_id) const;
  const core::dunning::Scheduler& scheduler() const { return scheduler_; }
  const DunningSetup& setup() const { return *setup_; }

 private:
  DunningGlue(std::shared_ptr<const DunningSetup> setup, Ownership owns,
              core::dunning::Scheduler scheduler)
      : setup_(std::move(setup)), owns_(std::move(owns)), scheduler_(std::move(scheduler)) {}
  bool owned(std::string_view customer_id) const { return !owns_ || owns_(customer_id); }
  void sync_customer(const core::engine::Engine& engine, const core::engine::Customer& customer);
  // Whether the scheduler had the receivable before sync_receivable().
  enum class Scheduled { before, not_before };
  Scheduled sync_receivable(const core::engine::Engine& engine,
                            const core::engine::Receivable& receivable, core::Timestamp now);
  // Payment terms beyond the caps of Code de commerce L441-10 I (60 days, or 45 days end of
  // month): an alert as the invoice comes, resolved if the ERP corrects the dates.
  void check_terms(const core::engine::Receivable& receivable, const std::string& customer_id);
  void notice(DunningNotice notice);
  // False when that alert is open with that message already (nothing new to report).
  bool raise(const std::string& id, std::string_view kind, std::string_view severity,
             const std::string& customer_id, std::vector<std::string> invoice_ids,
             std::string message);
  void resolve(const std::string& id, std::string_view kind, const std::string& customer_id);
  // An alert about a held step of the customer on `channel`: kept open while such a step waits
  // (Scheduler::step_waiting), resolved by settle_held() once none does (the invoices paid,
  // cancelled, disputed...), not only when a step goes out.
  void watch_held(const std::string& customer_id, const std::string& id, std::string_view kind,
                  core::dunning::Channel channel);
  void settle_held(const std::string& customer_id, core::Timestamp now);

  std::shared_ptr<const DunningSetup> setup_;
  Ownership owns_;
  core::dunning::Scheduler scheduler_;
  core::StringMap<core::dunning::DunningProgress> progress_;
  std::unordered_map<std::string, std::vector<core::Timestamp>> contacts_;
  // Open dunning alerts by id, with the message they were raised with (empty: opened before
  // a restart): resolved when the cause goes away, not raised again with the same message.
  core::StringMap<std::string> open_alerts_;
  struct HeldAlert {
    std::string_view kind;
    core::dunning::Channel channel;
  };
  // Per customer, its open alerts about held steps, by id (see watch_held).
  std::unordered_map<std::string, std::map<std::string, HeldAlert>> held_alerts_;
  std::set<std::string> changed_progress_;
  std::set<std::string> changed_contacts_;
  std::vector<DunningNotice> notices_;
};

// The rows DunningApplier stores (StateKind::dunning and StateKind::contacts): small JSON
// documents, also served as their view.
std::string progress_json(std::string_view invoice_id,
                          const core::dunning::DunningProgress& progress);
Result<std::pair<std::string, core::dunning::DunningProgress>> parse_progress_json(
    std::string_view json);
std::string contacts_json(std::string_view customer_id,
                          const std::vector<core::Timestamp>& contacts);
Result<std::pair<std::string, std::vector<core::Timestamp>>> parse_contacts_json(
    std::string_view json);

}  // namespace relance::state
