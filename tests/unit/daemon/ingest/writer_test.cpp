#include "ingest/writer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "fake_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"
#include "test_events.hpp"

namespace relance::ingest {
namespace {

using store::AppendOutcome;
using store::testing::FakeStore;
using store::testing::make_event;
using store::testing::TempDir;
using namespace std::chrono_literals;

constexpr auto wait_max = 20s;  // generous: sanitizers on a shared 2-core machine

class FixedClock final : public core::Clock {
 public:
  core::Timestamp now() const override {
    return core::Timestamp(std::chrono::seconds(1'767'225'600));
  }
};

// Holds every commit at its start until released; tells how many commits reached it.
class CommitGate {
 public:
  Result<void> pass() {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
    return {};
  }
  bool wait_entered(int count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, wait_max, [&] { return entered_ >= count; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool open_ = false;
};

// Collects the outcomes that done callbacks receive, by request number.
class Outcomes {
 public:
  std::function<void(WriteOutcome)> callback(int request) {
    return [this, request](WriteOutcome outcome) {
      std::lock_guard lock(mutex_);
      received_.emplace_back(request, std::move(outcome));
      changed_.notify_all();
    };
  }
  bool wait_for_count(std::size_t count) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, wait_max, [&] { return received_.size() >= count; });
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return received_.size();
  }
  const WriteOutcome& of(int request) {
    std::lock_guard lock(mutex_);
    for (const auto& [number, outcome] : received_) {
      if (number == request) return outcome;
    }
    // Not an ASSERT: an unoptimized build would not see that it never returns.
    ::relance::detail::assertion_failed("an outcome for this request", __FILE__, __LINE__);
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::pair<int, WriteOutcome>> received_;
};

std::vector<core::Event> events(const std::string& prefix, int count) {
  std::vector<core::Event> out;
  for (int i = 0; i < count; ++i) out.push_back(make_event("erp", prefix + std::to_string(i)));
  return out;
}

std::uint64_t counter_value(metrics::Registry& registry, const std::string& name) {
  return registry.counter(name, "").value();
}

TEST(Writer, committed_request_reports_each_event_outcome_in_order) {
  FakeStore store;
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  auto request = events("a", 2);
  request.push_back(make_event("erp", "a0"));  // repeated within the request
  ASSERT_EQ(writer.submit(std::move(request), outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  const auto& outcome = outcomes.of(1);
  ASSERT_TRUE(outcome) << outcome.error().to_string();
  EXPECT_EQ(*outcome, (std::vector<AppendOutcome>{AppendOutcome::appended, AppendOutcome::appended,
                                                  AppendOutcome::duplicate}));
  EXPECT_EQ(*store.journal_size(), 2);
}

TEST(Writer, requests_queued_during_a_commit_share_the_next_transaction) {
  FakeStore store;
  CommitGate gate;
  store.set_commit_hook([&] { return gate.pass(); });
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("first", 1), outcomes.callback(0)), Admission::queued);
  ASSERT_TRUE(gate.wait_entered(1));

  // Twenty submitters on their own threads while the first commit is held.
  std::vector<std::thread> submitters;
  std::atomic<int> queued{0};
  for (int r = 1; r <= 20; ++r) {
    submitters.emplace_back([&, r] {
      if (writer.submit(events("r" + std::to_string(r) + "-", 5), outcomes.callback(r)) ==
          Admission::queued) {
        ++queued;
      }
    });
  }
  for (auto& submitter : submitters) submitter.join();
  ASSERT_EQ(queued.load(), 20);
  gate.release();
  ASSERT_TRUE(outcomes.wait_for_count(21));

  EXPECT_EQ(store.transactions_committed(), 2);
  EXPECT_EQ(store.committed_batch_sizes(), (std::vector<std::size_t>{1, 100}));
  EXPECT_EQ(counter_value(registry, "relance_writer_commits_total"), 2u);
  const std::string text = registry.render();
  EXPECT_NE(text.find("relance_writer_batch_events_count 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("relance_writer_batch_events_sum 101\n"), std::string::npos) << text;
  EXPECT_NE(text.find("relance_writer_queue_events 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("relance_writer_commit_seconds_count 2\n"), std::string::npos) << text;
  for (int r = 0; r <= 20; ++r) EXPECT_TRUE(outcomes.of(r)) << r;
}

TEST(Writer, concurrent_submitters_into_sqlite_take_fewer_transactions_than_requests) {
  TempDir dir;
  auto store = store::open_sqlite_store({.path = dir.file("relance.db")});
  ASSERT_TRUE(store) << store.error().to_string();
  metrics::Registry registry;
  Outcomes outcomes;
  constexpr int threads = 8;
  constexpr int requests_per_thread = 25;
  {
    Writer writer(**store, {.batch_delay_max = 2ms}, registry);
    std::vector<std::thread> submitters;
    for (int t = 0; t < threads; ++t) {
      submitters.emplace_back([&, t] {
        for (int r = 0; r < requests_per_thread; ++r) {
          const int number = t * requests_per_thread + r;
          EXPECT_EQ(writer.submit(events("t" + std::to_string(number) + "-", 10),
                                  outcomes.callback(number)),
                    Admission::queued);
        }
      });
    }
    for (auto& submitter : submitters) submitter.join();
    ASSERT_TRUE(outcomes.wait_for_count(threads * requests_per_thread));
  }
  EXPECT_EQ(*(*store)->journal_size(), threads * requests_per_thread * 10);
  const auto commits = counter_value(registry, "relance_writer_commits_total");
  EXPECT_GE(commits, 1u);
  EXPECT_LT(commits, std::uint64_t{threads * requests_per_thread});
}

TEST(Writer, done_is_called_only_after_the_commit) {
  FakeStore store;
  CommitGate gate;
  store.set_commit_hook([&] { return gate.pass(); });
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("a", 3), outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(gate.wait_entered(1));
  std::this_thread::sleep_for(50ms);  // room for a wrong early answer to show up
  EXPECT_EQ(outcomes.count(), 0u);
  EXPECT_EQ(*store.journal_size(), 0);
  gate.release();
  ASSERT_TRUE(outcomes.wait_for_count(1));
  EXPECT_TRUE(outcomes.of(1));
  EXPECT_EQ(*store.journal_size(), 3);
}

TEST(Writer, submit_beyond_queue_events_max_is_refused_without_calling_done) {
  FakeStore store;
  CommitGate gate;
  store.set_commit_hook([&] { return gate.pass(); });
  metrics::Registry registry;
  Writer writer(store, {.queue_events_max = 10}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("held", 1), outcomes.callback(0)), Admission::queued);
  ASSERT_TRUE(gate.wait_entered(1));  // taken off the queue, held in commit

  EXPECT_EQ(writer.submit(events("a", 6), outcomes.callback(1)), Admission::queued);
  EXPECT_EQ(writer.submit(events("b", 5), outcomes.callback(2)), Admission::queue_full);
  EXPECT_EQ(writer.submit(events("c", 4), outcomes.callback(3)), Admission::queued);
  EXPECT_EQ(writer.submit(events("d", 1), outcomes.callback(4)), Admission::queue_full);
  EXPECT_EQ(writer.submit(events("huge", 11), outcomes.callback(5)), Admission::queue_full);
  EXPECT_NE(registry.render().find("relance_writer_queue_events 10\n"), std::string::npos);

  gate.release();
  ASSERT_TRUE(outcomes.wait_for_count(3));
  writer.stop();
  EXPECT_EQ(outcomes.count(), 3u);  // refused requests were never answered through done
  EXPECT_EQ(*store.journal_size(), 11);
  EXPECT_FALSE(store.find_event("erp", "b0")->has_value());
}

TEST(Writer, stop_commits_everything_queued_and_refuses_new_work) {
  FakeStore store;
  CommitGate gate;
  store.set_commit_hook([&] { return gate.pass(); });
  metrics::Registry registry;
  Writer writer(store, {.batch_events_max = 4}, registry);
  Outcomes outcomes;
  for (int r = 0; r < 10; ++r) {
    ASSERT_EQ(writer.submit(events("r" + std::to_string(r) + "-", 3), outcomes.callback(r)),
              Admission::queued);
  }
  ASSERT_TRUE(gate.wait_entered(1));
  std::thread stopper([&] { writer.stop(); });
  while (writer.running()) std::this_thread::yield();
  EXPECT_EQ(writer.submit(events("late", 1), outcomes.callback(99)), Admission::stopped);
  gate.release();
  stopper.join();

  EXPECT_EQ(outcomes.count(), 10u);
  for (int r = 0; r < 10; ++r) EXPECT_TRUE(outcomes.of(r)) << r;
  EXPECT_EQ(*store.journal_size(), 30);
  EXPECT_FALSE(store.find_event("erp", "late0")->has_value());
  EXPECT_EQ(writer.submit(events("later", 1), outcomes.callback(100)), Admission::stopped);
}

TEST(Writer, request_is_never_split_across_transactions) {
  FakeStore store;
  CommitGate gate;
  store.set_commit_hook([&] { return gate.pass(); });
  metrics::Registry registry;
  Writer writer(store, {.batch_events_max = 10}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("held", 1), outcomes.callback(0)), Admission::queued);
  ASSERT_TRUE(gate.wait_entered(1));
  ASSERT_EQ(writer.submit(events("a", 6), outcomes.callback(1)), Admission::queued);
  ASSERT_EQ(writer.submit(events("b", 6), outcomes.callback(2)), Admission::queued);
  ASSERT_EQ(writer.submit(events("c", 25), outcomes.callback(3)), Admission::queued);
  ASSERT_EQ(writer.submit(events("d", 2), outcomes.callback(4)), Admission::queued);
  ASSERT_EQ(writer.submit(events("e", 2), outcomes.callback(5)), Admission::queued);
  gate.release();
  ASSERT_TRUE(outcomes.wait_for_count(6));
  // Whole requests up to 10 events; the oversized one alone.
  EXPECT_EQ(store.committed_batch_sizes(), (std::vector<std::size_t>{1, 6, 6, 25, 4}));
}

TEST(Writer, failed_commit_is_reported_to_every_request_of_the_batch_and_writing_goes_on) {
  FakeStore store;
  CommitGate gate;
  std::atomic<int> commit_number{0};
  store.set_commit_hook([&]() -> Result<void> {
    if (++commit_number == 2) return Error{"", "disk full"};
    return gate.pass();
  });
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("held", 1), outcomes.callback(0)), Admission::queued);
  ASSERT_TRUE(gate.wait_entered(1));
  for (int r = 1; r <= 3; ++r) {
    ASSERT_EQ(writer.submit(events("r" + std::to_string(r) + "-", 2), outcomes.callback(r)),
              Admission::queued);
  }
  gate.release();
  ASSERT_TRUE(outcomes.wait_for_count(4));
  EXPECT_TRUE(outcomes.of(0));
  for (int r = 1; r <= 3; ++r) {
    ASSERT_FALSE(outcomes.of(r)) << r;
    EXPECT_EQ(outcomes.of(r).error().message, "disk full");
  }
  EXPECT_FALSE(store.find_event("erp", "r1-0")->has_value());
  EXPECT_EQ(counter_value(registry, "relance_writer_failures_total"), 1u);

  // The writer is still running; a retry of the same events now commits.
  EXPECT_TRUE(writer.running());
  ASSERT_EQ(writer.submit(events("r1-", 2), outcomes.callback(4)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(5));
  ASSERT_TRUE(outcomes.of(4));
  EXPECT_EQ(*outcomes.of(4), (std::vector<AppendOutcome>(2, AppendOutcome::appended)));
  EXPECT_EQ(counter_value(registry, "relance_writer_commits_total"), 2u);
}

TEST(Writer, journal_received_at_comes_from_the_injected_clock) {
  FakeStore store;
  FixedClock clock;
  metrics::Registry registry;
  Writer writer(store, {}, registry, &clock);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("a", 1), outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  EXPECT_EQ((*store.find_event("erp", "a0"))->received_at, clock.now());
}

TEST(Writer, empty_request_is_answered_with_no_outcomes) {
  FakeStore store;
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit({}, outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  ASSERT_TRUE(outcomes.of(1));
  EXPECT_TRUE(outcomes.of(1)->empty());
}

TEST(Writer, duplicates_and_appends_are_counted_by_outcome) {
  FakeStore store;
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("a", 3), outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  ASSERT_EQ(writer.submit(events("a", 2), outcomes.callback(2)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(2));
  const std::string text = registry.render();
  EXPECT_NE(text.find("relance_writer_events_total{outcome=\"appended\"} 3\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("relance_writer_events_total{outcome=\"duplicate\"} 2\n"), std::string::npos)
      << text;
}

// --- Source offsets and the applier hook ----------------------------------------------------

class SettableClock final : public core::Clock {
 public:
  core::Timestamp now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(core::Timestamp now) {
    std::lock_guard lock(mutex_);
    now_ = now;
  }

 private:
  mutable std::mutex mutex_;
  core::Timestamp now_ = core::Timestamp(std::chrono::seconds(1'767'225'600));
};

// Records what the writer tells it, and writes one state row per applied event at
// before_commit (as the engine applier does), so that a test sees what reached the store.
class RecordingApplier final : public Applier {
 public:
  Result<void> apply(store::Transaction&, const core::Event& event, core::Timestamp now) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("apply " + event.id);
    pending_.push_back(event.id);
    last_now_ = now;
    if (fail_on_ == event.id) return Error{"", "cannot apply " + event.id};
    if (throw_on_ == event.id) throw std::runtime_error("no memory left for " + event.id);
    return {};
  }
  bool advance_due(core::Timestamp now) const override {
    std::lock_guard lock(mutex_);
    return now > advanced_to_ || backlog_parts_ > 0;
  }
  Result<void> advance(store::Transaction&, core::Timestamp now) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("advance");
    advanced_to_ = now;
    if (backlog_parts_ > 0) --backlog_parts_;
    pending_.push_back("advanced");
    return {};
  }
  Result<void> before_commit(store::Transaction& transaction) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("before_commit");
    for (const auto& key : pending_) {
      store::StateRow row{store::StateKind::receivable, key, "C-1", key, "{}"};
      if (auto put = transaction.put_state(row); !put) return put;
    }
    return {};
  }
  void committed() override {
    std::lock_guard lock(mutex_);
    calls_.push_back("committed");
    pending_.clear();
  }
  void rolled_back() override {
    std::lock_guard lock(mutex_);
    calls_.push_back("rolled_back");
    pending_.clear();
  }

  bool backlog() const override {
    std::lock_guard lock(mutex_);
    return backlog_parts_ > 0;
  }
  // advance() has that many more transactions of work to do (each reports a backlog but the last).
  void set_backlog(int parts) {
    std::lock_guard lock(mutex_);
    backlog_parts_ = parts;
  }

  void fail_on(std::string id) {
    std::lock_guard lock(mutex_);
    fail_on_ = std::move(id);
  }
  void throw_on(std::string id) {
    std::lock_guard lock(mutex_);
    throw_on_ = std::move(id);
  }
  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  bool wait_for_call(const std::string& call, std::size_t count = 1) const {
    const auto deadline = std::chrono::steady_clock::now() + wait_max;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (static_cast<std::size_t>(std::count(calls_.begin(), calls_.end(), call)) >= count) {
          return true;
        }
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }
  core::Timestamp last_now() const {
    std::lock_guard lock(mutex_);
    return last_now_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
  std::vector<std::string> pending_;
  std::string fail_on_;
  std::string throw_on_;
  core::Timestamp last_now_{};
  core::Timestamp advanced_to_ = core::Timestamp(std::chrono::seconds(1'767'225'600));
  int backlog_parts_ = 0;
};

std::vector<std::string> stored_keys(store::Store& store) {
  std::vector<std::string> keys;
  RELANCE_ASSERT(store
                     .for_each_state(store::StateKind::receivable,
                                     [&](std::string_view blob) -> Result<void> {
                                       keys.emplace_back(blob);
                                       return {};
                                     })
                     .ok());
  return keys;
}

using Strings = std::vector<std::string>;

TEST(Writer, offsets_of_a_request_are_stored_with_its_events) {
  FakeStore store;
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(
      writer.submit(WriteRequest(events("a", 2), {{"kafka:events", 0, 2}, {"kafka:events", 1, 7}}),
                    outcomes.callback(1)),
      Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  ASSERT_TRUE(outcomes.of(1));
  EXPECT_EQ(*store.source_offsets("kafka:events"),
            (std::vector<store::SourceOffset>{{"kafka:events", 0, 2}, {"kafka:events", 1, 7}}));
  EXPECT_EQ(*store.journal_size(), 2);
}

TEST(Writer, later_request_of_a_batch_wins_for_the_same_partition) {
  FakeStore store;
  CommitGate gate;
  store.set_commit_hook([&] { return gate.pass(); });
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("held", 1), outcomes.callback(0)), Admission::queued);
  ASSERT_TRUE(gate.wait_entered(1));
  ASSERT_EQ(writer.submit(WriteRequest(events("a", 1), {{"kafka:t", 0, 1}}), outcomes.callback(1)),
            Admission::queued);
  // Offsets with no events (all of a poll were dead-lettered) move on too.
  ASSERT_EQ(writer.submit(WriteRequest({}, {{"kafka:t", 0, 5}}), outcomes.callback(2)),
            Admission::queued);
  gate.release();
  ASSERT_TRUE(outcomes.wait_for_count(3));
  EXPECT_EQ(store.committed_batch_sizes(), (std::vector<std::size_t>{1, 1}));
  EXPECT_EQ(*store.source_offsets("kafka:t"),
            (std::vector<store::SourceOffset>{{"kafka:t", 0, 5}}));
}

TEST(Writer, offsets_do_not_move_when_the_commit_fails) {
  FakeStore store;
  store.set_commit_hook([]() -> Result<void> { return Error{"", "disk full"}; });
  metrics::Registry registry;
  Writer writer(store, {}, registry);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(WriteRequest(events("a", 1), {{"kafka:t", 0, 1}}), outcomes.callback(1)),
            Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  EXPECT_FALSE(outcomes.of(1));
  EXPECT_TRUE(store.source_offsets("kafka:t")->empty());
}

TEST(Writer, applier_sees_each_appended_event_once_in_journal_order_and_never_a_duplicate) {
  FakeStore store;
  FixedClock clock;
  RecordingApplier applier;
  metrics::Registry registry;
  Writer writer(store, {}, registry, &clock, &applier);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("a", 2), outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  auto again = events("a", 3);               // a0, a1 already journaled
  again.push_back(make_event("erp", "a2"));  // repeated within the request
  ASSERT_EQ(writer.submit(std::move(again), outcomes.callback(2)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(2));
  writer.stop();

  EXPECT_EQ(applier.calls(), (Strings{"apply a0", "apply a1", "before_commit", "committed",
                                      "apply a2", "before_commit", "committed"}));
  EXPECT_EQ(applier.last_now(), clock.now());  // the journal's received_at
  EXPECT_EQ(stored_keys(store), (Strings{"a0", "a1", "a2"}));
}

TEST(Writer, failed_commit_tells_the_applier_to_drop_its_changes_and_stores_none) {
  FakeStore store;
  std::atomic<int> commit_number{0};
  store.set_commit_hook([&]() -> Result<void> {
    if (++commit_number == 1) return Error{"", "disk full"};
    return {};
  });
  RecordingApplier applier;
  FixedClock clock;  // the applier's own time: no advance due
  metrics::Registry registry;
  Writer writer(store, {}, registry, &clock, &applier);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("a", 1), outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  EXPECT_FALSE(outcomes.of(1));
  ASSERT_EQ(writer.submit(events("b", 1), outcomes.callback(2)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(2));
  EXPECT_TRUE(outcomes.of(2));
  writer.stop();
  EXPECT_EQ(applier.calls(), (Strings{"apply a0", "before_commit", "rolled_back", "apply b0",
                                      "before_commit", "committed"}));
  EXPECT_EQ(stored_keys(store), Strings{"b0"});
}

TEST(Writer, applier_error_fails_the_whole_transaction) {
  FakeStore store;
  RecordingApplier applier;
  applier.fail_on("a1");
  FixedClock clock;  // the applier's own time: no advance due
  metrics::Registry registry;
  Writer writer(store, {}, registry, &clock, &applier);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(WriteRequest(events("a", 3), {{"kafka:t", 0, 3}}), outcomes.callback(1)),
            Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  ASSERT_FALSE(outcomes.of(1));
  EXPECT_EQ(outcomes.of(1).error().message, "cannot apply a1");
  writer.stop();
  EXPECT_EQ(applier.calls(), (Strings{"apply a0", "apply a1", "rolled_back"}));
  EXPECT_EQ(*store.journal_size(), 0);
  EXPECT_TRUE(store.source_offsets("kafka:t")->empty());
  EXPECT_TRUE(stored_keys(store).empty());
  EXPECT_EQ(store.transactions_committed(), 0);
}

TEST(Writer, an_exception_while_applying_fails_its_transaction_and_writing_goes_on) {
  FakeStore store;
  RecordingApplier applier;
  applier.throw_on("a1");
  FixedClock clock;  // the applier's own time: no advance due
  metrics::Registry registry;
  Writer writer(store, {}, registry, &clock, &applier);
  Outcomes outcomes;
  ASSERT_EQ(writer.submit(events("a", 2), outcomes.callback(1)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(1));
  ASSERT_FALSE(outcomes.of(1));
  EXPECT_EQ(outcomes.of(1).error().to_string(),
            "writer: unexpected failure: no memory left for a1");
  EXPECT_TRUE(writer.running());
  ASSERT_EQ(writer.submit(events("b", 1), outcomes.callback(2)), Admission::queued);
  ASSERT_TRUE(outcomes.wait_for_count(2));
  EXPECT_TRUE(outcomes.of(2));
  writer.stop();
  EXPECT_EQ(applier.calls(), (Strings{"apply a0", "apply a1", "rolled_back", "apply b0",
                                      "before_commit", "committed"}));
  EXPECT_EQ(*store.journal_size(), 1);
  EXPECT_EQ(stored_keys(store), Strings{"b0"});
}

TEST(Writer, idle_writer_advances_in_its_own_transaction_only_when_due) {
  FakeStore store;
  SettableClock clock;
  RecordingApplier applier;
  metrics::Registry registry;
  Writer writer(store, {.advance_interval = 2ms}, registry, &clock, &applier);
  // Not due: the clock has not moved, so no transaction is opened however long it idles.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(store.transactions_begun(), 0);
  EXPECT_TRUE(applier.calls().empty());

  clock.set(clock.now() + std::chrono::hours(24));
  ASSERT_TRUE(applier.wait_for_call("committed"));
  writer.stop();
  EXPECT_EQ(applier.calls(), (Strings{"advance", "before_commit", "committed"}));
  EXPECT_EQ(store.transactions_committed(), 1);
  EXPECT_EQ(stored_keys(store), Strings{"advanced"});
  EXPECT_EQ(counter_value(registry, "relance_writer_advances_total"), 1u);
}

TEST(Writer, a_backlog_is_advanced_in_transactions_that_follow_at_once) {
  FakeStore store;
  SettableClock clock;
  RecordingApplier applier;
  applier.set_backlog(3);
  metrics::Registry registry;
  // An interval far longer than the test: only backlog() brings the writer back.
  Writer writer(store, {.advance_interval = 1h}, registry, &clock, &applier);
  ASSERT_TRUE(applier.wait_for_call("committed", 3));
  std::this_thread::sleep_for(20ms);
  writer.stop();
  EXPECT_EQ(counter_value(registry, "relance_writer_advances_total"), 3u);
  EXPECT_FALSE(applier.backlog());
}

TEST(Writer, busy_writer_still_advances) {
  FakeStore store;
  SettableClock clock;
  RecordingApplier applier;
  metrics::Registry registry;
  Writer writer(store, {.advance_interval = 1ms}, registry, &clock, &applier);
  clock.set(clock.now() + std::chrono::hours(24));
  Outcomes outcomes;
  // Requests back to back: the writer may never wait idle for a whole interval.
  for (int r = 0; r < 50; ++r) {
    ASSERT_EQ(writer.submit(events("r" + std::to_string(r) + "-", 1), outcomes.callback(r)),
              Admission::queued);
    std::this_thread::sleep_for(200us);
  }
  ASSERT_TRUE(outcomes.wait_for_count(50));
  ASSERT_TRUE(applier.wait_for_call("advance"));
  writer.stop();
  EXPECT_EQ(counter_value(registry, "relance_writer_advances_total"), 1u);
}

}  // namespace
}  // namespace relance::ingest
