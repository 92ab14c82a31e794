#include "outbox/dispatcher.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "fake_store.hpp"
#include "outbox/payload.hpp"

namespace relance::outbox {
namespace {

using namespace std::chrono_literals;
using connectors::SinkAnswer;
using store::OutboxRow;
using store::OutboxStatus;

const core::Timestamp t0 = core::Timestamp(std::chrono::seconds(1'767'225'600));  // 2026-01-01

class ManualClock final : public core::Clock {
 public:
  core::Timestamp now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(core::Timestamp at) {
    std::lock_guard lock(mutex_);
    now_ = at;
  }
  void advance(std::chrono::microseconds by) { set(now() + by); }

 private:
  mutable std::mutex mutex_;
  core::Timestamp now_ = t0;
};

// Answers from a script (then `fallback`), keeping every delivery it was given.
class ScriptedSink final : public connectors::Sink {
 public:
  explicit ScriptedSink(std::string name, bool redelivery_safe = true)
      : name_(std::move(name)), redelivery_safe_(redelivery_safe) {}
  std::string_view name() const override { return name_; }
  bool redelivery_safe() const override { return redelivery_safe_; }
  SinkAnswer deliver(const connectors::Delivery& delivery) override {
    if (on_deliver) on_deliver();
    std::lock_guard lock(mutex_);
    keys_.push_back(delivery.idempotency_key);
    if (script_.empty()) return fallback_;
    SinkAnswer answer = script_.front();
    script_.pop_front();
    return answer;
  }
  void then(SinkAnswer answer) {
    std::lock_guard lock(mutex_);
    script_.push_back(std::move(answer));
  }
  void always(SinkAnswer answer) {
    std::lock_guard lock(mutex_);
    fallback_ = std::move(answer);
  }
  std::vector<std::string> keys() const {
    std::lock_guard lock(mutex_);
    return keys_;
  }
  std::size_t calls() const { return keys().size(); }
  std::function<void()> on_deliver;  // called first in each deliver()

 private:
  std::string name_;
  bool redelivery_safe_;
  mutable std::mutex mutex_;
  std::deque<SinkAnswer> script_;
  SinkAnswer fallback_{SinkAnswer::Outcome::delivered, std::nullopt, "201 Created"};
  std::vector<std::string> keys_;
};

SinkAnswer retry(std::string detail = "HTTP 503",
                 std::optional<std::chrono::seconds> after = std::nullopt) {
  return {SinkAnswer::Outcome::retry, after, std::move(detail)};
}
SinkAnswer rejected(std::string detail) {
  return {SinkAnswer::Outcome::rejected, std::nullopt, std::move(detail)};
}
SinkAnswer delivered() { return {SinkAnswer::Outcome::delivered, std::nullopt, "201 Created"}; }

std::string crm_payload(const std::string& key) {
  connectors::CrmActivity task;
  task.customer_id = "C-1";
  task.subject = "Call about F-1";
  task.invoice_ids = {"F-1"};
  return delivery_to_json({key, task});
}

class DispatcherTest : public ::testing::Test {
 protected:
  DispatcherTest() {
    options_.backoff_base = 10s;
    options_.backoff_max = 60s;
    options_.attempts_max = 6;
    options_.circuit_failures = 100;
    options_.circuit_cooldown = 30s;
    options_.jitter = [] { return 1.0; };  // the ceiling of each backoff: predictable
  }

  std::int64_t enqueue(const std::string& key, const std::string& sink = "crm.rest",
                       core::Timestamp due_at = t0) {
    store::OutboxEntry entry;
    entry.idempotency_key = key;
    entry.sink = sink;
    entry.customer_id = "C-1";
    entry.invoice_ids = {"F-1"};
    entry.payload = crm_payload(key);
    entry.due_at = due_at;
    entry.created_at = t0;
    auto transaction = store_.begin();
    EXPECT_TRUE(transaction);
    EXPECT_TRUE((*transaction)->enqueue(entry));
    EXPECT_TRUE((*transaction)->commit());
    auto rows = store_.list_outbox(std::nullopt, 0, 1000);
    return rows->back().id;
  }

  Dispatcher& dispatcher() {
    if (!dispatcher_) {
      dispatcher_ = std::make_unique<Dispatcher>(
          store_, clock_,
          with_smtp_ ? std::map<std::string, connectors::Sink*>{{"crm.rest", &sink_},
                                                                {"email.smtp", &smtp_}}
                     : std::map<std::string, connectors::Sink*>{{"crm.rest", &sink_}},
          recheck_, options_, &metrics_);
    }
    return *dispatcher_;
  }

  std::size_t turn() {
    auto handled = dispatcher().run_once();
    EXPECT_TRUE(handled) << handled.error().to_string();
    return handled ? *handled : 0;
  }

  OutboxRow row(std::int64_t id) {
    auto found = store_.find_outbox(id);
    RELANCE_ASSERT(found && found->has_value());
    return **found;
  }

  store::testing::FakeStore store_;
  ManualClock clock_;
  ScriptedSink sink_{"crm.rest"};
  // Like SMTP: cannot drop a second copy, so a send cut by a crash is not repeated. Only in the
  // dispatcher of tests that set with_smtp_ (it makes the dispatcher claim one row at a time).
  ScriptedSink smtp_{"email.smtp", false};
  bool with_smtp_ = false;
  metrics::Registry metrics_;
  Recheck recheck_;
  DispatcherOptions options_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(DispatcherTest, due_row_is_delivered_once_with_its_idempotency_key) {
  const auto id = enqueue("R-1/step-1/2026-01-01");
  const auto later = enqueue("R-2/step-1/2026-01-05", "crm.rest", t0 + 96h);
  EXPECT_EQ(turn(), 1u);
  EXPECT_EQ(sink_.keys(), std::vector<std::string>{"R-1/step-1/2026-01-01"});
  const OutboxRow done = row(id);
  EXPECT_EQ(done.status, OutboxStatus::delivered);
  EXPECT_EQ(done.attempts, 1);
  EXPECT_EQ(done.last_error, "");
  EXPECT_EQ(turn(), 0u);  // nothing more is due; the other row waits for its date
  EXPECT_EQ(row(later).status, OutboxStatus::pending);
  clock_.set(t0 + 96h);
  EXPECT_EQ(turn(), 1u);
  EXPECT_EQ(row(later).status, OutboxStatus::delivered);
  EXPECT_EQ(sink_.calls(), 2u);
}

TEST_F(DispatcherTest, transient_failures_back_off_exponentially_up_to_the_cap_then_die) {
  sink_.always(retry("HTTP 503 Service Unavailable"));
  const auto id = enqueue("K");
  std::vector<std::chrono::seconds> delays;
  for (int attempt = 1; attempt <= 6; ++attempt) {
    ASSERT_EQ(turn(), 1u) << "attempt " << attempt;
    const OutboxRow after = row(id);
    EXPECT_EQ(after.attempts, attempt);
    if (attempt < 6) {
      ASSERT_EQ(after.status, OutboxStatus::pending);
      EXPECT_EQ(after.last_error, "HTTP 503 Service Unavailable");
      delays.push_back(
          std::chrono::duration_cast<std::chrono::seconds>(after.next_attempt_at - clock_.now()));
      clock_.advance(delays.back() - 1s);
      EXPECT_EQ(turn(), 0u) << "not due before its backoff";
      clock_.advance(1s);
    } else {
      EXPECT_EQ(after.status, OutboxStatus::dead);
      EXPECT_EQ(after.last_error, "gave up after 6 attempts: HTTP 503 Service Unavailable");
    }
  }
  EXPECT_EQ(delays, (std::vector<std::chrono::seconds>{10s, 20s, 40s, 60s, 60s}));
  EXPECT_EQ(sink_.calls(), 6u);
  EXPECT_EQ(turn(), 0u);  // a dead row is never claimed again
}

TEST_F(DispatcherTest, full_jitter_draws_within_the_ceiling_and_a_seed_repeats_them) {
  options_.jitter = nullptr;
  options_.seed = 42;
  options_.attempts_max = 100;
  sink_.always(retry());
  auto delays_of_a_run = [this](const std::string& key) {
    dispatcher_.reset();  // a new dispatcher with the same seed
    clock_.set(t0);
    const auto id = enqueue(key);
    std::vector<std::chrono::microseconds> delays;
    for (int attempt = 1; attempt <= 8; ++attempt) {
      EXPECT_EQ(turn(), 1u);
      const auto next = row(id).next_attempt_at;
      delays.push_back(next - clock_.now());
      clock_.set(next);
    }
    return delays;
  };
  const auto first = delays_of_a_run("run-1");
  std::chrono::microseconds ceiling = 10s;
  bool below_ceiling = false;
  for (const auto delay : first) {
    EXPECT_GE(delay.count(), 0);
    EXPECT_LE(delay, ceiling);
    below_ceiling = below_ceiling || delay < ceiling * 9 / 10;
    ceiling = std::min<std::chrono::microseconds>(ceiling * 2, 60s);
  }
  EXPECT_TRUE(below_ceiling) << "the draws are not jittered";
  EXPECT_EQ(delays_of_a_run("run-2"), first);
}

TEST_F(DispatcherTest, retry_after_is_honoured_when_longer_than_the_backoff) {
  sink_.then(retry("HTTP 429 Too Many Requests", 120s));
  sink_.then(retry("HTTP 429 Too Many Requests", 1s));
  const auto id = enqueue("K");
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).next_attempt_at, t0 + 120s);
  clock_.set(t0 + 120s);
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).next_attempt_at, t0 + 120s + 20s);  // the backoff, longer than 1 s
  clock_.set(t0 + 140s);
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).status, OutboxStatus::delivered);
  EXPECT_EQ(row(id).attempts, 3);
}

