// The dunning scheduler on one core:
//  1. tick: N open receivables (default 1,000,000) in 200,000 customers, of which 1% have a
//     step due at the tick instant; then the same with 0.1% due. The tick costs the due actions
//     (grouped into statements), so the second should take about a tenth of the first;
//  2. simulate: one year of 100,000 invoices (issued through the year, due 30 days later; 60%
//     paid on time, 25% paid late, 15% never), the virtual clock jumping between instants.
//
//   dunning_bench [--receivables N] [--invoices N] [--skip-tick] [--skip-simulate]

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dunning/scheduler.hpp"
#include "core/dunning/simulate.hpp"

namespace {

using namespace relance::core;
using namespace relance::core::dunning;
using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::size_t receivables = 1'000'000;
  std::size_t invoices = 100'000;
  bool tick = true;
  bool simulate = true;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: dunning_bench [--receivables N] [--invoices N] [--skip-tick] "
               "[--skip-simulate]\n");
  std::exit(code);
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// CPU time of this thread: on a shared machine the wall time also counts other processes.
double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

Date d(int y, unsigned m, unsigned day) {
  return std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{day};
}

Money eur(std::int64_t cents) { return Money{cents, Currency::from_code("EUR").value()}; }

PolicyStep step(const char* name, const char* offset, Channel channel, const char* template_name) {
  PolicyStep s;
  s.name = name;
  s.at = parse_step_offset(offset).value();
  s.channel = channel;
  s.template_name = template_name;
  return s;
}

// The shipped default policy (config/policies/default.yaml), built in code.
PolicySet default_policies() {
  Policy policy;
  policy.name = "default";
  policy.calendar = "fr";
  policy.steps = {step("courtesy", "due-5d", Channel::email, "courtesy"),
                  step("first_reminder", "due+3d", Channel::email, "reminder"),
                  step("second_reminder", "due+15d", Channel::email, "statement"),
                  step("formal_notice", "due+30d", Channel::email, "formal_notice"),
                  step("escalation", "due+45d", Channel::crm_task, "escalation_task")};
  policy.steps[3].claim = Claim::interest_and_indemnity;
  policy.steps[3].pay_within_days = 8;
  Assignment assignment;
  assignment.default_policy = "default";
  Delivery delivery;
  delivery.send_window.hours = {parse_local_time_range("09:00-12:00").value(),
                                parse_local_time_range("14:00-17:30").value()};
  std::map<std::string, Policy> map;
  map.emplace("default", std::move(policy));
  return PolicySet(std::move(map), assignment, delivery);
}

const char* zone_of(std::size_t customer) {
  // Mostly France, some customers abroad: the window cache holds a few zones.
  switch (customer % 10) {
    case 7:
      return "America/New_York";
    case 8:
      return "Europe/London";
    default:
      return "Europe/Paris";
  }
}

Scheduler must(relance::Result<Scheduler> created) {
  if (!created) {
    std::fprintf(stderr, "scheduler: %s\n", created.error().to_string().c_str());
    std::exit(1);
  }
  return std::move(created).value();
}

