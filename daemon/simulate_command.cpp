#include "simulate_command.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <vector>

#include "core/engine/engine.hpp"
#include "core/event.hpp"
#include "state/dunning_glue.hpp"
#include "state/dunning_setup.hpp"

namespace relance {
namespace {

namespace json = boost::json;

constexpr int exit_ok = 0;
constexpr int exit_usage = 64;     // EX_USAGE
constexpr int exit_data = 65;      // EX_DATAERR
constexpr int exit_config = 78;    // EX_CONFIG
constexpr int exit_software = 70;  // EX_SOFTWARE

// A line of the events file longer than this is refused rather than parsed.
constexpr std::size_t event_line_bytes_max = 1 << 20;

struct Arguments {
  std::string config;
  std::string events;
  core::Date from;
  core::Date to;
};

Result<Arguments> parse_arguments(std::span<const std::string> args) {
  std::map<std::string, std::string> given;
  for (std::size_t i = 0; i < args.size(); i += 2) {
    const std::string& flag = args[i];
    if (flag != "--config" && flag != "--events" && flag != "--from" && flag != "--to") {
      return Error{flag, "unknown option (expected --config, --events, --from, --to)"};
    }
    if (i + 1 >= args.size()) return Error{flag, "needs a value"};
    if (!given.emplace(flag, args[i + 1]).second) return Error{flag, "given twice"};
  }
  for (const char* flag : {"--config", "--events", "--from", "--to"}) {
    if (!given.contains(flag)) return Error{flag, "is needed"};
  }
  Arguments parsed;
  parsed.config = given["--config"];
  parsed.events = given["--events"];
  auto from = core::parse_date(given["--from"]);
  if (!from) return from.error().within("--from");
  auto to = core::parse_date(given["--to"]);
  if (!to) return to.error().within("--to");
  if (*to < *from) return Error{"--to", "is before --from"};
  parsed.from = *from;
  parsed.to = *to;
  return parsed;
}

Result<std::vector<core::Event>> read_events(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{path, "cannot be read"};
  std::vector<core::Event> events;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = path + ":" + std::to_string(number);
    if (line.size() > event_line_bytes_max) {
      return Error{where, "longer than " + std::to_string(event_line_bytes_max) + " bytes"};
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto event = core::parse_event(line);
    if (!event) return Error{where, event.error().to_string()};
    if (!event->time) return Error{where, "time: needed to replay the event at its time"};
    events.push_back(std::move(event).value());
  }
  if (in.bad()) return Error{path, "read error"};
  // Each event at its time; events of the same instant in file order.
  std::stable_sort(events.begin(), events.end(),
                   [](const core::Event& a, const core::Event& b) { return *a.time < *b.time; });
  return events;
}

core::Timestamp start_of(core::Date date) {
  return core::Timestamp(std::chrono::sys_days(date).time_since_epoch());
}

json::object action_line(const state::Outgoing& outgoing) {
  const core::dunning::Action& action = outgoing.action;
  json::array invoice_ids;
  for (const auto& line : action.invoices) invoice_ids.emplace_back(line.invoice_id);
  json::array totals;
  for (const core::Money& total : action.totals) {
    totals.push_back(
        json::object{{"currency", total.currency.code()}, {"amount", core::format_decimal(total)}});
  }
  json::object out{{"at", core::format_timestamp(action.at)},
                   {"customer_id", action.customer_id},
                   {"invoice_ids", std::move(invoice_ids)},
                   {"channel", core::dunning::channel_name(action.channel)},
                   {"step", action.step},
                   {"step_number", action.step_number},
                   {"template", action.template_name},
                   {"policy", action.policy},
                   {"language", action.language},
                   {"totals", std::move(totals)},
                   {"idempotency_key", action.idempotency_key}};
  if (outgoing.outcome.rendered) {
    out["sink"] = outgoing.outcome.rendered->sink;
  } else {
    // The daemon would not enqueue it: it raises an alert instead.
    out["not_sent"] = outgoing.outcome.failure->reason;
  }
  return out;
}

}  // namespace

int run_simulate(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                 const config::Environment& env) {
  auto arguments = parse_arguments(args);
  if (!arguments) {
    err << "relanced simulate: " << arguments.error().to_string() << "\n"
        << "usage: relanced simulate --config FILE --events FILE.jsonl --from DATE --to DATE\n";
    return exit_usage;
  }
  const config::Loaded loaded = config::read_config_file(arguments->config, env);
  for (const config::Problem& problem : loaded.problems) err << problem.to_string() << "\n";
  if (!loaded.problems.empty()) return exit_config;
  auto options = state::engine_options(loaded.config.engine);
  if (!options) {
    err << arguments->config << ": " << options.error().to_string() << "\n";
    return exit_config;
  }
  auto setup = state::load_dunning_setup(loaded.config);
  if (!setup) {
    err << arguments->config << ": " << setup.error().to_string() << "\n";
    return exit_config;
  }
  auto events = read_events(arguments->events);
  if (!events) {
    err << events.error().to_string() << "\n";
    return exit_data;
  }
  // The same setup with messages looked up but not rendered: only the actions are printed.
  auto dry_setup = std::make_shared<state::DunningSetup>(**setup);
  dry_setup->render.message_bodies = false;
  auto created = state::DunningGlue::create(std::move(dry_setup));
  if (!created) {
    err << arguments->config << ": " << created.error().to_string() << "\n";
    return exit_config;
  }
  state::DunningGlue& glue = **created;
  core::engine::Engine engine(*options);

  // The daemon would have been running all along: events before --from build the state and
  // move the schedule on as they did; only actions from --from to --to (UTC dates) are printed.
  const core::Timestamp from = start_of(arguments->from);
  const core::Timestamp end = start_of(core::add_days(arguments->to, 1));
  const auto sync = [&](const core::engine::Changes& changes, core::Timestamp now) {
    glue.sync(engine, changes.receivables, changes.customers, now);
    for (const state::DunningNotice& notice : glue.take_notices()) {
      if (!notice.resolve) err << notice.kind << ": " << notice.message << "\n";
    }
  };
  std::size_t next_event = 0;
  std::size_t printed = 0;
  std::size_t skipped = 0;
  std::size_t ticks = 0;
  std::optional<core::Timestamp> last_tick;
  bool unfinished = false;  // the last tick left customers due at its instant
  while (true) {
    std::optional<core::Timestamp> tick_at = glue.next_moment();
    if (tick_at && *tick_at >= end) tick_at.reset();
    const bool event_left = next_event < events->size() && *(*events)[next_event].time < end;
    if (!event_left && !tick_at) break;
    // An event at the same instant as a step goes first: a payment made at 09:00 stops the
    // 09:00 reminder (as in the daemon, where the writer applies it before it ticks).
    if (event_left && (!tick_at || *(*events)[next_event].time <= *tick_at)) {
      const core::Event& event = (*events)[next_event++];
      sync(engine.apply(event, *event.time), *event.time);
      continue;
    }
    const core::Timestamp now = *tick_at;
    sync(engine.advance(now), now);
    if (!glue.due(now)) continue;
    if (last_tick == now && !unfinished) {
      err << "relanced simulate: the scheduler did not move on at " << core::format_timestamp(now)
          << "\n";
      return exit_software;
    }
    last_tick = now;
    state::TickOutput output = glue.tick(engine, now);
    unfinished = output.unfinished;  // a backlog in parts: the next part at the same instant
    ++ticks;
    for (const state::DunningNotice& notice : glue.take_notices()) (void)notice;  // in the lines
    (void)glue.take_changed_progress();
    (void)glue.take_changed_contacts();
    if (now < from) continue;
    skipped += output.skipped.size();
    for (const state::Outgoing& outgoing : output.outgoing) {
      out << json::serialize(action_line(outgoing)) << "\n";
      ++printed;
    }
  }
  err << "relanced simulate: " << printed << " action(s), " << skipped << " step(s) skipped, "
      << ticks << " tick(s), " << next_event << " event(s) replayed\n";
  return exit_ok;
}

}  // namespace relance