TEST_F(DispatcherTest, rejection_is_dead_at_once_with_the_peer_answer) {
  sink_.then(rejected("HTTP 422 Unprocessable Entity: {\"error\":\"owner unknown\"}"));
  const auto id = enqueue("K");
  ASSERT_EQ(turn(), 1u);
  const OutboxRow dead = row(id);
  EXPECT_EQ(dead.status, OutboxStatus::dead);
  EXPECT_EQ(dead.attempts, 1);
  EXPECT_EQ(dead.last_error,
            "rejected: HTTP 422 Unprocessable Entity: {\"error\":\"owner unknown\"}");
  EXPECT_EQ(dispatcher().circuit("crm.rest"), CircuitState::closed);
}

TEST_F(DispatcherTest, dead_row_retried_by_an_operator_is_sent_again_from_zero_attempts) {
  options_.attempts_max = 2;
  sink_.then(retry());
  sink_.then(retry());
  const auto id = enqueue("K");
  ASSERT_EQ(turn(), 1u);
  clock_.set(row(id).next_attempt_at);
  ASSERT_EQ(turn(), 1u);
  ASSERT_EQ(row(id).status, OutboxStatus::dead);
  ASSERT_EQ(*store_.retry_outbox(id, clock_.now()), store::OutboxRetryOutcome::retried);
  EXPECT_EQ(row(id).attempts, 0);
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).status, OutboxStatus::delivered);
  EXPECT_EQ(sink_.calls(), 3u);
}

