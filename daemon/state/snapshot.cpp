#include "state/snapshot.hpp"

#include <algorithm>
#include <numeric>

namespace relance::state {

using core::dunning::Standing;
using core::engine::Engine;
using core::engine::no_index;
using core::engine::Status;

Standing standing_of(Status status) {
  switch (status) {
    case Status::open:
    case Status::overdue:
    case Status::partially_paid:
      return Standing::active;
    case Status::disputed:
      return Standing::disputed;
    case Status::promised:
      return Standing::promised;
    case Status::payment_plan:
      return Standing::payment_plan;
    case Status::paid:
    case Status::overpaid:
    case Status::cancelled:
    case Status::written_off:
      return Standing::closed;
  }
  return Standing::closed;
}

namespace {

// The plan's instalments for the receivable that carries them (see receivable_snapshot()).
std::vector<core::dunning::Instalment> plan_instalments(
    const Engine& engine, const core::engine::Receivable& receivable) {
  const core::engine::Record& plan = engine.record(receivable.plan);
  for (const std::uint32_t covered : plan.derived.covered) {
    if (engine.receivable(covered).invoice_id < receivable.invoice_id) return {};
  }
  std::vector<core::dunning::Instalment> instalments;
  std::int64_t paid = plan.derived.paid;
  const std::size_t count = std::min(plan.dates.size(), plan.amounts.size());
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t covered = std::clamp<std::int64_t>(paid, 0, plan.amounts[i]);
    paid -= covered;
    instalments.push_back(
        {plan.dates[i], core::Money{plan.amounts[i] - covered, plan.amount.currency}});
  }
  return instalments;
}

}  // namespace

core::dunning::ReceivableSnapshot receivable_snapshot(
    const Engine& engine, const core::engine::Receivable& receivable,
    const core::dunning::DunningProgress& progress) {
  core::dunning::ReceivableSnapshot snapshot;
  snapshot.invoice_id = receivable.invoice_id;
  snapshot.number = receivable.number;
  snapshot.customer_id = engine.customer_id(receivable);
  snapshot.standing = Engine::owes(receivable) ? standing_of(receivable.status) : Standing::closed;
  snapshot.original = core::Money{receivable.original, receivable.currency};
  snapshot.open = core::Money{receivable.open, receivable.currency};
  snapshot.issue_date = receivable.issue_date;
  snapshot.due_date = receivable.due_date;
  snapshot.progress = progress;
  if (snapshot.standing == Standing::promised && receivable.promise != no_index) {
    snapshot.paused_through =
        engine.record(receivable.promise).deadline(engine.options().promise_grace_days);
  }
  if (snapshot.standing == Standing::payment_plan && receivable.plan != no_index) {
    snapshot.instalments = plan_instalments(engine, receivable);
  }
  return snapshot;
}

core::dunning::CustomerSnapshot customer_snapshot(const Engine& engine,
                                                  const core::engine::Customer& customer,
                                                  std::vector<core::Timestamp> recent_contacts) {
  core::dunning::CustomerSnapshot snapshot;
  snapshot.customer_id = customer.id;
  snapshot.name = customer.profile.name.empty() ? customer.id : customer.profile.name;
  snapshot.segment = customer.profile.segment;
  snapshot.timezone = customer.profile.timezone;
  snapshot.language = customer.profile.language;
  snapshot.emails = customer.profile.emails;
  snapshot.recent_contacts = std::move(recent_contacts);
  // Credits are the money the customer's payments and credit notes hold unapplied; the
  // customer's unapplied cash is its sum per currency (each held amount is positive). None: no
  // credit to look for, however long the customer's history.
  const bool holds_money = std::any_of(
      customer.unapplied.begin(), customer.unapplied.end(),
      [](const core::engine::CurrencyAmount& unapplied) { return unapplied.amount != 0; });
  if (!holds_money) return snapshot;
  for (const core::engine::HistoryItem& item : customer.history) {
    if (item.invoice) continue;
    const core::engine::Record& record = engine.record(item.index);
    if (record.kind != core::engine::RecordKind::credit_note &&
        record.kind != core::engine::RecordKind::payment) {
      continue;
    }
    if (record.derived.reversed) continue;
    const std::int64_t unapplied = record.unapplied();
    if (unapplied <= 0) continue;
    snapshot.credits.push_back({record.kind == core::engine::RecordKind::credit_note
                                    ? core::dunning::CreditLine::Kind::credit_note
                                    : core::dunning::CreditLine::Kind::unapplied_cash,
                                record.key, record.date,
                                core::Money{unapplied, record.amount.currency}});
  }
  return snapshot;
}

LateBalance late_balance(const core::engine::Receivable& receivable) {
  const core::Currency currency = receivable.currency;
  std::int64_t at_due = receivable.original;
  std::vector<std::pair<core::Date, std::int64_t>> after;
  for (const core::engine::TimelineEntry& entry : receivable.timeline) {
    if (entry.amount == 0) continue;
    if (entry.date <= receivable.due_date) {
      at_due -= entry.amount;
    } else if (entry.amount > 0) {
      after.emplace_back(entry.date, entry.amount);
    } else {
      // Money taken back after the due date cancels the latest payments first; beyond them it
      // had been paid before the due date.
      std::int64_t back = -entry.amount;
      while (back > 0 && !after.empty()) {
        const std::int64_t taken = std::min(back, after.back().second);
        after.back().second -= taken;
        back -= taken;
        if (after.back().second == 0) after.pop_back();
      }
      at_due += back;
    }
  }
  std::sort(after.begin(), after.end());
  const std::int64_t paid =
      std::accumulate(after.begin(), after.end(), std::int64_t{0},
                      [](std::int64_t sum, const auto& payment) { return sum + payment.second; });
  LateBalance balance;
  if (paid > at_due || at_due < 0) {
    // Not consistent with the current amount (a newer version changed it): the open amount
    // from the due date is the claim that can be justified.
    balance.at_due_date = core::Money{std::max<std::int64_t>(receivable.open, 0), currency};
    return balance;
  }
  balance.at_due_date = core::Money{at_due, currency};
  for (const auto& [date, amount] : after) {
    balance.paid_after.emplace_back(date, core::Money{amount, currency});
  }
  return balance;
}

}  // namespace relance::state
