#include "core/engine/views.hpp"

#include <algorithm>

#include <boost/json.hpp>

namespace relance::core::engine {
namespace json = boost::json;
namespace {

json::string decimal(std::int64_t amount, Currency currency) {
  return json::string(format_decimal(Money{amount, currency}));
}

json::array amounts(const std::vector<CurrencyAmount>& totals) {
  json::array out;
  for (const CurrencyAmount& t : totals) {
    out.push_back(
        json::object{{"currency", t.currency.code()}, {"amount", decimal(t.amount, t.currency)}});
  }
  return out;
}

json::string date_text(Date d) { return json::string(format_date(d)); }

}  // namespace

json::object receivable_view(const Engine& engine, const Receivable& r, Date today) {
  json::object out;
  out["invoice_id"] = r.invoice_id;
  out["customer_id"] = engine.customer_id(r);
  if (!r.number.empty()) out["number"] = r.number;
  out["currency"] = r.currency.code();
  out["original_amount"] = decimal(r.original, r.currency);
  out["open_amount"] = decimal(r.open, r.currency);
  out["issue_date"] = date_text(r.issue_date);
  out["due_date"] = date_text(r.due_date);
  out["status"] = status_name(r.status);
  out["dunning_level"] = r.dunning_level;
  if (r.version >= 0) out["version"] = r.version;
  if (Engine::owes(r)) {
    out["days_past_due"] = Engine::days_past_due(r, today);
  } else if (std::optional<int> late = Engine::days_late(r)) {
    out["days_late"] = *late;
    out["settled_date"] = date_text(r.settled_date);
  }
  if (r.open_disputes > 0) out["open_disputes"] = r.open_disputes;
  if (r.promise != no_index) {
    const Record& p = engine.record(r.promise);
    out["promise"] =
        json::object{{"promise_id", p.key},
                     {"amount", decimal(p.amount.minor_units, p.amount.currency)},
                     {"promised_date", date_text(p.promised_date)},
                     {"deadline", date_text(p.deadline(engine.options().promise_grace_days))}};
  }
  if (r.plan != no_index) {
    const Record& p = engine.record(r.plan);
    json::array instalments;
    for (std::size_t i = 0; i < p.dates.size() && i < p.amounts.size(); ++i) {
      instalments.push_back(json::object{{"due_date", date_text(p.dates[i])},
                                         {"amount", decimal(p.amounts[i], p.amount.currency)}});
    }
    out["payment_plan"] = json::object{{"plan_id", p.key},
                                       {"paid", decimal(p.derived.paid, p.amount.currency)},
                                       {"instalments", std::move(instalments)}};
  }
  // What each payment and credit note applied, net of reversals and releases.
  json::array payments;
  json::array timeline;
  timeline.push_back(json::object{{"date", date_text(r.issue_date)},
                                  {"kind", "issued"},
                                  {"amount", decimal(r.original, r.currency)}});
  std::vector<std::pair<std::uint32_t, std::int64_t>> applied;
  for (const TimelineEntry& e : r.timeline) {
    json::object entry{{"date", date_text(e.date)}, {"kind", entry_kind_name(e.kind)}};
    if (e.amount != 0) entry["amount"] = decimal(e.amount, r.currency);
    if (e.record != no_index) {
      const Record& rec = engine.record(e.record);
      entry[std::string(record_kind_name(rec.kind)) + "_id"] = rec.key;
      if (!rec.note.empty()) entry["note"] = rec.note;
      if (e.kind == EntryKind::payment || e.kind == EntryKind::credit_note ||
          e.kind == EntryKind::released) {
        auto it = std::find_if(applied.begin(), applied.end(),
                               [&](const auto& a) { return a.first == e.record; });
        if (it == applied.end()) {
          applied.push_back({e.record, e.amount});
        } else {
          it->second += e.amount;
        }
      }
    }
    timeline.push_back(std::move(entry));
  }
  for (const auto& [rec_index, total] : applied) {
    const Record& rec = engine.record(rec_index);
    if (rec.derived.reversed || total == 0) continue;
    payments.push_back(json::object{{"kind", record_kind_name(rec.kind)},
                                    {"id", rec.key},
                                    {"date", date_text(rec.date)},
                                    {"amount", decimal(total, r.currency)}});
  }
  out["payments"] = std::move(payments);
  out["timeline"] = std::move(timeline);
  return out;
}

json::object customer_view(const Engine& engine, const Customer& c, Date today) {
  json::object out;
  out["customer_id"] = c.id;
  const CustomerProfile& p = c.profile;
  json::object profile;
  profile["known"] = p.known;
  if (p.known) {
    profile["name"] = p.name;
    json::array emails;
    for (const std::string& e : p.emails) emails.push_back(json::string(e));
    profile["emails"] = std::move(emails);
    if (!p.language.empty()) profile["language"] = p.language;
    if (!p.timezone.empty()) profile["timezone"] = p.timezone;
    if (!p.segment.empty()) profile["segment"] = p.segment;
    if (!p.crm_id.empty()) profile["crm_id"] = p.crm_id;
    if (p.credit_limit) {
      profile["credit_limit"] =
          json::object{{"currency", p.credit_limit->currency.code()},
                       {"amount", decimal(p.credit_limit->minor_units, p.credit_limit->currency)}};
    }
  }
  out["profile"] = std::move(profile);
  out["exposure"] = amounts(c.exposure);
  out["unapplied"] = amounts(c.unapplied);
  if (std::optional<Date> oldest = engine.oldest_overdue(c, today)) {
    out["oldest_overdue_due_date"] = date_text(*oldest);
    out["oldest_overdue_days"] = days_between(*oldest, today);
  }
  json::array aging;
  for (const AgingBuckets& a : engine.aging(c, today)) {
    json::object buckets{{"currency", a.currency.code()}};
    for (int i = 0; i < 5; ++i) buckets[aging_bucket_names[i]] = decimal(a.buckets[i], a.currency);
    aging.push_back(std::move(buckets));
  }
  out["aging"] = std::move(aging);
  json::object behaviour;
  if (c.settled_count > 0) {
    // One decimal is enough to compare customers; exact sums stay in the blob.
    behaviour["average_days_late"] =
        static_cast<double>(c.days_late_sum * 10 / c.settled_count) / 10.0;
  } else {
    behaviour["average_days_late"] = nullptr;
  }
  behaviour["settled_invoices"] = c.settled_count;
  behaviour["promises_kept"] = c.promises_kept;
  behaviour["promises_broken"] = c.promises_broken;
  out["behaviour"] = std::move(behaviour);
  json::array invoices;
  for (std::uint32_t r : c.receivables) {
    invoices.push_back(json::string(engine.receivable(r).invoice_id));
  }
  out["invoice_ids"] = std::move(invoices);
  // Money waiting on the customer's account and why.
  json::array held;
  for (HistoryItem item : c.history) {
    if (item.invoice) continue;
    const Record& rec = engine.record(item.index);
    for (const Hold& h : rec.derived.holds) {
      json::object hold{{"kind", record_kind_name(rec.kind)},
                        {"id", rec.key},
                        {"reason", hold_reason_name(h.reason)},
                        {"amount", decimal(h.amount, rec.amount.currency)},
                        {"currency", rec.amount.currency.code()}};
      if (h.receivable != no_index) hold["invoice_id"] = engine.receivable(h.receivable).invoice_id;
      if (!h.invoice_id.empty()) hold["invoice_id"] = h.invoice_id;
      held.push_back(std::move(hold));
    }
  }
  out["unapplied_items"] = std::move(held);
  return out;
}

json::object alert_view(const Alert& alert) {
  json::object out;
  out["id"] = alert.id;
  out["kind"] = alert_kind_name(alert.kind);
  out["severity"] = severity_name(alert.severity);
  out["customer_id"] = alert.customer_id;
  json::array ids;
  for (const std::string& id : alert.invoice_ids) ids.push_back(json::string(id));
  out["invoice_ids"] = std::move(ids);
  if (!alert.payment_id.empty()) out["payment_id"] = alert.payment_id;
  if (alert.amount) {
    out["amount"] = decimal(alert.amount->minor_units, alert.amount->currency);
    out["currency"] = alert.amount->currency.code();
  }
  out["message"] = alert.message;
  return out;
}

}  // namespace relance::core::engine
