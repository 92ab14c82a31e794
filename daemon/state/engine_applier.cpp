#include "state/engine_applier.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <utility>
#include <vector>

#include "core/engine/views.hpp"
#include "state/alert_topic.hpp"

namespace relance::state {

namespace json = boost::json;
using core::engine::Engine;

namespace {

// Journal rows read per call while replaying: bounded memory whatever the journal's size.
constexpr std::size_t replay_page_events = 4096;

std::int64_t micros(core::Timestamp instant) {
  return static_cast<std::int64_t>(instant.time_since_epoch().count());
}

}  // namespace

std::vector<std::uint32_t> ChangedIndexes::take() {
  std::sort(indexes_.begin(), indexes_.end());
  indexes_.erase(std::unique(indexes_.begin(), indexes_.end()), indexes_.end());
  return std::exchange(indexes_, {});
}

// No view_json: the documents are computed from the blobs when read (state/views_on_read.hpp).
store::StateRow receivable_row(const Engine& engine, const core::engine::Receivable& receivable) {
  return store::StateRow{store::StateKind::receivable,
                         receivable.invoice_id,
                         engine.customer_id(receivable),
                         engine.serialize_receivable(receivable),
                         {}};
}

store::StateRow customer_row(const Engine& engine, const core::engine::Customer& customer) {
  return store::StateRow{store::StateKind::customer,
                         customer.id,
                         customer.id,
                         engine.serialize_customer(customer),
                         {}};
}

store::StateRow record_row(const Engine& engine, const core::engine::Record& record) {
  return store::StateRow{store::StateKind::record,
                         record.identity,
                         engine.customer(record.customer).id,
                         engine.serialize_record(record),
                         {}};
}

store::AlertRow alert_row(const core::engine::Alert& alert, core::Timestamp raised_at) {
  store::AlertRow row;
  row.id = alert.id;
  row.kind = std::string(core::engine::alert_kind_name(alert.kind));
  row.severity = std::string(core::engine::severity_name(alert.severity));
  row.status = store::AlertStatus::open;
  row.customer_id = alert.customer_id;
  row.json = json::serialize(core::engine::alert_view(alert));
  row.raised_at = raised_at;
  return row;
}

Result<core::Timestamp> replay_journal(store::Store& store, Engine& engine) {
  core::Timestamp last{};
  std::int64_t after = 0;
  while (true) {
    auto page = store.read_journal(after, replay_page_events);
    if (!page) return page.error();
    for (const store::StoredEvent& stored : *page) {
      auto event = core::parse_event(stored.json);
      if (!event) {
        return Error{"journal[" + std::to_string(stored.sequence) + "]",
                     "event " + stored.source + " " + stored.id +
                         " no longer parses: " + event.error().to_string()};
      }
      (void)engine.apply(*event, stored.received_at);
      last = std::max(last, stored.received_at);
      after = stored.sequence;
    }
    if (page->size() < replay_page_events) return last;
  }
}

Result<std::unique_ptr<EngineApplier>> EngineApplier::open(store::Store& store,
                                                           core::engine::EngineOptions options) {
  std::unique_ptr<EngineApplier> applier(new EngineApplier(store, std::move(options)));
  if (auto loaded = applier->reload(); !loaded) return loaded.error();
  applier->reloads_ = 0;

  const Engine& engine = *applier->engine_;
  bool rewrite = engine.loaded_records_inline();
  if (engine.receivable_count() == 0 && engine.customer_count() <= 1) {
    auto journal = store.journal_size();
    if (!journal) return journal.error();
    if (*journal > 0) {
      // A journal without state: rebuild it once, as the writer would have written it.
      applier->engine_ = std::make_unique<Engine>(applier->options_);
      auto last = replay_journal(store, *applier->engine_);
      if (!last) return last.error();
      applier->evaluated_at_ = *last;
      rewrite = true;
    }
  }
  if (rewrite) {
    auto transaction = store.begin();
    if (!transaction) return transaction.error();
    if (auto written = applier->write_everything(**transaction); !written) {
      return written.error();
    }
    if (auto committed = (*transaction)->commit(); !committed) return committed.error();
  }
  return applier;
}

Result<void> EngineApplier::reload() {
  ++reloads_;
  receivables_.clear();
  customers_.clear();
  customer_rows_.clear();
  records_.clear();
  dirty_ = false;
  needs_reload_ = true;
  std::vector<std::string> customers;
  std::vector<std::string> receivables;
  std::vector<std::string> records;
  auto collect = [](std::vector<std::string>& into) {
    return [&into](std::string_view blob) -> Result<void> {
      into.emplace_back(blob);
      return {};
    };
  };
  if (auto read = store_.for_each_state(store::StateKind::customer, collect(customers)); !read) {
    return read.error();
  }
  if (auto read = store_.for_each_state(store::StateKind::receivable, collect(receivables));
      !read) {
    return read.error();
  }
  if (auto read = store_.for_each_state(store::StateKind::record, collect(records)); !read) {
    return read.error();
  }
  auto offsets = store_.source_offsets(clock_source);
  if (!offsets) return offsets.error();
  const core::Timestamp at =
      offsets->empty() ? core::Timestamp{}
                       : core::Timestamp(std::chrono::microseconds(offsets->front().offset));
  auto engine = std::make_unique<Engine>(options_);
  if (auto loaded = engine->load(customers, receivables, records, at); !loaded) {
    return Error{loaded.error().field,
                 "the stored engine state cannot be loaded: " + loaded.error().message};
  }
  open_alerts_.clear();
  for (const core::engine::Alert& alert : engine->alerts()) {
    open_alerts_.emplace(
        alert.id,
        OpenAlert{alert.customer_id, std::string(core::engine::alert_kind_name(alert.kind)),
                  std::string(core::engine::severity_name(alert.severity))});
  }
  engine_ = std::move(engine);
  evaluated_at_ = at;
  needs_reload_ = false;
  ++generation_;
  return {};
}

Result<void> EngineApplier::record(store::Transaction& transaction,
                                   const core::engine::Changes& changes, core::Timestamp now,
                                   bool only_owned) {
  const bool filter = only_owned && owns_;
  for (const std::uint32_t r : changes.receivables) {
    if (filter && !owns_(engine_->customer_id(engine_->receivable(r)))) continue;
    receivables_.add(r);
  }
  for (const std::uint32_t c : changes.customers) {
    if (!filter || owns_(engine_->customer(c).id)) customers_.add(c);
  }
  for (const std::uint32_t c : changes.customer_rows) {
    if (!filter || owns_(engine_->customer(c).id)) customer_rows_.add(c);
  }
  for (const std::uint32_t rec : changes.records) {
    if (!filter || owns_(engine_->customer(engine_->record(rec).customer).id)) records_.add(rec);
  }
  // Alerts are few next to events: written as they come, which keeps their order.
  for (const core::engine::Alert& alert : changes.raised) {
    if (filter && !owns_(alert.customer_id)) continue;
    const store::AlertRow row = alert_row(alert, now);
    if (auto raised = transaction.raise_alert(row); !raised) return raised;
    if (alerts_sink_.empty()) continue;
    open_alerts_.insert_or_assign(alert.id, OpenAlert{alert.customer_id, row.kind, row.severity});
    if (auto queued = enqueue_alert(transaction, alerts_sink_,
                                    opened_notice(row, alert.invoice_ids, alert.message));
        !queued) {
      return queued;
    }
  }
  // A resolved alert no longer says whose it was: resolved whoever the owner (the owner's
  // engine resolves it by the same rule).
  for (const std::string& id : changes.resolved) {
    if (auto resolved = transaction.resolve_alert(id, now); !resolved) return resolved;
    if (alerts_sink_.empty()) continue;
    connectors::AlertNotice notice;
    notice.alert_id = id;
    notice.status = "resolved";
    notice.at = now;
    if (const auto open = open_alerts_.find(id); open != open_alerts_.end()) {
      notice.customer_id = open->second.customer_id;
      notice.kind = open->second.kind;
      notice.severity = open->second.severity;
      open_alerts_.erase(open);
    }
    // Time alone resolved it: the customer's owner publishes it (each daemon's engine resolves
    // it by the same rule).
    if (filter && !owns_(notice.customer_id)) continue;
    if (auto queued = enqueue_alert(transaction, alerts_sink_, notice); !queued) return queued;
  }
  return {};
}

Result<void> EngineApplier::refresh_if_requested() {
  // Only between transactions: a reload in the middle of one would drop what it applied.
  if (!dirty_ && refresh_requested_.exchange(false)) needs_reload_ = true;
  if (needs_reload_) return reload();
  return {};
}

Result<void> EngineApplier::apply(store::Transaction& transaction, const core::Event& event,
                                  core::Timestamp now) {
  if (auto refreshed = refresh_if_requested(); !refreshed) return refreshed.error();
  dirty_ = true;
  evaluated_at_ = std::max(evaluated_at_, now);
  return record(transaction, engine_->apply(event, now), now, false);
}

bool EngineApplier::advance_due(core::Timestamp now) const {
  return needs_reload_ || refresh_requested_.load() ||
         core::utc_date(now) > engine_->evaluated_on();
}

Result<void> EngineApplier::advance(store::Transaction& transaction, core::Timestamp now) {
  if (auto refreshed = refresh_if_requested(); !refreshed) return refreshed.error();
  dirty_ = true;
  evaluated_at_ = std::max(evaluated_at_, now);
  return record(transaction, engine_->advance(now), now, true);
}

EngineApplier::Changed EngineApplier::take_changed() {
  return Changed{receivables_.take(), customers_.take(), customer_rows_.take(), records_.take()};
}

Result<void> EngineApplier::write_rows(store::Transaction& transaction,
                                       const Changed& changed) const {
  for (const std::uint32_t r : changed.receivables) {
    const store::StateRow row = receivable_row(*engine_, engine_->receivable(r));
    if (auto put = transaction.put_state(row); !put) return put;
  }
  for (const std::uint32_t c : changed.customer_rows) {
    const store::StateRow row = customer_row(*engine_, engine_->customer(c));
    if (auto put = transaction.put_state(row); !put) return put;
  }
  for (const std::uint32_t rec : changed.records) {
    const store::StateRow row = record_row(*engine_, engine_->record(rec));
    if (auto put = transaction.put_state(row); !put) return put;
  }
  return {};
}

Result<void> EngineApplier::before_commit(store::Transaction& transaction) {
  if (!dirty_) return {};
  if (auto written = write_rows(transaction, take_changed()); !written) return written;
  return transaction.put_source_offset(
      store::SourceOffset{std::string(clock_source), 0, micros(evaluated_at_)});
}

Result<void> EngineApplier::set_dunning_level(const std::string& invoice_id, int level) {
  const std::optional<std::uint32_t> r = engine_->receivable_index(invoice_id);
  const auto clamped = static_cast<std::uint8_t>(std::clamp(level, 0, 255));
  if (!r || engine_->receivable(*r).dunning_level == clamped) return {};
  if (auto set = engine_->set_dunning_level(invoice_id, clamped); !set) return set;
  receivables_.add(*r);
  dirty_ = true;
  return {};
}

void EngineApplier::committed() {
  receivables_.clear();
  customers_.clear();
  customer_rows_.clear();
  records_.clear();
  dirty_ = false;
}

void EngineApplier::rolled_back() {
  if (!dirty_ && !needs_reload_) return;  // nothing was applied since the last commit
  // A failed reload leaves needs_reload_ set: the next apply() tries again and fails the
  // transaction rather than apply on top of a state the store does not hold.
  (void)reload();
}

Result<void> EngineApplier::write_everything(store::Transaction& transaction) {
  const Engine& engine = *engine_;
  for (std::uint32_t r = 0; r < engine.receivable_count(); ++r) receivables_.add(r);
  for (std::uint32_t c = 0; c < engine.customer_count(); ++c) {
    customers_.add(c);
    customer_rows_.add(c);
  }
  for (std::uint32_t rec = 0; rec < engine.record_count(); ++rec) records_.add(rec);
  for (const core::engine::Alert& alert : engine.alerts()) {
    if (auto raised = transaction.raise_alert(alert_row(alert, evaluated_at_)); !raised) {
      return raised;
    }
  }
  dirty_ = true;
  auto written = before_commit(transaction);
  committed();
  return written;
}

}  // namespace relance::state
