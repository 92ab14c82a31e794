#include "outbox/dispatcher.hpp"

#include <algorithm>
#include <utility>

#include "log/log.hpp"
#include "outbox/payload.hpp"

namespace relance::outbox {

using store::OutboxRow;
using store::OutboxSettlement;
using store::OutboxStatus;

Dispatcher::Dispatcher(store::Store& store, const core::Clock& clock,
                       std::map<std::string, connectors::Sink*> sinks, Recheck recheck,
                       DispatcherOptions options, metrics::Registry* metrics)
    : store_(store),
      clock_(clock),
      sinks_(std::move(sinks)),
      recheck_(std::move(recheck)),
      options_(std::move(options)),
      metrics_(metrics),
      random_(options_.seed) {
  RELANCE_ASSERT(options_.batch_max > 0 && options_.attempts_max > 0 &&
                 options_.circuit_failures > 0);
  claim_one_at_a_time_ = std::any_of(sinks_.begin(), sinks_.end(), [](const auto& entry) {
    return !entry.second->redelivery_safe();
  });
  if (!options_.jitter) {
    options_.jitter = [this] { return std::uniform_real_distribution<double>(0.0, 1.0)(random_); };
  }
}

Dispatcher::~Dispatcher() { stop(); }

Result<Recovery> Dispatcher::recover() {
  const core::Timestamp now = clock_.now();
  // With a lease, only claims older than it are leftovers (other daemons may be sending now).
  const core::Timestamp claimed_before =
      now - std::chrono::duration_cast<std::chrono::microseconds>(options_.sending_lease);
  Recovery recovery;
  // A row in `sending` may or may not have reached its receiver. Those of a sink that cannot
  // drop a second copy are parked first; what stays in `sending` is then requeued in one go.
  std::int64_t after = 0;
  while (true) {
    auto rows = store_.list_outbox(OutboxStatus::sending, after, recovery_page_rows);
    if (!rows) return rows.error();
    for (const OutboxRow& row : *rows) {
      after = row.id;
      if (row.updated_at > claimed_before) continue;  // claimed since: not a leftover
      const auto found = sinks_.find(row.sink);
      if (found != sinks_.end() && found->second->redelivery_safe()) continue;
      auto parked = store_.settle_outbox(row.id, {OutboxStatus::dead, true, std::nullopt,
                                                  std::string(interrupted_send_error), now});
      if (!parked) return parked.error();
      if (!*parked) continue;  // settled meanwhile
      ++recovery.parked;
      count(row.sink, "interrupted");
      log::warn("outbox action interrupted while sending: delivery unknown, parked as dead",
                {{"id", row.id},
                 {"sink", std::string_view(row.sink)},
                 {"key", std::string_view(row.idempotency_key)}});
    }
    if (rows->size() < recovery_page_rows) break;
  }
  auto requeued = store_.requeue_outbox_sending(claimed_before, now);
  if (!requeued) return requeued.error();
  recovery.requeued = *requeued;
  if (recovery.requeued > 0) {
    log::warn("outbox rows left in sending by the previous run are pending again",
              {{"rows", recovery.requeued}});
  }
  return recovery;
}

Result<std::size_t> Dispatcher::run_once() {
  if (!claim_one_at_a_time_) {
    auto claimed = store_.claim_outbox(clock_.now(), options_.batch_max);
    if (!claimed) return claimed.error();
    for (const OutboxRow& row : *claimed) handle(row);
    return claimed->size();
  }
  // A crash parks every row found in `sending`: claimed one at a time, only the row whose send
  // was under way is parked, not the rest of a batch that had not been tried yet.
  std::size_t handled = 0;
  while (handled < options_.batch_max) {
    auto claimed = store_.claim_outbox(clock_.now(), 1);
    if (!claimed) {
      if (handled > 0) break;  // what was handled stays handled; the error comes back next turn
      return claimed.error();
    }
    if (claimed->empty()) break;
    handle(claimed->front());
    ++handled;
  }
  return handled;
}

void Dispatcher::handle(const OutboxRow& row) {
  const core::Timestamp now = clock_.now();
  if (options_.owns && !options_.owns(row.customer_id)) {
    // Another daemon owns this customer: hand the row back, no attempt counted.
    settle(row,
           {OutboxStatus::pending, false, now + options_.poll_interval,
            "customer " + row.customer_id + " is owned by another daemon", now},
           "postponed");
    return;
  }
  const auto found = sinks_.find(row.sink);
  if (found == sinks_.end()) {
    // A configuration problem, not the peer's: dead without an attempt, for an operator to
    // retry once the sink is configured.
    settle(row, {OutboxStatus::dead, false, std::nullopt, "no sink named " + row.sink, now},
           "dead");
    return;
  }
  {
    std::lock_guard lock(circuits_mutex_);
    Circuit& circuit = circuits_[row.sink];
    if (circuit.state == CircuitState::open) {
      if (now < circuit.open_until) {
        // Not an attempt: the row keeps its count and its last error.
        settle(row, {OutboxStatus::pending, false, circuit.open_until, row.last_error, now},
               "postponed");
        return;
      }
      circuit.state = CircuitState::half_open;  // this send is the probe
    }
  }
  if (recheck_) {
    auto verdict = recheck_(row);
    if (!verdict) {
      settle(row,
             {OutboxStatus::pending, false, now + options_.recheck_retry,
              "could not recheck before sending: " + verdict.error().to_string(), now},
             "postponed");
      return;
    }
    if (!verdict->send) {
      settle(row, {OutboxStatus::dropped, false, std::nullopt, verdict->reason, now}, "dropped");
      return;
    }
  }
  auto delivery = delivery_from_json(row.payload);
  if (!delivery) {
    settle(row, {OutboxStatus::dead, false, std::nullopt, delivery.error().to_string(), now},
           "dead");
    return;
  }
  delivery->idempotency_key = row.idempotency_key;  // the key the outbox keeps unique
  if (delivery->customer_id.empty()) delivery->customer_id = row.customer_id;  // Kafka's key

  const connectors::SinkAnswer answer = found->second->deliver(*delivery);
  const core::Timestamp after = clock_.now();
  switch (answer.outcome) {
    case connectors::SinkAnswer::Outcome::delivered:
      sink_answered(row.sink);
      settle(row, {OutboxStatus::delivered, true, std::nullopt, "", after}, "delivered");
      return;
    case connectors::SinkAnswer::Outcome::rejected:
      // The peer is up and said no: not a reason to open its circuit.
      sink_answered(row.sink);
      settle(row, {OutboxStatus::dead, true, std::nullopt, "rejected: " + answer.detail, after},
             "rejected");
      return;
    case connectors::SinkAnswer::Outcome::retry: {
      sink_failed(row.sink, after);
      const int attempts = row.attempts + 1;
      if (attempts >= options_.attempts_max) {
        settle(row,
               {OutboxStatus::dead, true, std::nullopt,
                "gave up after " + std::to_string(attempts) + " attempts: " + answer.detail, after},
               "dead");
        return;
      }
      std::chrono::microseconds delay = backoff(attempts);
      if (answer.retry_after && *answer.retry_after > delay) delay = *answer.retry_after;
      settle(row, {OutboxStatus::pending, true, after + delay, answer.detail, after}, "retry");
      return;
    }
  }
}

void Dispatcher::settle(const OutboxRow& row, const OutboxSettlement& settlement,
                        std::string_view outcome) {
  auto settled = store_.settle_outbox(row.id, settlement);
  if (!settled) {
    // The row stays in `sending`; recover() at the next start requeues or parks it.
    log::error("could not record an outbox outcome",
               {{"id", row.id}, {"outcome", outcome}, {"error", settled.error().to_string()}});
    return;
  }
  if (!*settled) {
    log::warn("outbox row was no longer in sending when its outcome came",
              {{"id", row.id}, {"outcome", outcome}});
  }
  count(row.sink, outcome);
  if (outcome == "delivered") {
    log::info("outbox action delivered", {{"id", row.id},
                                          {"sink", std::string_view(row.sink)},
                                          {"key", std::string_view(row.idempotency_key)}});
  } else if (outcome != "postponed") {
    log::write(outcome == "retry" || outcome == "dropped" ? log::Level::info : log::Level::warn,
               "outbox action not delivered",
               {{"id", row.id},
                {"sink", std::string_view(row.sink)},
                {"key", std::string_view(row.idempotency_key)},
                {"outcome", outcome},
                {"detail", std::string_view(settlement.last_error)}});
  }
}

std::chrono::microseconds Dispatcher::backoff(int failed_attempts) {
  using std::chrono::microseconds;
  const auto base = std::chrono::duration_cast<microseconds>(options_.backoff_base);
  const auto cap = std::chrono::duration_cast<microseconds>(options_.backoff_max);
  microseconds ceiling = std::min(base, cap);
  for (int n = 1; n < failed_attempts && ceiling < cap; ++n) ceiling = std::min(ceiling * 2, cap);
  const double draw = std::clamp(options_.jitter(), 0.0, 1.0);
  return microseconds(static_cast<std::int64_t>(draw * static_cast<double>(ceiling.count())));
}

void Dispatcher::sink_failed(const std::string& sink, core::Timestamp now) {
  bool opened = false;
  {
    std::lock_guard lock(circuits_mutex_);
    Circuit& circuit = circuits_[sink];
    ++circuit.consecutive_failures;
    if (circuit.state == CircuitState::half_open ||
        circuit.consecutive_failures >= options_.circuit_failures) {
      opened = circuit.state != CircuitState::open;
      circuit.state = CircuitState::open;
      circuit.open_until = now + options_.circuit_cooldown;
    }
  }
  if (opened) {
    log::warn("sink circuit open", {{"sink", std::string_view(sink)}});
    if (metrics_) {
      metrics_
          ->gauge("relance_outbox_circuit_open", "1 while a sink's circuit is open",
                  {{"sink", sink}})
          .set(1);
    }
  }
}

void Dispatcher::sink_answered(const std::string& sink) {
  bool closed = false;
  {
    std::lock_guard lock(circuits_mutex_);
    Circuit& circuit = circuits_[sink];
    closed = circuit.state != CircuitState::closed;
    circuit = Circuit{};
  }
  if (closed) {
    log::info("sink circuit closed", {{"sink", std::string_view(sink)}});
    if (metrics_) {
      metrics_
          ->gauge("relance_outbox_circuit_open", "1 while a sink's circuit is open",
                  {{"sink", sink}})
          .set(0);
    }
  }
}

CircuitState Dispatcher::circuit(const std::string& sink) const {
  std::lock_guard lock(circuits_mutex_);
  const auto found = circuits_.find(sink);
  return found == circuits_.end() ? CircuitState::closed : found->second.state;
}

void Dispatcher::count(const std::string& sink, std::string_view outcome) {
  if (!metrics_) return;
  metrics_
      ->counter("relance_outbox_deliveries_total",
                "Outbox rows handled by the dispatcher, by sink and outcome",
                {{"sink", sink}, {"outcome", std::string(outcome)}})
      .inc();
}

void Dispatcher::refresh_depth(bool force) {
  if (!metrics_) return;
  const core::Timestamp now = clock_.now();
  if (!force && depth_refreshed_at_ && now - *depth_refreshed_at_ < options_.depth_refresh) return;
  depth_refreshed_at_ = now;
  auto depth = store_.outbox_depth();
  if (!depth) {
    log::warn("could not count the outbox", {{"error", depth.error().to_string()}});
    return;
  }
  for (const OutboxStatus status : store::outbox_statuses) {
    metrics_
        ->gauge("relance_outbox_rows", "Outbox rows by status",
                {{"status", std::string(store::outbox_status_name(status))}})
        .set(static_cast<double>((*depth)[status]));
  }
}

Result<void> Dispatcher::start() {
  RELANCE_ASSERT(!thread_.joinable());
  auto recovered = recover();
  if (!recovered) return recovered.error();
  refresh_depth(true);
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { loop(); });
  return {};
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Dispatcher::notify() {
  {
    std::lock_guard lock(wake_mutex_);
    notified_ = true;
  }
  wake_.notify_all();
}

void Dispatcher::loop() {
  while (true) {
    {
      std::lock_guard lock(wake_mutex_);
      if (stopping_) return;
      notified_ = false;
    }
    if (options_.sending_lease.count() > 0 && clock_.now() >= next_takeover_) {
      next_takeover_ = clock_.now() + options_.sending_lease / 2;
      if (auto taken = recover(); !taken) {
        log::error("outbox take-over failed", {{"error", taken.error().to_string()}});
      }
    }
    auto turn = run_once();
    if (!turn) log::error("outbox turn failed", {{"error", turn.error().to_string()}});
    refresh_depth(false);
    // A full batch: more are probably due, go on at once.
    if (turn && *turn == options_.batch_max) continue;
    std::unique_lock lock(wake_mutex_);
    wake_.wait_for(lock, options_.poll_interval, [this] { return stopping_ || notified_; });
  }
}

}  // namespace relance::outbox
