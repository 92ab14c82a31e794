#include "ingest/writer.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/assert.hpp"

namespace relance::ingest {

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

struct Request {
  std::vector<core::Event> events;
  std::function<void(WriteOutcome)> done;
  SteadyTime queued_at;
};

enum class State { running, stopping, stopped };

std::vector<double> batch_events_buckets() {
  return {1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000};
}

}  // namespace

struct Writer::Impl {
  Impl(store::Store& store_in, WriterLimits limits_in, metrics::Registry& registry,
       const core::Clock* clock_in)
      : store(store_in),
        limits(limits_in),
        clock(clock_in ? *clock_in : system_clock),
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
                                    {{"outcome", "duplicate"}})) {}

  void run();
  void take_batch(std::vector<Request>& batch);
  void write_batch(std::vector<Request>& batch);

  store::Store& store;
  const WriterLimits limits;
  const core::SystemClock system_clock;
  const core::Clock& clock;

  metrics::Histogram& batch_events;
  metrics::Histogram& commit_seconds;
  metrics::Gauge& queue_events;
  metrics::Counter& commits;
  metrics::Counter& failures;
  metrics::Counter& appended;
  metrics::Counter& duplicates;

  mutable std::mutex mutex;
  std::condition_variable work_available;
  std::deque<Request> queue;      // guarded by mutex
  std::size_t queued_events = 0;  // guarded by mutex
  State state = State::running;   // guarded by mutex

  std::mutex join_mutex;  // stop() may be called from several threads
  std::thread thread;
};

Writer::Writer(store::Store& store, WriterLimits limits, metrics::Registry& metrics,
               const core::Clock* clock)
    : impl_(std::make_unique<Impl>(store, limits, metrics, clock)) {
  RELANCE_ASSERT(limits.batch_events_max >= 1);
  RELANCE_ASSERT(limits.queue_events_max >= 1);
  RELANCE_ASSERT(limits.batch_delay_max.count() >= 0);
  impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

Writer::~Writer() { stop(); }

Admission Writer::submit(std::vector<core::Event> events, std::function<void(WriteOutcome)> done) {
  RELANCE_ASSERT(done);
  Impl& impl = *impl_;
  const std::size_t count = events.size();
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
    impl.queue.push_back({std::move(events), std::move(done), std::chrono::steady_clock::now()});
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
  while (true) {
    {
      std::unique_lock lock(mutex);
      work_available.wait(lock, [&] { return !queue.empty() || state != State::running; });
      if (queue.empty()) return;  // stopping, and everything queued is committed
      if (state == State::running && queued_events < limits.batch_events_max) {
        // Group commit: give concurrent submitters until the oldest request has waited
        // batch_delay_max to join this transaction. Under load the oldest has already waited
        // for the previous commit, so this adds no delay.
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
  }
}

// Whole requests, oldest first, up to batch_events_max events; a request larger than that goes
// alone. Called with the mutex held.
void Writer::Impl::take_batch(std::vector<Request>& batch) {
  std::size_t events = 0;
  while (!queue.empty()) {
    const std::size_t count = queue.front().events.size();
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
  for (const Request& request : batch) events += request.events.size();
  std::vector<std::vector<store::AppendOutcome>> outcomes(batch.size());
  // The transaction lives only inside this lambda: it is committed, or rolled back by its
  // destructor, before any request is told anything. Later stages (apply to the receivable
  // engine, state, outbox, source offsets) join this same transaction here.
  const Result<void> written = [&]() -> Result<void> {
    auto transaction = store.begin();
    if (!transaction) return transaction.error();
    const core::Timestamp received_at = clock.now();
    for (std::size_t i = 0; i < batch.size(); ++i) {
      outcomes[i].reserve(batch[i].events.size());
      for (const core::Event& event : batch[i].events) {
        auto outcome = (*transaction)->append(event, received_at);
        if (!outcome) return outcome.error();
        outcomes[i].push_back(*outcome);
      }
    }
    return (*transaction)->commit();
  }();

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
