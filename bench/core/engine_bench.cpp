// The pure receivable engine on one core:
//  1. throughput: events/s of Engine::apply() for a realistic mix (invoices; payments found by
//     the invoice number in their remittance text, by explicit allocation, or by exact amount;
//     credit notes), the clock moving a day every `events_per_day` events;
//  2. memory: resident bytes per open receivable with N invoices loaded, beyond the process
//     baseline (RSS from /proc/self/statm before and after; events are built one at a time so
//     that only the engine's state is counted);
//  3. one customer's long history: ten invoices a day, each paid the day it is issued by a
//     payment that names it, in that order, so that the day's next invoice sorts before the
//     payments already folded; the cost per event of the first and of the last quarter (flat:
//     such an invoice is folded alone, not with the customer's whole history again).
//
//   engine_bench [--events N] [--customers N] [--receivables N] [--history N] [--skip-memory]

#include <unistd.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "core/engine/engine.hpp"

namespace {

using namespace relance::core;
using namespace relance::core::engine;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::size_t events = 2'000'000;
  std::size_t customers = 50'000;
  std::size_t receivables = 1'000'000;
  std::size_t history = 20'000;
  bool memory = true;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: engine_bench [--events N] [--customers N] [--receivables N] "
               "[--history N] [--skip-memory]\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help") usage(0);
    if (arg == "--skip-memory") {
      o.memory = false;
      continue;
    }
    if (i + 1 >= argc) usage(64);
    char* end = nullptr;
    unsigned long long n = std::strtoull(argv[++i], &end, 10);
    if (*end != '\0' || n == 0) usage(64);
    if (arg == "--events")
      o.events = n;
    else if (arg == "--customers")
      o.customers = n;
    else if (arg == "--receivables")
      o.receivables = n;
    else if (arg == "--history")
      o.history = n;
    else
      usage(64);
  }
  return o;
}

std::size_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  if (std::fscanf(f, "%lu %lu", &size, &resident) != 2) resident = 0;
  std::fclose(f);
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

// CPU time of this thread: the machine may be shared, and the figure wanted is one core's.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

const Currency eur = Currency::from_code("EUR").value();
const Date start = parse_date("2026-01-01").value();

Timestamp at(Date d) { return Timestamp(std::chrono::sys_days(d).time_since_epoch()); }

// A stream of events as an ERP and a bank would send them: each customer gets invoices; about
// 80% of them are paid 10 to 60 days later (most payments name the invoice number in their
// remittance text, some are allocated by the ERP, some carry only the amount), some partly by a
// credit note first.
class Mix {
 public:
  Mix(std::size_t customers, unsigned seed) : customers_(customers), rng_(seed) {}

  Event next(Date today) {
    Event e;
    e.source = "bench";
    e.id = std::to_string(serial_++);
    e.time = at(today);
    if (!due_.empty() && due_.top().date <= today && (rng_() % 2 == 0)) {
      Pending p = due_.top();
      due_.pop();
      return settle(std::move(e), p, today);
    }
    InvoiceData d;
    std::size_t n = invoices_++;
    d.invoice_id = "I" + std::to_string(n);
    d.number = "F" + std::to_string(100000000 + n);
    d.customer_id = "C" + std::to_string(rng_() % customers_);
    d.amount = Money{static_cast<std::int64_t>(5000 + rng_() % 500000), eur};
    d.issue_date = today;
    d.due_date = add_days(today, 30);
    e.type = EventType::invoice_issued;
    if (rng_() % 10 < 8) {
      due_.push({add_days(today, 10 + static_cast<int>(rng_() % 50)), d.invoice_id, *d.number,
                 d.customer_id, d.amount.minor_units, 0});
    }
    e.data = std::move(d);
    return e;
  }

 private:
  struct Pending {
    Date date;
    std::string invoice_id, number, customer_id;
    std::int64_t amount;
    int step;
    bool operator>(const Pending& other) const { return date > other.date; }
  };

  Event settle(Event e, Pending p, Date today) {
    unsigned kind = rng_() % 20;
    if (kind == 0 && p.step == 0) {  // a credit note on the invoice, the rest paid later
      CreditNoteIssued cn;
      cn.credit_note_id = "CN" + e.id;
      cn.customer_id = p.customer_id;
      cn.amount = Money{p.amount / 10, eur};
      cn.issue_date = today;
      cn.invoice_id = p.invoice_id;
      e.type = EventType::credit_note_issued;
      e.data = std::move(cn);
      p.amount -= p.amount / 10;
      p.step = 1;
      p.date = add_days(today, 5);
      due_.push(std::move(p));
      return e;
    }
    PaymentReceived pay;
    pay.payment_id = "P" + e.id;
    pay.amount = Money{p.amount, eur};
    pay.received_date = today;
    pay.customer_id = p.customer_id;
    if (kind < 14) {
      pay.remittance_info = "VIR SEPA " + p.number + " ACME SARL";
    } else if (kind < 18) {
      pay.allocations.push_back({p.invoice_id, pay.amount});
    }  // else: the amount alone
    e.type = EventType::payment_received;
    e.data = std::move(pay);
    return e;
  }

