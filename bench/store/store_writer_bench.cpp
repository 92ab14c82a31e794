// Throughput of the single writer into SQLite: submitter threads hand it requests of N events
// (as HTTP handlers would), it group-commits them in WAL mode with synchronous=FULL. Also times
// the store alone (one thread, big transactions) as the ceiling the writer can approach.
//
//   store_writer_bench [--events N] [--request-events N] [--event-bytes N] [--submitters N]
//                      [--batch-events-max N] [--dir PATH]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/writer.hpp"
#include "metrics/metrics.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using relance::core::Event;

struct Options {
  std::size_t events = 1'000'000;
  std::size_t request_events = 500;
  std::size_t event_bytes = 300;
  int submitters = 4;
  std::size_t batch_events_max = 10000;
  std::string dir = std::filesystem::current_path().string();
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: store_writer_bench [--events N] [--request-events N] [--event-bytes N]\n"
               "                          [--submitters N] [--batch-events-max N] [--dir PATH]\n"
               "--dir must be on a real disk (not tmpfs): commits fsync.\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") usage(0);
    if (i + 1 >= argc) usage(64);
    const std::string value = argv[++i];
    if (arg == "--dir") {
      options.dir = value;
      continue;
    }
    char* end = nullptr;
    const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
    if (*end != '\0' || number == 0) usage(64);
    if (arg == "--events")
      options.events = number;
    else if (arg == "--request-events")
      options.request_events = number;
    else if (arg == "--event-bytes")
      options.event_bytes = number;
    else if (arg == "--submitters")
      options.submitters = static_cast<int>(number);
    else if (arg == "--batch-events-max")
      options.batch_events_max = number;
    else
      usage(64);
  }
  return options;
}

// A canonical-looking invoice.issued envelope of exactly `bytes` bytes (at least the skeleton).
Event make_event(std::size_t sequence, std::size_t bytes) {
  Event event;
  event.source = "https://erp.example.com/acme";
  event.id = "evt-" + std::to_string(sequence);
  event.type = relance::core::EventType::invoice_issued;
  event.json =
      R"({"specversion":"1.0","id":")" + event.id + R"(","source":")" + event.source +
      R"(","type":"invoice.issued","time":"2026-03-01T09:30:00Z","data":{"invoice_id":"INV-)" +
      std::to_string(sequence) +
      R"(","customer_id":"C-042","amount":{"amount":"1250.00","currency":"EUR"},)"
      R"("issue_date":"2026-03-01","due_date":"2026-03-31","note":")";
  const std::size_t tail = 3;  // "}}
  if (event.json.size() + tail < bytes) event.json.append(bytes - event.json.size() - tail, 'n');
  event.json += "\"}}";
  return event;
}

