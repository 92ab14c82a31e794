// refresh_bench: what a partition assignment costs the writer with several daemons on one store.
// EngineApplier::request_refresh() reloads the whole engine from the store at the start of the
// next transaction (and DunningApplier rebuilds its schedule); this measures that transaction
// against an ordinary one, on SQLite, for N receivables (default 100,000 over N/10 customers).
//
//   refresh_bench [--receivables N] [--dir FOLDER]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "state/engine_applier.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace {

using namespace relance;
using Clock = std::chrono::steady_clock;

core::Timestamp noon(core::Date date) {
  return core::Timestamp(std::chrono::sys_days(date).time_since_epoch()) + std::chrono::hours(12);
}

core::Event invoice(int i, int customers, core::Date issued) {
  core::InvoiceData d;
  d.invoice_id = "INV-" + std::to_string(i);
  d.customer_id = "C-" + std::to_string(i % customers);
  d.amount = core::Money{12'000 + i % 1000, core::Currency::from_code("EUR").value()};
  d.issue_date = issued;
  d.due_date = core::add_days(issued, 30);
  d.number = d.invoice_id;
  core::Event event;
  event.id = "inv-" + std::to_string(i);
  event.source = "erp/bench";
  event.type = core::EventType::invoice_issued;
  event.time = noon(issued);
  event.data = std::move(d);
  core::encode_event(event);
  return event;
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// One writer transaction: the events, then before_commit and commit, as the writer does.
bool transaction(store::Store& store, state::EngineApplier& applier,
                 const std::vector<core::Event>& events, core::Timestamp now) {
  auto tx = store.begin();
  if (!tx) return false;
  for (const core::Event& event : events) {
    auto appended = (*tx)->append(event, now);
    if (!appended) return false;
    if (*appended != store::AppendOutcome::appended) continue;
    if (!applier.apply(**tx, event, now)) return false;
  }
  if (!applier.before_commit(**tx) || !(*tx)->commit()) {
    applier.rolled_back();
    return false;
  }
  applier.committed();
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int receivables = 100'000;
  std::string dir = "/tmp/relance-refresh-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--receivables") receivables = std::atoi(argv[i + 1]);
    if (flag == "--dir") dir = argv[i + 1];
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = store::open_sqlite_store({dir + "/relance.db"});
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().to_string().c_str());
    return 1;
  }
  auto applier = state::EngineApplier::open(**store, core::engine::EngineOptions{});
  if (!applier) {
    std::fprintf(stderr, "%s\n", applier.error().to_string().c_str());
    return 1;
  }
  const int customers = std::max(1, receivables / 10);
  const core::Date day = core::parse_date("2026-01-05").value();
  const auto fill = Clock::now();
  for (int from = 0; from < receivables; from += 5000) {
    std::vector<core::Event> events;
    for (int i = from; i < std::min(receivables, from + 5000); ++i) {
      events.push_back(invoice(i, customers, day));
    }
    if (!transaction(**store, **applier, events, noon(day))) {
      std::fprintf(stderr, "filling the store failed\n");
      return 1;
    }
  }
  std::printf("filled %d receivables over %d customers in %.0f ms\n", receivables, customers,
              ms_since(fill));

  const int next = receivables;
  auto plain = Clock::now();
  if (!transaction(**store, **applier, {invoice(next, customers, day)}, noon(day))) return 1;
  const double plain_ms = ms_since(plain);

  (*applier)->request_refresh();
  const int reloads = (*applier)->reloads();
  auto refreshed = Clock::now();
  if (!transaction(**store, **applier, {invoice(next + 1, customers, day)}, noon(day))) return 1;
  const double refresh_ms = ms_since(refreshed);
  if ((*applier)->reloads() != reloads + 1) {
    std::fprintf(stderr, "the refresh did not reload\n");
    return 1;
  }
  std::printf(
      "one-event transaction: %.1f ms; the same after an assignment (full reload of %zu "
      "receivables, %zu customers): %.1f ms\n",
      plain_ms, static_cast<std::size_t>((*applier)->engine().receivable_count()),
      static_cast<std::size_t>((*applier)->engine().customer_count()), refresh_ms);
  std::filesystem::remove_all(dir);
  return 0;
}