  std::size_t customers_;
  std::mt19937_64 rng_;
  std::size_t serial_ = 0;
  std::size_t invoices_ = 0;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<Pending>> due_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);

  // 1. Memory (first, on a fresh heap) per open receivable.
  if (o.memory) {
    std::size_t baseline = resident_bytes();
    {
      Engine engine;
      std::mt19937_64 rng(2);
      const Timestamp now = at(start);
      for (std::size_t n = 0; n < o.receivables; ++n) {
        Event e;
        e.source = "bench";
        e.id = std::to_string(n);
        e.type = EventType::invoice_issued;
        e.time = now;
        InvoiceData d;
        d.invoice_id = "I" + std::to_string(n);
        d.number = "F" + std::to_string(100000000 + n);
        d.customer_id = "C" + std::to_string(rng() % (o.receivables / 20 + 1));
        d.amount = Money{static_cast<std::int64_t>(5000 + rng() % 500000), eur};
        d.issue_date = add_days(start, -static_cast<int>(rng() % 60));
        d.due_date = add_days(d.issue_date, 30);
        e.data = std::move(d);
        engine.apply(e, now);
      }
      std::size_t loaded = resident_bytes();
      std::size_t open = 0;
      for (std::size_t r = 0; r < engine.receivable_count(); ++r) {
        open += Engine::owes(engine.receivable(static_cast<std::uint32_t>(r)));
      }
      std::printf(
          "memory: %zu open receivables of %zu customers: %.1f MiB resident beyond the "
          "baseline of %.1f MiB, %.0f bytes per open receivable (sizeof(Receivable) %zu, "
          "indexes %.1f MiB)\n",
          open, engine.customer_count(), static_cast<double>(loaded - baseline) / (1 << 20),
          static_cast<double>(baseline) / (1 << 20),
          static_cast<double>(loaded - baseline) / static_cast<double>(open), sizeof(Receivable),
          static_cast<double>(engine.index_bytes()) / (1 << 20));
    }
  }
  // 2. Throughput. Events are generated first so that only apply() is timed.
  {
    auto generation = SteadyClock::now();
    Mix mix(o.customers, 1);
    std::vector<Event> events;
    std::vector<Timestamp> nows;
    events.reserve(o.events);
    Date today = start;
    const std::size_t events_per_day = 20'000;
    for (std::size_t i = 0; i < o.events; ++i) {
      if (i > 0 && i % events_per_day == 0) today = add_days(today, 1);
      events.push_back(mix.next(today));
      nows.push_back(at(today) + std::chrono::hours(10));
    }
    std::size_t payments = 0, invoices = 0;
    for (const Event& e : events) {
      payments += e.type == EventType::payment_received;
      invoices += e.type == EventType::invoice_issued;
    }
    // Printed first so that a profiler can start after it (perf record -D).
    std::printf("generated the events in %.2f s\n",
                std::chrono::duration<double>(SteadyClock::now() - generation).count());
    std::fflush(stdout);
    EngineOptions options;
    options.write_off_tolerance = {Money{100, eur}};
    Engine engine(options);
    std::size_t raised = 0;
    auto t0 = SteadyClock::now();
    double cpu0 = thread_cpu_seconds();
    for (std::size_t i = 0; i < events.size(); ++i) {
      raised += engine.apply(events[i], nows[i]).raised.size();
    }
    double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    double cpu = thread_cpu_seconds() - cpu0;
    std::size_t paid = 0;
    for (std::size_t r = 0; r < engine.receivable_count(); ++r) {
      paid += engine.receivable(static_cast<std::uint32_t>(r)).status == Status::paid;
    }
    std::printf(
        "throughput: %zu events (%zu invoices, %zu payments, %zu credit notes), "
        "%zu customers: %.2f s wall, %.2f s CPU; %.0f events/s of CPU time (%.0f wall); "
        "%zu receivables paid, %zu alerts raised, %zu open\n",
        events.size(), invoices, payments, events.size() - invoices - payments, o.customers,
        seconds, cpu, static_cast<double>(events.size()) / cpu,
        static_cast<double>(events.size()) / seconds, paid, raised, engine.alerts().size());
  }

  // 3. One customer's long history.
  {
    Engine engine;
    const std::size_t quarter = o.history / 4;
    double first = 0, last = 0;
    double cpu0 = thread_cpu_seconds();
    for (std::size_t i = 0; i < o.history; ++i) {
      const std::size_t n = i / 2;
      const Date day = add_days(start, static_cast<int>(n / 10));
      Event e;
      e.source = "bench";
      e.id = std::to_string(i);
      e.time = at(day);
      const std::string invoice_id = "INV-" + std::to_string(n);
      if (i % 2 == 0) {
        InvoiceData d;
        d.invoice_id = invoice_id;
        d.customer_id = "BIG";
        d.amount = Money{10000, eur};
        d.issue_date = day;
        d.due_date = add_days(day, 30);
        e.type = EventType::invoice_issued;
        e.data = std::move(d);
      } else {
        PaymentReceived pay;
        pay.payment_id = "PAY-" + std::to_string(n);
        pay.customer_id = "BIG";
        pay.amount = Money{10000, eur};
        pay.received_date = day;
        pay.remittance_info = "VIR " + invoice_id;
        e.type = EventType::payment_received;
        e.data = std::move(pay);
      }
      engine.apply(e, at(day) + std::chrono::hours(18));
      if (i + 1 == quarter) first = thread_cpu_seconds() - cpu0;
      if (i + 1 == o.history - quarter) cpu0 = thread_cpu_seconds();
    }
    last = thread_cpu_seconds() - cpu0;
    std::size_t paid = 0;
    for (std::size_t r = 0; r < engine.receivable_count(); ++r) {
      paid += engine.receivable(static_cast<std::uint32_t>(r)).status == Status::paid;
    }
    std::printf(
        "long history: %zu events of one customer (%zu receivables paid): %.2f us per event over "
        "the first quarter, %.2f us over the last\n",
        o.history, paid, first * 1e6 / static_cast<double>(quarter),
        last * 1e6 / static_cast<double>(quarter));
  }

  return 0;
}
