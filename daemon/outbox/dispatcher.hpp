#pragma once
// The dispatcher: delivers what the writer put in the outbox, on a thread of its own.
//
// Each turn claims the due pending rows (they move to `sending`, so a crash mid-send leaves a
// trace), asks the Recheck whether each action is still wanted (the receivable may have been
// paid, disputed or promised since it was queued: the row is then `dropped`, with the reason),
// sends it through the sink named by the row, and records the answer:
//   delivered -> delivered;
//   retry     -> pending again after an exponential backoff with full jitter (or the peer's
//                Retry-After when longer), dead once `attempts_max` sends have failed;
//   rejected  -> dead at once, with the peer's answer.
// A sink whose sends keep failing opens its circuit: its rows wait for the cool-down instead of
// hammering it, then one probe decides whether it closes again.
//
// At start, a row left in `sending` may or may not have been delivered. For a sink whose
// receiver drops a second copy (Sink::redelivery_safe: email.file overwrites nothing, crm.rest
// sends Idempotency-Key) it goes back to pending. For one that cannot (SMTP: a second message
// with the same Message-ID is delivered again) it is parked as dead with
// `interrupted_send_error`: at most once, and an operator who checked the receiver replays it
// with POST /v1/outbox/{id}/retry.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>

#include "connectors/sink.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace relance::outbox {

// Whether a queued action is still wanted, decided from the current state just before sending.
struct Verdict {
  bool send = true;
  std::string reason;  // when not: why ("invoice F-1 paid", "customer C-1 disputed F-2")
  static Verdict go() { return {true, {}}; }
  static Verdict drop(std::string why) { return {false, std::move(why)}; }
};
// An error (the state could not be read) postpones the row; it is asked again later.
using Recheck = std::function<Result<Verdict>(const store::OutboxRow& row)>;

struct DispatcherOptions {
  std::size_t batch_max = 64;  // rows claimed per turn
  // Idle wait between turns when nothing was due (notify() wakes the thread earlier).
  std::chrono::milliseconds poll_interval{1000};
  int attempts_max = 8;  // failed sends before a row is dead
  // Backoff before the n-th retry (n from 1): uniform in [0, min(backoff_max, base * 2^(n-1))].
  std::chrono::milliseconds backoff_base{std::chrono::seconds(30)};
  std::chrono::milliseconds backoff_max{std::chrono::hours(6)};
  // Consecutive failed sends of one sink that open its circuit, and how long it stays open.
  int circuit_failures = 5;
  std::chrono::milliseconds circuit_cooldown{std::chrono::seconds(60)};
  // A row postponed because the Recheck failed is tried again after this.
  std::chrono::milliseconds recheck_retry{std::chrono::seconds(30)};
  // Several daemons on one store: send only for the customers this daemon owns (the Kafka
  // partition of the customer; connectors/kafka/ownership.hpp). A row of another customer goes
  // back to pending, untouched, for its owner. Empty: every customer.
  std::function<bool(std::string_view customer_id)> owns;
  // Several daemons: a row in `sending` whose claim is older than this was left by a daemon that
  // died mid-send; it is taken over (requeued, or parked for sinks that cannot take a second
  // copy) while running, not only at start. Longer than any sink's deadline, so that a live
  // daemon's send is never taken over. 0: only at start, every row (one daemon).
  std::chrono::milliseconds sending_lease{0};
  // How often the outbox depth gauges are refreshed (a count over the table).
  std::chrono::milliseconds depth_refresh{std::chrono::seconds(15)};
  // Full-jitter draws: uniform in [0, 1]. Empty: a std::mt19937_64 seeded with `seed`.
  std::function<double()> jitter;
  std::uint64_t seed = std::random_device{}();
};

enum class CircuitState { closed, open, half_open };

// last_error of a row parked at start because its send was cut and its sink cannot deduplicate.
inline constexpr std::string_view interrupted_send_error =
    "interrupted while sending (the daemon stopped between the send and its record): delivery "
    "unknown; check whether the receiver got it before retrying";

// What recover() did with the rows a previous run left in `sending`.
struct Recovery {
  std::int64_t requeued = 0;  // pending again (sinks that deduplicate)
  std::int64_t parked = 0;    // dead with interrupted_send_error (sinks that cannot)
};

class Dispatcher {
 public:
  // `sinks` by registered name; `metrics` may be null. All must outlive the dispatcher.
  Dispatcher(store::Store& store, const core::Clock& clock,
             std::map<std::string, connectors::Sink*> sinks, Recheck recheck,
             DispatcherOptions options, metrics::Registry* metrics = nullptr);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // Rows left in `sending` by a previous run: pending again, or parked (see above). start()
  // calls it first; call it directly only when driving turns by hand.
  Result<Recovery> recover();
  // One turn: claims the due rows (up to batch_max; one claim per row when a sink cannot
  // deduplicate, so that a crash leaves only the row being sent in `sending`) and handles each;
  // returns how many were claimed.
  Result<std::size_t> run_once();

  // The thread: recover(), then turns until stop(). A store error is logged and retried after
  // poll_interval; it never ends the thread.
  Result<void> start();
  void stop();
  // New rows were committed: take them now rather than at the next poll.
  void notify();

  // For tests and /metrics: the circuit of a sink as of the last turn.
  CircuitState circuit(const std::string& sink) const;

 private:
  struct Circuit {
    CircuitState state = CircuitState::closed;
    int consecutive_failures = 0;
    core::Timestamp open_until{};
  };

  // Rows of `sending` read per store call in recover().
  static constexpr std::size_t recovery_page_rows = 500;

  void handle(const store::OutboxRow& row);
  void settle(const store::OutboxRow& row, const store::OutboxSettlement& settlement,
              std::string_view outcome);
  std::chrono::microseconds backoff(int failed_attempts);
  void sink_failed(const std::string& sink, core::Timestamp now);
  void sink_answered(const std::string& sink);
  void refresh_depth(bool force);
  void count(const std::string& sink, std::string_view outcome);
  void loop();

  store::Store& store_;
  const core::Clock& clock_;
  std::map<std::string, connectors::Sink*> sinks_;
  Recheck recheck_;
  DispatcherOptions options_;
  bool claim_one_at_a_time_ = false;  // some sink is not redelivery_safe()
  metrics::Registry* metrics_;
  std::mt19937_64 random_;

  mutable std::mutex circuits_mutex_;
  std::map<std::string, Circuit> circuits_;
  std::optional<core::Timestamp> depth_refreshed_at_;
  core::Timestamp next_takeover_{};  // sending_lease: the loop's next recover()

  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool notified_ = false;
  std::thread thread_;
};

}  // namespace relance::outbox