TEST_F(DispatcherTest, circuit_opens_after_consecutive_failures_and_a_probe_closes_it) {
  options_.circuit_failures = 3;
  options_.jitter = [] { return 0.0; };  // retries due at once: only the circuit holds them
  for (int i = 0; i < 3; ++i) sink_.then(retry());
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(enqueue("K-" + std::to_string(i)));
  ASSERT_EQ(turn(), 5u);
  EXPECT_EQ(sink_.calls(), 3u);  // the last two were not sent: the circuit opened
  EXPECT_EQ(dispatcher().circuit("crm.rest"), CircuitState::open);
  for (int i = 3; i < 5; ++i) {
    EXPECT_EQ(row(ids[i]).status, OutboxStatus::pending);
    EXPECT_EQ(row(ids[i]).attempts, 0);
    EXPECT_EQ(row(ids[i]).next_attempt_at, t0 + 30s);
  }
  // The failed ones are due again at once, but wait for the cool-down without a send.
  ASSERT_EQ(turn(), 3u);
  EXPECT_EQ(sink_.calls(), 3u);
  clock_.set(t0 + 29s);
  EXPECT_EQ(turn(), 0u);
  clock_.set(t0 + 30s);
  ASSERT_EQ(turn(), 5u);  // the first is the probe; it succeeds, the rest follow
  EXPECT_EQ(sink_.calls(), 8u);
  EXPECT_EQ(dispatcher().circuit("crm.rest"), CircuitState::closed);
  for (const auto id : ids) EXPECT_EQ(row(id).status, OutboxStatus::delivered);
}

