// Measures how long one writer transaction of a batch of events takes on PostgreSQL, from
// begin() to the end of commit(), against a throwaway local cluster (loopback TCP).
// Usage: postgres_batch_latency [--events 500] [--transactions 200] [--fsync on|off]
// Prints percentiles for: one append() per event (the writer's loop today), append_batch(),
// and append_batch() plus one state row per event (what a batch writes once the engine runs).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "store/postgres/postgres_store.hpp"
#include "test_events.hpp"
#include "tests/integration/servers/postgres_cluster.hpp"

namespace {

using namespace relance;
using Clock = std::chrono::steady_clock;

enum class Mode { per_event, batch, batch_with_state };

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::per_event:
      return "append() x N";
    case Mode::batch:
      return "append_batch()";
    case Mode::batch_with_state:
      return "append_batch() + N put_state()";
  }
  return "";
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "postgres_batch_latency: %s\n", what.c_str());
  std::exit(1);
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[index];
}

void measure(testing::PostgresCluster& cluster, Mode mode, int events_per_batch, int transactions) {
  auto database = cluster.create_database("latency");
  if (!database) fail(database.error().to_string());
  auto opened = store::open_postgres_store({.url = cluster.url(*database)});
  if (!opened) fail(opened.error().to_string());
  store::Store& store = **opened;
  const core::Timestamp now{std::chrono::seconds(1'767'225'600)};
  std::vector<double> millis;
  int next_id = 0;
  for (int t = 0; t < transactions; ++t) {
    std::vector<core::Event> events;
    events.reserve(static_cast<std::size_t>(events_per_batch));
    for (int e = 0; e < events_per_batch; ++e) {
      events.push_back(store::testing::make_event("bench", std::to_string(next_id++), 300));
    }
    const auto started = Clock::now();
    auto transaction = store.begin();
    if (!transaction) fail(transaction.error().to_string());
    if (mode == Mode::per_event) {
      for (const auto& event : events) {
        if (auto appended = (*transaction)->append(event, now); !appended) {
          fail(appended.error().to_string());
        }
      }
    } else {
      if (auto appended = (*transaction)->append_batch(events, now); !appended) {
        fail(appended.error().to_string());
      }
    }
    if (mode == Mode::batch_with_state) {
      for (const auto& event : events) {
        store::StateRow row{store::StateKind::receivable, "INV-" + event.id, "C-1",
                            std::string(200, 'b'), std::string(300, 'v')};
        if (auto put = (*transaction)->put_state(row); !put) fail(put.error().to_string());
      }
    }
    if (auto committed = (*transaction)->commit(); !committed) {
      fail(committed.error().to_string());
    }
    millis.push_back(std::chrono::duration<double, std::milli>(Clock::now() - started).count());
  }
  double total = 0;
  for (double m : millis) total += m;
  std::printf("%-32s p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  max %7.2f ms  %9.0f events/s\n",
              mode_name(mode), percentile(millis, 0.5), percentile(millis, 0.9),
              percentile(millis, 0.99), percentile(millis, 1.0),
              events_per_batch * transactions / (total / 1000.0));
  opened->reset();
  (void)cluster.drop_database(*database);
}

}  // namespace

int main(int argc, char** argv) {
  int events = 500;
  int transactions = 200;
  bool fsync = true;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--events") == 0) {
      events = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--transactions") == 0) {
      transactions = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--fsync") == 0) {
      fsync = std::strcmp(argv[i + 1], "off") != 0;
    } else {
      fail(std::string("unknown option ") + argv[i]);
    }
  }
  if (events <= 0 || transactions <= 0) fail("--events and --transactions must be positive");
  auto cluster = testing::PostgresCluster::start({.fsync = fsync});
  if (!cluster) fail(cluster.error().to_string());
  std::printf("PostgreSQL on loopback, fsync %s, %d transactions of %d events of 300 bytes\n",
              fsync ? "on" : "off", transactions, events);
  for (Mode mode : {Mode::per_event, Mode::batch, Mode::batch_with_state}) {
    measure(**cluster, mode, events, transactions);
  }
  return 0;
}
