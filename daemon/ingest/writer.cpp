#include "ingest/writer.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "core/assert.hpp"

namespace relance::ingest {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Request {
  WriteRequest work;
  std::function<void(WriteOutcome)> done;
  SteadyTime queued_at;
};

enum class State { running, stopping, stopped };

// A transaction's work with an exception (a bug, memory exhausted) turned into its failure: the
// transaction rolls back, the applier drops its changes, every request of it is told why, and
// the writer goes on with the next one.
template <typename Work>
Result<void> without_exceptions(Work&& work) {
  try {
    return work();
  } catch (const std::exception& e) {
    return Error{"writer", std::string("unexpected failure: ") + e.what()};
  }
}

std::vector<double> batch_events_buckets() {
  return {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000};
}

}  // namespace

struct Writer::Impl {
  Impl(store::Store& store_in, WriterLimits limits_in, metrics::Registry& registry,
       const core::Clock* clock_in, Applier* applier_in)
      : store(store_in),
        limits(limits_in),
        clock(clock_in ? *clock_in : system_clock),
        applier(applier_in),
        batch_events(registry.histogram("relance_writer_batch_events",
                                        "Events written per writer transaction.",
                                        batch_events_buckets())),
        commit_seconds(
            registry.histogram("relance_writer_commit_seconds",
                               "Time to write and commit one writer transaction, in seconds.",
                               metrics::latency_buckets_seconds())),
        queue_events(registry.gauge("relance_writer_queue_events",
                                    "Events queued for the writer, not yet in a transaction.")),
        commits(registry.counter("relance_writer_commits_total", "Writer transactions committed.")),
        failures(registry.counter("relance_writer_failures_total",
                                  "Writer transactions that failed; their requests were told.")),
        appended(registry.counter("relance_writer_events_total",
                                  "Events committed by the writer, by outcome.",
                                  {{"outcome", "appended"}})),
        duplicates(registry.counter("relance_writer_events_total",
                                    "Events committed by the writer, by outcome.",
                                    {{"outcome", "duplicate"}})),
        advances(registry.counter("relance_writer_advances_total",
                                  "Transactions of time-only transitions committed by the "
                                  "writer.")) {}

  void run();
  void take_batch(std::vector<Request>& batch);
  void write_batch(std::vector<Request>& batch);
  // A transaction of time-only transitions when the applier has any. Returns when to call it
  // again: after advance_interval, or at once while the applier has a backlog.
  SteadyTime advance_if_due();

  store::Store& store;
  const WriterLimits limits;
  const core::SystemClock system_clock;
  const core::Clock& clock;
  Applier* const applier;

  metrics::Histogram& batch_events;
  metrics::Histogram& commit_seconds;
  metrics::Gauge& queue_events;
  metrics::Counter& commits;
  metrics::Counter& failures;
  metrics::Counter& appended;
  metrics::Counter& duplicates;
  metrics::Counter& advances;

  mutable std::mutex mutex;
  std::condition_variable work_available;
  std::deque<Request> queue;      // guarded by mutex
  std::size_t queued_events = 0;  // guarded by mutex
  State state = State::running;   // guarded by mutex

  std::mutex join_mutex;  // stop() may be called from several threads
  std::thread thread;
};

Writer::Writer(store::Store& store, WriterLimits limits, metrics::Registry& metrics,
               const core::Clock* clock, Applier* applier)
    : impl_(std::make_unique<Impl>(store, limits, metrics, clock, applier)) {
  RELANCE_ASSERT(limits.batch_events_max >= 1);
  RELANCE_ASSERT(limits.advance_interval.count() >= 1);
  RELANCE_ASSERT(limits.queue_events_max >= 1);
  RELANCE_ASSERT(limits.batch_delay_max.count() >= 0);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

Writer::~Writer() { stop(); }

Admission Writer::submit(WriteRequest request, std::function<void(WriteOutcome)> done) {
  RELANCE_ASSERT(done);
  Impl& impl = *impl_;
  const std::size_t count = request.events.size();
  bool wake = false;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.state != State::running) return Admission::stopped;
    // queued_events never exceeds queue_events_max, so the subtraction cannot wrap.
    if (count > impl.limits.queue_events_max - impl.queued_events) {
      return Admission::queue_full;
    }
    // Wake the writer when it may be idle, or when the batch it is waiting to fill is full;
    // not on every request, which would only wake it to wait again.
    const std::size_t before = impl.queued_events;
    wake = impl.queue.empty() || (before < impl.limits.batch_events_max &&
                                  before + count >= impl.limits.batch_events_max);
    impl.queue.push_back({std::move(request), std::move(done), std::chrono::steady_clock::now()});
    impl.queued_events += count;
    impl.queue_events.set(static_cast<double>(impl.queued_events));
  }
  if (wake) impl.work_available.notify_one();
  return Admission::queued;
}

void Writer::stop() {
  Impl& impl = *impl_;
  {
    std::lock_guard lock(impl.mutex);
    if (impl.state == State::running) impl.state = State::stopping;
  }
  impl.work_available.notify_one();
  std::lock_guard join_lock(impl.join_mutex);
  if (impl.thread.joinable()) {
    RELANCE_ASSERT(impl.thread.get_id() != std::this_thread::get_id() &&
                   "Writer::stop() called from a done callback");
    impl.thread.join();
  }
  std::lock_guard lock(impl.mutex);
  impl.state = State::stopped;
}