TEST_F(DispatcherTest, failed_probe_opens_the_circuit_for_another_cool_down) {
  options_.circuit_failures = 2;
  options_.jitter = [] { return 0.0; };
  for (int i = 0; i < 3; ++i) sink_.then(retry());
  const auto a = enqueue("A");
  const auto b = enqueue("B");
  ASSERT_EQ(turn(), 2u);
  EXPECT_EQ(dispatcher().circuit("crm.rest"), CircuitState::open);
  clock_.set(t0 + 30s);
  ASSERT_EQ(turn(), 2u);  // probe (A) fails: B is held for the next cool-down
  EXPECT_EQ(sink_.calls(), 3u);
  EXPECT_EQ(dispatcher().circuit("crm.rest"), CircuitState::open);
  EXPECT_EQ(row(b).next_attempt_at, t0 + 60s);
  EXPECT_EQ(row(b).attempts, 1);
  clock_.set(t0 + 60s);
  ASSERT_EQ(turn(), 2u);
  EXPECT_EQ(row(a).status, OutboxStatus::delivered);
  EXPECT_EQ(row(b).status, OutboxStatus::delivered);
  EXPECT_EQ(dispatcher().circuit("crm.rest"), CircuitState::closed);
}

TEST_F(DispatcherTest, recheck_drops_an_action_no_longer_wanted_without_sending) {
  recheck_ = [](const OutboxRow& row) -> Result<Verdict> {
    if (row.idempotency_key == "paid") return Verdict::drop("invoice F-1 paid since");
    return Verdict::go();
  };
  const auto paid = enqueue("paid");
  const auto due = enqueue("due");
  ASSERT_EQ(turn(), 2u);
  EXPECT_EQ(sink_.keys(), std::vector<std::string>{"due"});
  const OutboxRow dropped = row(paid);
  EXPECT_EQ(dropped.status, OutboxStatus::dropped);
  EXPECT_EQ(dropped.last_error, "invoice F-1 paid since");
  EXPECT_EQ(dropped.attempts, 0);
  EXPECT_EQ(row(due).status, OutboxStatus::delivered);
}

TEST_F(DispatcherTest, recheck_that_cannot_read_the_state_postpones_the_row) {
  options_.recheck_retry = 45s;
  bool readable = false;
  recheck_ = [&readable](const OutboxRow&) -> Result<Verdict> {
    if (!readable) return Error{"", "database is locked"};
    return Verdict::go();
  };
  const auto id = enqueue("K");
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(sink_.calls(), 0u);
  EXPECT_EQ(row(id).status, OutboxStatus::pending);
  EXPECT_EQ(row(id).attempts, 0);
  EXPECT_EQ(row(id).next_attempt_at, t0 + 45s);
  EXPECT_NE(row(id).last_error.find("database is locked"), std::string::npos);
  readable = true;
  clock_.set(t0 + 45s);
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).status, OutboxStatus::delivered);
}

TEST_F(DispatcherTest, unknown_sink_and_unreadable_payload_are_dead_without_an_attempt) {
  const auto unknown = enqueue("K-1", "crm.nowhere");
  store::OutboxEntry broken;
  broken.idempotency_key = "K-2";
  broken.sink = "crm.rest";
  broken.payload = R"({"idempotency_key":"K-2"})";
  broken.due_at = t0;
  auto transaction = store_.begin().value();
  ASSERT_TRUE(transaction->enqueue(broken));
  ASSERT_TRUE(transaction->commit());
  ASSERT_EQ(turn(), 2u);
  EXPECT_EQ(sink_.calls(), 0u);
  EXPECT_EQ(row(unknown).status, OutboxStatus::dead);
  EXPECT_EQ(row(unknown).last_error, "no sink named crm.nowhere");
  EXPECT_EQ(row(unknown).attempts, 0);
  const OutboxRow bad = row(unknown + 1);
  EXPECT_EQ(bad.status, OutboxStatus::dead);
  EXPECT_NE(bad.last_error.find("payload"), std::string::npos) << bad.last_error;
}