std::string fresh_path(const std::string& dir, const char* name) {
  const std::string path = dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

std::unique_ptr<relance::store::Store> open_store(const std::string& path) {
  auto store = relance::store::open_sqlite_store({.path = path});
  if (!store) {
    std::fprintf(stderr, "cannot open %s: %s\n", path.c_str(), store.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(*store);
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The store alone: one thread, transactions of batch_events_max events.
void bench_store_alone(const Options& options) {
  const std::string path = fresh_path(options.dir, "bench_store_alone.db");
  auto store = open_store(path);
  std::vector<Event> batch;
  const auto received_at = relance::core::SystemClock().now();
  double elapsed = 0;  // appending and committing only; building the events is not timed
  std::size_t written = 0;
  while (written < options.events) {
    const std::size_t count = std::min(options.batch_events_max, options.events - written);
    batch.clear();
    for (std::size_t i = 0; i < count; ++i) {
      batch.push_back(make_event(written + i, options.event_bytes));
    }
    const auto start = Clock::now();
    auto transaction = store->begin();
    if (!transaction) {
      std::fprintf(stderr, "%s\n", transaction.error().to_string().c_str());
      std::exit(1);
    }
    for (const Event& event : batch) {
      if (auto appended = (*transaction)->append(event, received_at); !appended) {
        std::fprintf(stderr, "%s\n", appended.error().to_string().c_str());
        std::exit(1);
      }
    }
    if (auto committed = (*transaction)->commit(); !committed) {
      std::fprintf(stderr, "%s\n", committed.error().to_string().c_str());
      std::exit(1);
    }
    elapsed += seconds_since(start);
    written += count;
  }
  std::printf(
      "store alone:  %zu events in %.2f s = %.0f events/s (one thread, transactions of "
      "%zu; append + commit only)\n",
      written, elapsed, static_cast<double>(written) / elapsed, options.batch_events_max);
  store.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

// The writer, fed by submitter threads; a refused request (queue_full) is retried, as an HTTP
// client would after a 503.
void bench_writer(const Options& options) {
  const std::string path = fresh_path(options.dir, "bench_writer.db");
  auto store = open_store(path);
  relance::metrics::Registry registry;
  relance::ingest::WriterLimits limits;
  limits.batch_events_max = options.batch_events_max;
  relance::ingest::Writer writer(*store, limits, registry);
  const relance::metrics::Gauge& queue_gauge = registry.gauge("relance_writer_queue_events", "");

  const std::size_t requests =
      (options.events + options.request_events - 1) / options.request_events;
  std::atomic<std::size_t> next_request{0};
  std::atomic<std::size_t> done_requests{0};
  std::atomic<std::size_t> failed_requests{0};
  std::atomic<std::size_t> refusals{0};
  std::mutex latency_mutex;
  std::vector<double> latencies;  // submit -> done, seconds
  latencies.reserve(requests);

  const auto start = Clock::now();
  std::vector<std::thread> submitters;
  for (int t = 0; t < options.submitters; ++t) {
    submitters.emplace_back([&] {
      while (true) {
        const std::size_t r = next_request.fetch_add(1);
        if (r >= requests) return;
        const std::size_t first = r * options.request_events;
        const std::size_t count = std::min(options.request_events, options.events - first);
        while (true) {
          // submit() takes the events even when it refuses them: a refused request is built
          // again, as an HTTP client would send it again.
          std::vector<Event> events;
          events.reserve(count);
          for (std::size_t i = 0; i < count; ++i) {
            events.push_back(make_event(first + i, options.event_bytes));
          }
          // Back off while the queue has no room, as a client answered 503 would.
          while (queue_gauge.value() + static_cast<double>(count) >
                 static_cast<double>(limits.queue_events_max)) {
            std::this_thread::sleep_for(std::chrono::microseconds(500));
          }
          const auto submitted = Clock::now();
          auto done = [&, submitted](relance::ingest::WriteOutcome outcome) {
            if (!outcome) failed_requests.fetch_add(1);
            {
              std::lock_guard lock(latency_mutex);
              latencies.push_back(seconds_since(submitted));
            }
            done_requests.fetch_add(1);
          };
          if (writer.submit(std::move(events), done) == relance::ingest::Admission::queued) break;
          refusals.fetch_add(1);
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
      }
    });
  }
  for (auto& submitter : submitters) submitter.join();
  writer.stop();
  const double elapsed = seconds_since(start);

  std::sort(latencies.begin(), latencies.end());
  auto percentile = [&](double p) {
    return latencies.empty() ? 0.0
                             : latencies[static_cast<std::size_t>(p * (latencies.size() - 1))];
  };
  const auto commits = registry.counter("relance_writer_commits_total", "").value();
  const auto size = store->journal_size();
  std::printf(
      "writer:       %zu events in %.2f s = %.0f events/s (%d submitters, requests of %zu "
      "events of %zu bytes)\n",
      options.events, elapsed, static_cast<double>(options.events) / elapsed, options.submitters,
      options.request_events, options.event_bytes);
  std::printf(
      "              %llu commits, %.0f events per commit; request latency p50 %.1f ms, "
      "p99 %.1f ms, max %.1f ms; %zu queue_full retries; %zu failed; journal %lld\n",
      static_cast<unsigned long long>(commits),
      static_cast<double>(options.events) /
          static_cast<double>(std::max<std::uint64_t>(commits, 1)),
      percentile(0.5) * 1e3, percentile(0.99) * 1e3, percentile(1.0) * 1e3, refusals.load(),
      failed_requests.load(), size ? static_cast<long long>(*size) : -1LL);
  store.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  if (failed_requests.load() != 0 || !size || static_cast<std::size_t>(*size) != options.events) {
    std::fprintf(stderr, "writer bench: not every event was committed\n");
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  std::printf("database directory: %s\n", options.dir.c_str());
  bench_store_alone(options);
  bench_writer(options);
  return 0;
}