bool Writer::running() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->state == State::running;
}

void Writer::Impl::run() {
  std::vector<Request> batch;
  // At once at start: the state loaded may be as of an earlier day than today.
  SteadyTime next_advance = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(mutex);
      const auto has_work = [&] { return !queue.empty() || state != State::running; };
      if (applier == nullptr) {
        work_available.wait(lock, has_work);
      } else if (!work_available.wait_until(lock, next_advance, has_work)) {
        // Idle for advance_interval: let time move the state on.
        lock.unlock();
        next_advance = advance_if_due();
        continue;
      }
      if (queue.empty()) return;  // stopping, and everything queued is committed
      if (state == State::running && queued_events < limits.batch_events_max) {
        // Group commit: give concurrent submitters until the oldest request has waited
        // batch_delay_max to join this transaction. Under load the oldest has often waited
        // that long for the previous commit already; when not, the wait delays every request of
        // the transaction, so it stays well below a commit's time.
        const SteadyTime deadline = queue.front().queued_at + limits.batch_delay_max;
        work_available.wait_until(lock, deadline, [&] {
          return queued_events >= limits.batch_events_max || state != State::running;
        });
      }
      take_batch(batch);
      queue_events.set(static_cast<double>(queued_events));
    }
    write_batch(batch);
    batch.clear();
    // Under steady load the writer is never idle; time still moves on.
    if (applier != nullptr && std::chrono::steady_clock::now() >= next_advance) {
      next_advance = advance_if_due();
    }
  }
}

SteadyTime Writer::Impl::advance_if_due() {
  const core::Timestamp now = clock.now();
  const SteadyTime next = std::chrono::steady_clock::now() + limits.advance_interval;
  if (!applier->advance_due(now)) return next;
  const Result<void> written = without_exceptions([&]() -> Result<void> {
    auto transaction = store.begin();
    if (!transaction) return transaction.error();
    if (auto advanced = applier->advance(**transaction, now); !advanced) return advanced;
    if (auto flushed = applier->before_commit(**transaction); !flushed) return flushed;
    return (*transaction)->commit();
  });
  if (!written) {
    applier->rolled_back();
    failures.inc();  // tried again at the next interval
    return next;
  }
  applier->committed();
  advances.inc();
  return applier->backlog() ? std::chrono::steady_clock::now() : next;
}

// Whole requests, oldest first, up to batch_events_max events; a request larger than that goes
// alone. Called with the mutex held.
void Writer::Impl::take_batch(std::vector<Request>& batch) {
  std::size_t events = 0;
  while (!queue.empty()) {
    const std::size_t count = queue.front().work.events.size();
    if (!batch.empty() && events + count > limits.batch_events_max) break;
    events += count;
    batch.push_back(std::move(queue.front()));
    queue.pop_front();
  }
  queued_events -= events;
}

void Writer::Impl::write_batch(std::vector<Request>& batch) {
  const auto started = std::chrono::steady_clock::now();
  std::size_t events = 0;
  for (const Request& request : batch) events += request.work.events.size();
  std::vector<std::vector<store::AppendOutcome>> outcomes(batch.size());
  // The transaction lives only inside this lambda: it is committed, or rolled back by its
  // destructor, before any request is told anything. The applier's state and the sources'
  // offsets join this same transaction.
  const Result<void> written = without_exceptions([&]() -> Result<void> {
    auto transaction = store.begin();
    if (!transaction) return transaction.error();
    store::Transaction& tx = **transaction;
    const core::Timestamp received_at = clock.now();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      // One call per request: a backend with a round trip per statement (PostgreSQL) sends the
      // request's events together.
      auto appended = tx.append_batch(batch[i].work.events, received_at);
      if (!appended) return appended.error();
      outcomes[i] = std::move(*appended);
      for (std::size_t e = 0; e < outcomes[i].size() && applier != nullptr; ++e) {
        if (outcomes[i][e] != store::AppendOutcome::appended) continue;
        if (auto applied = applier->apply(tx, batch[i].work.events[e], received_at); !applied) {
          return applied;
        }
      }
      for (const store::SourceOffset& offset : batch[i].work.offsets) {
        if (auto stored = tx.put_source_offset(offset); !stored) return stored;
      }
    }
    if (applier != nullptr) {
      if (auto flushed = applier->before_commit(tx); !flushed) return flushed;
    }
    return tx.commit();
  });
  if (applier != nullptr) {
    if (written) {
      applier->committed();
    } else {
      applier->rolled_back();
    }
  }

  batch_events.observe(static_cast<double>(events));
  if (written) {
    commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    commits.inc();
    std::uint64_t appended_count = 0;
    for (const auto& request_outcomes : outcomes) {
      for (const auto outcome : request_outcomes) {
        appended_count += outcome == store::AppendOutcome::appended ? 1 : 0;
      }
    }
    appended.inc(appended_count);
    duplicates.inc(events - appended_count);
  } else {
    failures.inc();
  }

  for (std::size_t i = 0; i < batch.size(); ++i) {
    WriteOutcome outcome =
        written ? WriteOutcome(std::move(outcomes[i])) : WriteOutcome(written.error());
    try {
      batch[i].done(std::move(outcome));
    } catch (...) {
      // The contract is that done() only posts an answer; one that throws is a bug in its owner.
      RELANCE_ASSERT(false && "a writer done callback threw");
    }
  }
}

}  // namespace relance::ingest