TEST_F(DispatcherTest, rows_left_in_sending_by_a_crash_are_sent_again_after_recover) {
  const auto id = enqueue("K");
  // A previous dispatcher claimed the row and died before recording the answer.
  ASSERT_EQ(store_.claim_outbox(t0, 10)->size(), 1u);
  EXPECT_EQ(turn(), 0u);
  clock_.set(t0 + 5s);
  const auto recovered = dispatcher().recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->requeued, 1);
  EXPECT_EQ(recovered->parked, 0);
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).status, OutboxStatus::delivered);
  EXPECT_EQ(sink_.keys(), std::vector<std::string>{"K"});
}

TEST_F(DispatcherTest, rows_of_customers_another_daemon_owns_go_back_untouched) {
  bool owned = false;
  options_.owns = [&](std::string_view customer) { return owned && customer == "C-1"; };
  const auto id = enqueue("K");
  EXPECT_EQ(turn(), 1u);
  EXPECT_EQ(sink_.calls(), 0u);
  EXPECT_EQ(row(id).status, OutboxStatus::pending);
  EXPECT_EQ(row(id).attempts, 0);
  // The partition moved here: the row goes out once its short wait is over.
  owned = true;
  clock_.set(t0 + options_.poll_interval);
  EXPECT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).status, OutboxStatus::delivered);
  EXPECT_EQ(sink_.keys(), std::vector<std::string>{"K"});
}

TEST_F(DispatcherTest, with_a_lease_only_sends_claimed_longer_ago_are_taken_over) {
  options_.sending_lease = 120s;
  const auto id = enqueue("K");
  // Another daemon claimed the row and is sending it now: not ours to take.
  ASSERT_EQ(store_.claim_outbox(t0, 10)->size(), 1u);
  clock_.set(t0 + 60s);
  auto recovered = dispatcher().recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->requeued, 0);
  EXPECT_EQ(row(id).status, OutboxStatus::sending);
  // It died: past the lease, the row is taken over and sent once.
  clock_.set(t0 + 121s);
  recovered = dispatcher().recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->requeued, 1);
  ASSERT_EQ(turn(), 1u);
  EXPECT_EQ(row(id).status, OutboxStatus::delivered);
  EXPECT_EQ(sink_.keys(), std::vector<std::string>{"K"});
}

TEST_F(DispatcherTest, send_cut_by_a_crash_on_a_sink_that_cannot_deduplicate_is_parked_not_resent) {
  with_smtp_ = true;
  const auto mail = enqueue("MAIL", "email.smtp");
  const auto task = enqueue("TASK", "crm.rest");
  const auto gone = enqueue("GONE", "crm.nowhere");  // a sink no longer configured
  const auto waiting = enqueue("LATER", "email.smtp", t0 + 1h);
  // A previous dispatcher claimed the three due rows and died mid-send.
  ASSERT_EQ(store_.claim_outbox(t0, 10)->size(), 3u);
  clock_.set(t0 + 5s);
  const auto recovered = dispatcher().recover();
  ASSERT_TRUE(recovered) << recovered.error().to_string();
  EXPECT_EQ(recovered->requeued, 1);
  EXPECT_EQ(recovered->parked, 2);

  for (const auto id : {mail, gone}) {
    const OutboxRow parked = row(id);
    EXPECT_EQ(parked.status, OutboxStatus::dead) << parked.idempotency_key;
    EXPECT_EQ(parked.last_error, interrupted_send_error);
    EXPECT_EQ(parked.attempts, 1);  // the cut send counts: it may have gone out
  }
  EXPECT_EQ(row(task).status, OutboxStatus::pending);
  EXPECT_EQ(row(waiting).status, OutboxStatus::pending);

  // Nothing sends the parked mail again by itself, however long the dispatcher runs.
  clock_.set(t0 + 2h);
  EXPECT_EQ(turn(), 2u);  // TASK and LATER
  EXPECT_EQ(sink_.keys(), std::vector<std::string>{"TASK"});
  EXPECT_EQ(smtp_.keys(), std::vector<std::string>{"LATER"});
  EXPECT_EQ(turn(), 0u);
  EXPECT_EQ(row(mail).status, OutboxStatus::dead);

  // An operator who checked the mailbox replays it: sent once more, by hand.
  ASSERT_EQ(*store_.retry_outbox(mail, clock_.now()), store::OutboxRetryOutcome::retried);
  EXPECT_EQ(turn(), 1u);
  EXPECT_EQ(row(mail).status, OutboxStatus::delivered);
  EXPECT_EQ(smtp_.keys(), (std::vector<std::string>{"LATER", "MAIL"}));

  const std::string text = metrics_.render();
  EXPECT_NE(
      text.find(R"(relance_outbox_deliveries_total{sink="email.smtp",outcome="interrupted"} 1)"),
      std::string::npos)
      << text;
}