// One tick over `count` receivables of which one in `due_every` has its first reminder due.
void bench_tick(std::size_t count, std::size_t due_every) {
  constexpr std::size_t per_customer = 5;
  const std::size_t customers = (count + per_customer - 1) / per_customer;
  Scheduler scheduler = must(Scheduler::create(default_policies()));
  const Timestamp now = parse_timestamp("2026-06-16T15:00:00Z").value();  // a Tuesday
  const auto setup = SteadyClock::now();
  for (std::size_t c = 0; c < customers; ++c) {
    CustomerSnapshot customer;
    customer.customer_id = "C" + std::to_string(c);
    customer.timezone = zone_of(c);
    customer.language = "fr";
    if (!scheduler.update_customer(customer)) std::abort();
  }
  std::size_t due = 0;
  for (std::size_t i = 0; i < count; ++i) {
    ReceivableSnapshot r;
    r.invoice_id = "INV-" + std::to_string(i);
    r.customer_id = "C" + std::to_string(i / per_customer);
    r.original = eur(100'000 + static_cast<std::int64_t>(i % 997) * 100);
    r.open = r.original;
    r.progress.level = 1;  // courtesy sent
    if (i % due_every == due_every / 2) {
      // First reminder due+3d on Monday 15 June: due at the tick.
      r.due_date = d(2026, 6, 12);
      ++due;
    } else {
      // Due between 20 June and the end of the year: the first reminder is later.
      r.due_date = add_days(d(2026, 6, 20), static_cast<int>(i % 190));
    }
    r.issue_date = add_days(r.due_date, -30);
    if (!scheduler.update(r, now)) std::abort();
  }
  const double setup_s = seconds_since(setup);
  const auto start = SteadyClock::now();
  const double cpu_start = thread_cpu_seconds();
  const TickResult result = scheduler.tick(now);
  const double tick_cpu_s = thread_cpu_seconds() - cpu_start;
  const double tick_s = seconds_since(start);
  std::size_t listed = 0;
  for (const Action& action : result.actions) listed += action.invoices.size();
  std::printf(
      "tick: %zu receivables, %zu due (%.2f%%): %.2f ms (cpu %.2f ms), %zu actions (%zu invoices "
      "listed), "
      "%zu progress changes; still scheduled %zu; setup %.2f s (%.2f us per update)\n",
      count, due, 100.0 * static_cast<double>(due) / static_cast<double>(count), tick_s * 1e3,
      tick_cpu_s * 1e3, result.actions.size(), listed, result.progress.size(),
      scheduler.scheduled_count(), setup_s, setup_s * 1e6 / static_cast<double>(count));
  if (result.progress.size() != due) {
    std::fprintf(stderr, "expected %zu receivables to move a step, got %zu\n", due,
                 result.progress.size());
    std::exit(1);
  }
}

void bench_simulate(std::size_t count) {
  constexpr std::size_t per_customer = 5;
  std::mt19937_64 random(42);
  SimulationInput input;
  input.from = parse_timestamp("2026-01-01T00:00:00Z").value();
  input.to = parse_timestamp("2026-12-31T23:59:59Z").value();
  for (std::size_t c = 0; c < (count + per_customer - 1) / per_customer; ++c) {
    CustomerSnapshot customer;
    customer.customer_id = "C" + std::to_string(c);
    customer.timezone = zone_of(c);
    customer.language = "fr";
    input.customers.push_back(std::move(customer));
  }
  std::size_t paid_on_time = 0, paid_late = 0, unpaid = 0;
  for (std::size_t i = 0; i < count; ++i) {
    ReceivableSnapshot r;
    r.invoice_id = "INV-" + std::to_string(i);
    r.customer_id = "C" + std::to_string(random() % input.customers.size());
    r.original = eur(10'000 + static_cast<std::int64_t>(random() % 1'000'000));
    r.open = r.original;
    r.issue_date = add_days(d(2026, 1, 1), static_cast<int>(random() % 335));
    r.due_date = add_days(r.issue_date, 30);
    const auto kind = random() % 100;
    if (kind < 85) {
      const int delay = kind < 60 ? static_cast<int>(random() % 31)  // on time
                                  : 31 + static_cast<int>(random() % 60);
      (kind < 60 ? paid_on_time : paid_late) += 1;
      const Date paid = add_days(r.issue_date, delay);
      const auto at = Timestamp{std::chrono::sys_days(paid)} + std::chrono::hours(11);
      input.events.push_back({at, SimulatedEvent::Kind::payment, r.invoice_id, r.open, {}});
    } else {
      ++unpaid;
    }
    input.invoices.push_back(std::move(r));
  }
  const auto start = SteadyClock::now();
  const double cpu_start = thread_cpu_seconds();
  const auto result = simulate(default_policies(), {}, {}, input);
  const double elapsed = seconds_since(start);
  const double cpu = thread_cpu_seconds() - cpu_start;
  if (!result) {
    std::fprintf(stderr, "simulate: %s\n", result.error().to_string().c_str());
    std::exit(1);
  }
  std::size_t by_step[6] = {};
  for (const Action& action : result->actions) {
    by_step[std::min<std::size_t>(static_cast<std::size_t>(action.step_number), 5)] += 1;
  }
  std::printf(
      "simulate: %zu invoices (%zu paid on time, %zu late, %zu never) over 2026: %.2f s (cpu %.2f "
      "s), "
      "%zu ticks, %zu actions (courtesy %zu, first %zu, second %zu, notice %zu, escalation %zu), "
      "%zu skipped\n",
      count, paid_on_time, paid_late, unpaid, elapsed, cpu, result->ticks, result->actions.size(),
      by_step[1], by_step[2], by_step[3], by_step[4], by_step[5], result->skipped.size());
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const auto next = [&]() -> std::size_t {
      if (i + 1 >= argc) usage(2);
      return std::strtoull(argv[++i], nullptr, 10);
    };
    if (!std::strcmp(argv[i], "--receivables")) {
      options.receivables = next();
    } else if (!std::strcmp(argv[i], "--invoices")) {
      options.invoices = next();
    } else if (!std::strcmp(argv[i], "--skip-tick")) {
      options.tick = false;
    } else if (!std::strcmp(argv[i], "--skip-simulate")) {
      options.simulate = false;
    } else if (!std::strcmp(argv[i], "--help")) {
      usage(0);
    } else {
      usage(2);
    }
  }
  if (options.tick) {
    bench_tick(options.receivables, 100);   // 1% due
    bench_tick(options.receivables, 1000);  // 0.1% due
  }
  if (options.simulate) bench_simulate(options.invoices);
  return 0;
}
