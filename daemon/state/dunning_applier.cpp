#include "state/dunning_applier.hpp"

#include <boost/json.hpp>

#include <future>
#include <system_error>

#include "log/log.hpp"
#include "outbox/payload.hpp"
#include "state/alert_topic.hpp"

namespace relance::state {

namespace json = boost::json;
using core::dunning::DunningProgress;

namespace {

// Receivables changed in a transaction from which the scheduler takes them in on a thread of
// its own: below, starting the thread costs more than the overlap saves.
constexpr std::size_t parallel_sync_min = 1000;

store::AlertRow notice_row(const DunningNotice& notice, core::Timestamp at) {
  store::AlertRow row;
  row.id = notice.id;
  row.kind = notice.kind;
  row.severity = notice.severity;
  row.status = store::AlertStatus::open;
  row.customer_id = notice.customer_id;
  json::array ids;
  for (const std::string& id : notice.invoice_ids) ids.emplace_back(id);
  // The same members as the engine's alerts (core/engine/views.cpp alert_view).
  row.json = json::serialize(json::object{{"id", notice.id},
                                          {"kind", notice.kind},
                                          {"severity", notice.severity},
                                          {"customer_id", notice.customer_id},
                                          {"invoice_ids", std::move(ids)},
                                          {"message", notice.message}});
  row.raised_at = at;
  return row;
}

}  // namespace

Result<std::unique_ptr<DunningApplier>> DunningApplier::open(
    store::Store& store, EngineApplier& engine, std::shared_ptr<const DunningSetup> setup,
    DunningGlue::Ownership owns) {
  auto glue = DunningGlue::create(std::move(setup), std::move(owns));
  if (!glue) return glue.error();
  std::unique_ptr<DunningApplier> applier(
      new DunningApplier(store, engine, std::move(glue).value()));
  applier->now_ = engine.evaluated_at();
  if (auto rebuilt = applier->rebuild(); !rebuilt) return rebuilt.error();
  return applier;
}

Result<void> DunningApplier::rebuild() {
  core::StringMap<DunningProgress> progress;
  auto read_progress =
      store_.for_each_state(store::StateKind::dunning, [&](std::string_view blob) -> Result<void> {
        auto parsed = parse_progress_json(blob);
        if (!parsed) return parsed.error();
        progress.insert_or_assign(std::move(parsed->first), parsed->second);
        return {};
      });
  if (!read_progress) {
    return Error{read_progress.error().field,
                 "the stored dunning progress cannot be loaded: " + read_progress.error().message};
  }
  std::unordered_map<std::string, std::vector<core::Timestamp>> contacts;
  auto read_contacts =
      store_.for_each_state(store::StateKind::contacts, [&](std::string_view blob) -> Result<void> {
        auto parsed = parse_contacts_json(blob);
        if (!parsed) return parsed.error();
        contacts.insert_or_assign(std::move(parsed->first), std::move(parsed->second));
        return {};
      });
  if (!read_contacts) {
    return Error{read_contacts.error().field,
                 "the stored dunning contacts cannot be loaded: " + read_contacts.error().message};
  }
  // The dunning alerts still open: resolved when their cause goes (a step held goes out).
  std::set<std::string> open_alerts;
  for (std::string after;;) {
    auto page = store_.list_alerts(store::AlertStatus::open, after, 1000);
    if (!page) return page.error();
    for (const store::AlertRow& row : *page) {
      if (row.kind.starts_with("dunning.")) open_alerts.insert(row.id);
    }
    if (page->size() < 1000) break;
    after = page->back().id;
  }
  if (auto rebuilt = glue_->rebuild(engine_.engine(), now_, std::move(progress),
                                    std::move(contacts), std::move(open_alerts));
      !rebuilt) {
    return rebuilt;
  }
  // What a rebuild finds to change (a stored progress the scheduler shifts, an alert whose
  // cause went) is written with the next transaction.
  needs_rebuild_ = false;
  engine_generation_ = engine_.generation();
  return {};
}

Result<void> DunningApplier::apply(store::Transaction& transaction, const core::Event& event,
                                   core::Timestamp now) {
  now_ = std::max(now_, now);
  return engine_.apply(transaction, event, now);
}

bool DunningApplier::advance_due(core::Timestamp now) const {
  return engine_.advance_due(now) || needs_rebuild_ || rescan_.load() || glue_->due(now) ||
         glue_->has_notices();
}

Result<void> DunningApplier::advance(store::Transaction& transaction, core::Timestamp now) {
  now_ = std::max(now_, now);
  advancing_ = true;
  return engine_.advance(transaction, now);
}

Result<void> DunningApplier::before_commit(store::Transaction& transaction) {
  // A rescan after an assignment waits for the engine's refresh (the next transaction's start):
  // scheduling the new customers from a stale engine could remind a paid invoice.
  if (!engine_.refresh_pending() && rescan_.exchange(false)) {
    std::lock_guard lock(ownership_mutex_);
    if (pending_ownership_) glue_->set_ownership(*std::exchange(pending_ownership_, std::nullopt));
    needs_rebuild_ = true;
  }
  // The engine reloaded (a refresh, a failed commit): the schedule follows what it loaded.
  if (engine_generation_ != engine_.generation()) needs_rebuild_ = true;
  if (needs_rebuild_) {
    if (auto rebuilt = rebuild(); !rebuilt) return rebuilt;
  }
  // The scheduler takes in what the engine changed while this thread writes the engine's rows:
  // both only read the engine, and under load each is about a quarter of the writer's work. On a
  // thread of its own when the transaction is large enough to pay for one.
  const EngineApplier::Changed changed = engine_.take_changed();
  const auto sync = [&] {
    glue_->sync(engine_.engine(), changed.receivables, changed.customers, now_);
  };
  std::future<void> synced;
  if (changed.receivables.size() >= parallel_sync_min) {
    try {
      synced = std::async(std::launch::async, sync);
    } catch (const std::system_error&) {
      // No thread to be had (a process limit): the sync runs on this one, below.
    }
  }
  const Result<void> rows = engine_.write_rows(transaction, changed);
  if (synced.valid()) {
    synced.get();
  } else {
    sync();
  }
  if (!rows) return rows;
  if (auto written = write(transaction); !written) return written;
  // The rows of the receivables whose dunning level write() moved, and the engine's clock.
  return engine_.before_commit(transaction);
}

Result<void> DunningApplier::write(store::Transaction& transaction) {
  const core::engine::Engine& engine = engine_.engine();
  const bool tick_allowed = std::exchange(advancing_, false) || tick_unfinished_ || !last_tick_ ||
                            now_ - *last_tick_ >= glue_->setup().tick_interval;
  if (tick_allowed && glue_->due(now_)) {
    pending_tick_ = now_;
    TickOutput output = glue_->tick(engine, now_);
    tick_unfinished_ = output.unfinished;
    for (const Outgoing& outgoing : output.outgoing) {
      const core::dunning::Action& action = outgoing.action;
      if (!outgoing.outcome.rendered) {
        log::warn("dunning action not sent", {{"customer_id", action.customer_id},
                                              {"step", action.step},
                                              {"key", action.idempotency_key},
                                              {"reason", outgoing.outcome.failure->reason}});
        continue;
      }
      store::OutboxEntry entry;
      entry.idempotency_key = action.idempotency_key;
      entry.sink = outgoing.outcome.rendered->sink;
      entry.customer_id = action.customer_id;
      for (const auto& line : action.invoices) entry.invoice_ids.push_back(line.invoice_id);
      entry.payload = outbox::delivery_to_json(outgoing.outcome.rendered->delivery);
      entry.due_at = action.at;
      entry.created_at = now_;
      if (!copy_sink_.empty()) {
        store::OutboxEntry copy = entry;
        copy.idempotency_key += ":" + copy_sink_;
        copy.sink = copy_sink_;
        if (auto queued = transaction.enqueue(copy); !queued) return queued;
      }
      if (auto queued = transaction.enqueue(entry); !queued) return queued;
      ++enqueued_;
    }
    for (const core::dunning::SkippedStep& skipped : output.skipped) {
      log::info("dunning step skipped",
                {{"customer_id", skipped.customer_id},
                 {"invoice_id", skipped.invoice_id},
                 {"step", skipped.step},
                 {"planned", core::format_date(skipped.planned)},
                 {"reason", core::dunning::skip_reason_name(skipped.reason)}});
    }
  }
  for (const DunningNotice& notice : glue_->take_notices()) {
    if (notice.resolve) {
      if (auto resolved = transaction.resolve_alert(notice.id, now_); !resolved) return resolved;
    } else if (auto raised = transaction.raise_alert(notice_row(notice, now_)); !raised) {
      return raised;
    }
    // kafka.alerts_topic: the same notice on the topic (state/alert_topic.hpp).
    if (engine_.alerts_sink().empty()) continue;
    connectors::AlertNotice published =
        opened_notice(notice_row(notice, now_), notice.invoice_ids, notice.message);
    if (notice.resolve) published.status = "resolved";
    if (auto queued = enqueue_alert(transaction, engine_.alerts_sink(), published); !queued) {
      return queued;
    }
  }
  for (const std::string& invoice_id : glue_->take_changed_progress()) {
    const DunningProgress progress = glue_->progress(invoice_id);
    const core::engine::Receivable* receivable = engine.find_receivable(invoice_id);
    const std::string customer_id =
        receivable != nullptr ? engine.customer_id(*receivable) : std::string();
    const std::string document = progress_json(invoice_id, progress);
    if (auto put = transaction.put_state(store::StateRow{store::StateKind::dunning, invoice_id,
                                                         customer_id, document, document});
        !put) {
      return put;
    }
    if (auto level = engine_.set_dunning_level(invoice_id, progress.level); !level) return level;
  }
  for (const std::string& customer_id : glue_->take_changed_contacts()) {
    const std::string document = contacts_json(customer_id, glue_->contacts(customer_id));
    if (auto put = transaction.put_state(store::StateRow{store::StateKind::contacts, customer_id,
                                                         customer_id, document, document});
        !put) {
      return put;
    }
  }
  return {};
}

void DunningApplier::committed() {
  engine_.committed();
  if (pending_tick_) last_tick_ = std::exchange(pending_tick_, std::nullopt);
  enqueued_total_ += enqueued_;
  const bool wake = enqueued_ > 0;
  enqueued_ = 0;
  if (wake) {
    std::lock_guard lock(on_enqueued_mutex_);
    if (on_enqueued_) on_enqueued_();
  }
}

void DunningApplier::rolled_back() {
  engine_.rolled_back();
  enqueued_ = 0;
  advancing_ = false;
  pending_tick_.reset();
  // The scheduler may have moved on (a tick) in memory: start again from the stored state.
  (void)glue_->take_changed_progress();
  (void)glue_->take_changed_contacts();
  (void)glue_->take_notices();
  needs_rebuild_ = true;
}

void DunningApplier::set_ownership(DunningGlue::Ownership owns) {
  {
    std::lock_guard lock(ownership_mutex_);
    pending_ownership_ = std::move(owns);
  }
  rescan_.store(true);
}

void DunningApplier::set_on_enqueued(std::function<void()> on_enqueued) {
  std::lock_guard lock(on_enqueued_mutex_);
  on_enqueued_ = std::move(on_enqueued);
}

}  // namespace relance::state