TEST_F(DispatcherTest, with_a_sink_that_cannot_deduplicate_only_the_row_being_sent_is_in_sending) {
  with_smtp_ = true;
  for (int i = 0; i < 5; ++i) enqueue("MAIL-" + std::to_string(i), "email.smtp");
  std::size_t most_in_sending = 0;
  smtp_.on_deliver = [&] {
    most_in_sending =
        std::max(most_in_sending, store_.list_outbox(OutboxStatus::sending, 0, 100)->size());
  };
  EXPECT_EQ(turn(), 5u);
  EXPECT_EQ(smtp_.calls(), 5u);
  // A crash during any of these sends would have parked that one row, not the batch.
  EXPECT_EQ(most_in_sending, 1u);
}

TEST_F(DispatcherTest, with_only_sinks_that_deduplicate_rows_are_claimed_by_batch) {
  for (int i = 0; i < 5; ++i) enqueue("TASK-" + std::to_string(i));
  std::size_t most_in_sending = 0;
  sink_.on_deliver = [&] {
    most_in_sending =
        std::max(most_in_sending, store_.list_outbox(OutboxStatus::sending, 0, 100)->size());
  };
  Dispatcher batch(store_, clock_, {{"crm.rest", &sink_}}, recheck_, options_);
  ASSERT_EQ(*batch.run_once(), 5u);
  EXPECT_EQ(most_in_sending, 5u);
  EXPECT_EQ(sink_.calls(), 5u);
}

TEST_F(DispatcherTest, recover_with_nothing_left_in_sending_changes_nothing) {
  with_smtp_ = true;
  const auto id = enqueue("K", "email.smtp");
  const auto recovered = dispatcher().recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->requeued, 0);
  EXPECT_EQ(recovered->parked, 0);
  EXPECT_EQ(row(id).status, OutboxStatus::pending);
  EXPECT_EQ(row(id).attempts, 0);
}

TEST_F(DispatcherTest, metrics_count_outcomes_by_sink_and_depth_by_status) {
  sink_.then(rejected("HTTP 400"));
  sink_.then(delivered());
  enqueue("A");
  enqueue("B");
  enqueue("C", "crm.rest", t0 + 1h);
  options_.poll_interval = 10ms;
  ASSERT_TRUE(dispatcher().start());
  for (int i = 0; i < 500 && sink_.calls() < 2; ++i) std::this_thread::sleep_for(10ms);
  dispatcher().stop();
  ASSERT_EQ(sink_.calls(), 2u);
  const std::string text = metrics_.render();
  EXPECT_NE(text.find(R"(relance_outbox_deliveries_total{sink="crm.rest",outcome="rejected"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(relance_outbox_deliveries_total{sink="crm.rest",outcome="delivered"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(relance_outbox_rows{status="pending"} 3)"), std::string::npos) << text;
}

TEST_F(DispatcherTest, thread_takes_new_rows_when_notified_and_stops_promptly) {
  options_.poll_interval = 1h;  // only notify() can wake it in time
  ASSERT_TRUE(dispatcher().start());
  enqueue("K");
  dispatcher().notify();
  for (int i = 0; i < 500 && sink_.calls() < 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(sink_.keys(), std::vector<std::string>{"K"});
  const auto asked = std::chrono::steady_clock::now();
  dispatcher().stop();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 5s);
}

}  // namespace
}  // namespace relance::outbox
