#include "core/dunning/policy.hpp"

#include <algorithm>
#include <filesystem>

#include "core/dunning/yaml_support.hpp"

namespace relance::core::dunning {

namespace {

using yaml_support::Reporter;

constexpr std::size_t policy_files_max = 200;
constexpr std::size_t steps_per_policy_max = 50;
constexpr int step_offset_days_max = 3660;
// Business days beyond their count in calendar days: two weekend days per started working week,
// plus room for a few holidays. Only used to tell whether a step can come after another.
constexpr int holiday_slack_days = 5;

std::optional<Channel> channel_from_name(std::string_view name) {
  if (name == "email") return Channel::email;
  if (name == "crm_task") return Channel::crm_task;
  if (name == "crm_note") return Channel::crm_note;
  if (name == "escalate") return Channel::escalate;
  return std::nullopt;
}

// The span of calendar days, relative to the due date, where a step can fall.
struct DayBounds {
  int low = 0;
  int high = 0;
};

DayBounds offset_bounds(const StepOffset& offset) {
  const int n = offset.count;
  if (offset.unit == StepOffset::Unit::calendar_days || n == 0) return {n, n};
  const int magnitude = n < 0 ? -n : n;
  const int widest = magnitude + 2 * ((magnitude + 4) / 5) + holiday_slack_days;
  return n > 0 ? DayBounds{n, widest} : DayBounds{-widest, n};
}

std::string offset_text(const StepOffset& offset) {
  std::string text = offset.anchor == StepOffset::Anchor::due_date ? "due" : "prev";
  text += offset.count < 0 ? "-" : "+";
  text += std::to_string(offset.count < 0 ? -offset.count : offset.count);
  text += offset.unit == StepOffset::Unit::business_days ? "bd" : "d";
  return text;
}

// A policy as parsed, with the nodes needed to place later problems.
struct ParsedPolicy {
  Policy policy;
  int line = 0;
  std::string file;
};

class Loader {
 public:
  explicit Loader(const PolicyReferences& references) : references_(references) {}

  void read(const PolicyFile& file) {
    Reporter reporter(file.name);
    try {
      read_file(file, reporter);
    } catch (const std::exception& error) {
      reporter.add_at_line(0, "", std::string("cannot read the policies: ") + error.what());
    }
    for (Problem& problem : reporter.problems()) problems_.push_back(std::move(problem));
  }

  // Checks across files; then the set, when nothing is wrong.
  std::optional<PolicySet> finish() {
    if (policies_.empty() && problems_.empty()) {
      problems_.push_back({"", 0, "policies", "no policy is defined"});
    }
    if (!assignment_) {
      problems_.push_back(
          {"", 0, "assignment", "missing: one file must say which policy is the default"});
    } else {
      check_assignment();
    }
    if (!problems_.empty()) return std::nullopt;
    std::map<std::string, Policy> policies;
    for (auto& [name, parsed] : policies_) policies.emplace(name, std::move(parsed.policy));
    return PolicySet(std::move(policies), std::move(*assignment_), delivery_.value_or(Delivery{}));
  }

  std::vector<Problem>& problems() { return problems_; }

 private:
  void read_file(const PolicyFile& file, Reporter& reporter) {
    auto root = yaml_support::parse_yaml(file.text, reporter);
    if (!root) return;
    if (!yaml_support::check_map(*root, "", {"policies", "assignment", "delivery"}, reporter))
      return;
    if (const auto node = (*root)["policies"]) read_policies(node, file.name, reporter);
    if (const auto node = (*root)["assignment"]) {
      if (assignment_) {
        reporter.add(
            node, "assignment",
            "already given in " + assignment_file_ + " line " + std::to_string(assignment_line_));
      } else {
        read_assignment(node, file.name, reporter);
      }
    }
    if (const auto node = (*root)["delivery"]) {
      if (delivery_) {
        reporter.add(node, "delivery", "already given in " + delivery_file_);
      } else {
        read_delivery(node, file.name, reporter);
      }
    }
  }

  void read_policies(const YAML::Node& map, const std::string& file, Reporter& reporter) {
    if (!map.IsMap()) {
      reporter.add(map, "policies", "expected a mapping of policy names to policies");
      return;
    }
    for (const auto& entry : map) {
      const std::string name = entry.first.Scalar();
      const std::string path = "policies." + name;
      const YAML::Node node = entry.second;
      if (!yaml_support::check_map(node, path, {"description", "calendar", "steps"}, reporter)) {
        continue;
      }
      ParsedPolicy parsed;
      parsed.policy.name = name;
      parsed.policy.file = file;
      parsed.file = file;
      parsed.line = Reporter::line_of(entry.first);
      if (const auto description = node["description"]) {
        if (auto value = yaml_support::scalar(description, path + ".description", reporter)) {
          parsed.policy.description = *value;
        }
      }
      if (const auto calendar = node["calendar"]) {
        if (auto value = yaml_support::scalar(calendar, path + ".calendar", reporter)) {
          if (references_.calendars.count(*value) == 0) {
            reporter.add(calendar, path + ".calendar",
                         "unknown calendar '" + *value + "' (known: " + known_calendars() + ")");
          }
          parsed.policy.calendar = *value;
        }
      }
      const auto steps = node["steps"];
      if (!steps || !steps.IsSequence() || steps.size() == 0) {
        reporter.add(steps ? steps : entry.first, path + ".steps",
                     "expected a non-empty list of steps");
      } else if (steps.size() > steps_per_policy_max) {
        reporter.add(steps, path + ".steps",
                     "more than " + std::to_string(steps_per_policy_max) + " steps");
      } else {
        read_steps(steps, path + ".steps", parsed.policy, reporter);
      }
      if (const auto it = policies_.find(name); it != policies_.end()) {
        reporter.add(entry.first, path,
                     "policy '" + name + "' is already defined in " + it->second.file + " line " +
                         std::to_string(it->second.line));
        continue;
      }
      policies_.emplace(name, std::move(parsed));
    }
  }

  void read_steps(const YAML::Node& list, const std::string& path, Policy& policy,
                  Reporter& reporter) {
    std::set<std::string> names;
    std::optional<DayBounds> previous_bounds;
    const PolicyStep* escalation = nullptr;
    std::vector<PolicyStep> steps;
    steps.reserve(list.size());
    for (std::size_t i = 0; i < list.size(); ++i) {
      const YAML::Node node = list[i];
      const std::string step_path = path + "[" + std::to_string(i) + "]";
      if (!yaml_support::check_map(
              node, step_path,
              {"name", "at", "channel", "template", "when", "claim", "pay_within_days"},
              reporter)) {
        continue;
      }
      PolicyStep step;
      step.line = Reporter::line_of(node);
      bool complete = true;
      const auto required = [&](const char* key) -> std::optional<std::string> {
        const auto value_node = node[key];
        if (!value_node) {
          reporter.add(node, step_path + "." + key, "missing");
          complete = false;
          return std::nullopt;
        }
        auto value = yaml_support::scalar(value_node, step_path + "." + key, reporter);
        if (!value) complete = false;
        return value;
      };
      if (auto name = required("name")) {
        step.name = *name;
        if (!names.insert(*name).second) {
          reporter.add(node["name"], step_path + ".name",
                       "another step is already named '" + *name + "'");
        }
      }
      if (auto at = required("at")) {
        auto offset = parse_step_offset(*at);
        if (!offset) {
          reporter.add(node["at"], step_path + ".at", offset.error().message);
          complete = false;
        } else {
          step.at = *offset;
        }
      }
      if (auto channel = required("channel")) {
        if (auto value = channel_from_name(*channel)) {
          step.channel = *value;
        } else {
          reporter.add(node["channel"], step_path + ".channel",
                       "unknown channel '" + *channel + "' (email, crm_task, crm_note, escalate)");
        }
      }
      if (auto name = required("template")) {
        step.template_name = *name;
        check_template(node["template"], step_path + ".template", step, reporter);
      }
      if (const auto claim = node["claim"]) {
        if (auto value = yaml_support::scalar(claim, step_path + ".claim", reporter)) {
          if (*value == "interest_and_indemnity") {
            step.claim = Claim::interest_and_indemnity;
          } else if (*value != "none") {
            reporter.add(claim, step_path + ".claim",
                         "unknown claim '" + *value + "' (none, interest_and_indemnity)");
          }
        }
      }
      if (const auto days = node["pay_within_days"]) {
        if (auto value =
                yaml_support::integer(days, step_path + ".pay_within_days", 1, 365, reporter)) {
          step.pay_within_days = static_cast<int>(*value);
        }
      }
      if (const auto when = node["when"])
        read_conditions(when, step_path + ".when", step, reporter);
      if (!complete) continue;

      // Order: a step must be able to come strictly after the one before it.
      DayBounds bounds = offset_bounds(step.at);
      if (step.at.anchor == StepOffset::Anchor::previous_step) {
        if (!previous_bounds) {
          reporter.add(node["at"], step_path + ".at",
                       "'" + offset_text(step.at) + "': the first step has no previous step");
        } else if (step.at.count <= 0) {
          reporter.add(node["at"], step_path + ".at",
                       "'" + offset_text(step.at) + "' is not after the previous step");
        } else {
          bounds = {previous_bounds->low + bounds.low, previous_bounds->high + bounds.high};
        }
      } else if (previous_bounds && bounds.high <= previous_bounds->low) {
        reporter.add(node["at"], step_path + ".at",
                     "steps out of order: '" + offset_text(step.at) +
                         "' cannot come after the previous step '" + steps.back().name + "'");
      }
      if (escalation != nullptr) {
        reporter.add(node, step_path,
                     "step '" + step.name +
                         "' can never be reached: dunning stops at the "
                         "escalation step '" +
                         escalation->name + "' before it");
      }
      if (std::abs(bounds.low) > step_offset_days_max ||
          std::abs(bounds.high) > step_offset_days_max) {
        reporter.add(
            node["at"], step_path + ".at",
            "more than " + std::to_string(step_offset_days_max) + " days from the due date");
      }
      previous_bounds = bounds;
      steps.push_back(std::move(step));
      if (steps.back().channel == Channel::escalate && steps.back().when.segments.empty() &&
          !steps.back().when.min_open_amount && steps.back().when.currencies.empty()) {
        escalation = &steps.back();  // reserve() above keeps the address stable
      }
    }
    policy.steps = std::move(steps);
  }

  void check_template(const YAML::Node& node, const std::string& path, const PolicyStep& step,
                      Reporter& reporter) {
    RELANCE_ASSERT(references_.templates != nullptr);
    const TemplateSet& templates = *references_.templates;
    if (!templates.has(step.template_name)) {
      std::string known;
      for (const std::string& name : templates.names()) known += (known.empty() ? "" : ", ") + name;
      reporter.add(node, path,
                   "unknown template '" + step.template_name +
                       "' (the templates folder has: " + known + ")");
    } else if (step.channel == Channel::email && !templates.has_html(step.template_name)) {
      reporter.add(node, path,
                   "template '" + step.template_name + "' has no HTML part, which e-mail needs");
    }
  }

  void read_conditions(const YAML::Node& when, const std::string& path, PolicyStep& step,
                       Reporter& reporter) {
    if (!yaml_support::check_map(when, path, {"segments", "min_open_amount", "currencies"},
                                 reporter)) {
      return;
    }
    StepConditions& conditions = step.when;
    if (const auto segments = when["segments"]) {
      if (!segments.IsSequence()) {
        reporter.add(segments, path + ".segments", "expected a list of segment names");
      } else if (segments.size() == 0) {
        reporter.add(
            segments, path + ".segments",
            "step '" + step.name + "' can never be reached: the list of segments is empty");
      } else {
        for (std::size_t i = 0; i < segments.size(); ++i) {
          if (auto value = yaml_support::scalar(
                  segments[i], path + ".segments[" + std::to_string(i) + "]", reporter)) {
            conditions.segments.push_back(*value);
          }
        }
      }
    }
    if (const auto currencies = when["currencies"]) {
      if (!currencies.IsSequence() || currencies.size() == 0) {
        reporter.add(currencies, path + ".currencies",
                     "expected a non-empty list of ISO 4217 codes");
      } else {
        for (std::size_t i = 0; i < currencies.size(); ++i) {
          const std::string item = path + ".currencies[" + std::to_string(i) + "]";
          if (auto value = yaml_support::scalar(currencies[i], item, reporter)) {
            auto currency = Currency::from_code(*value);
            if (currency)
              conditions.currencies.push_back(*currency);
            else
              reporter.add(currencies[i], item, currency.error().message);
          }
        }
      }
    }
    if (const auto minimum = when["min_open_amount"]) {
      const std::string min_path = path + ".min_open_amount";
      if (yaml_support::check_map(minimum, min_path, {"amount", "currency"}, reporter)) {
        const auto amount = minimum["amount"];
        const auto currency = minimum["currency"];
        if (!amount || !currency) {
          reporter.add(minimum, min_path, "needs both 'amount' and 'currency'");
        } else {
          auto amount_text = yaml_support::scalar(amount, min_path + ".amount", reporter);
          auto currency_text = yaml_support::scalar(currency, min_path + ".currency", reporter);
          if (amount_text && currency_text) {
            auto money = parse_money(*amount_text, *currency_text);
            if (money) {
              conditions.min_open_amount = *money;
            } else {
              reporter.add(amount, min_path, money.error().message);
            }
          }
        }
      }
    }
    if (conditions.min_open_amount && !conditions.currencies.empty() &&
        std::find(conditions.currencies.begin(), conditions.currencies.end(),
                  conditions.min_open_amount->currency) == conditions.currencies.end()) {
      reporter.add(when, path,
                   "step '" + step.name + "' can never be reached: its minimum is in " +
                       std::string(conditions.min_open_amount->currency.code()) +
                       " but it only applies to other currencies");
    }
  }

  void read_assignment(const YAML::Node& node, const std::string& file, Reporter& reporter) {
    if (!yaml_support::check_map(node, "assignment", {"default", "segments", "customers"},
                                 reporter)) {
      return;
    }
    Assignment assignment;
    assignment_file_ = file;
    assignment_line_ = Reporter::line_of(node);
    if (const auto value = node["default"]) {
      if (auto name = yaml_support::scalar(value, "assignment.default", reporter)) {
        assignment.default_policy = *name;
        references_to_check_.push_back(
            {file, Reporter::line_of(value), "assignment.default", *name});
      }
    } else {
      reporter.add(node, "assignment.default", "missing: the policy for customers not listed");
    }
    for (const char* kind : {"segments", "customers"}) {
      const auto map = node[kind];
      if (!map) continue;
      const std::string path = std::string("assignment.") + kind;
      if (!map.IsMap()) {
        reporter.add(map, path, "expected a mapping of names to policy names");
        continue;
      }
      for (const auto& entry : map) {
        const std::string key = entry.first.Scalar();
        if (auto name = yaml_support::scalar(entry.second, path + "." + key, reporter)) {
          auto& target =
              std::string_view(kind) == "segments" ? assignment.by_segment : assignment.by_customer;
          target[key] = *name;
          references_to_check_.push_back(
              {file, Reporter::line_of(entry.second), path + "." + key, *name});
        }
      }
    }
    assignment_ = std::move(assignment);
  }

  void read_delivery(const YAML::Node& node, const std::string& file, Reporter& reporter) {
    if (!yaml_support::check_map(node, "delivery",
                                 {"send_days", "send_hours", "quiet_hours",
                                  "contact_interval_min_hours", "contacts_per_week_max"},
                                 reporter)) {
      return;
    }
    Delivery delivery;
    delivery_file_ = file;
    if (const auto days = node["send_days"]) {
      if (!days.IsSequence() || days.size() == 0) {
        reporter.add(days, "delivery.send_days",
                     "expected a non-empty list of weekdays ([mon, tue])");
      } else {
        delivery.send_window.days.fill(false);
        static constexpr std::array<std::string_view, 7> names{"sun", "mon", "tue", "wed",
                                                               "thu", "fri", "sat"};
        for (std::size_t i = 0; i < days.size(); ++i) {
          const std::string path = "delivery.send_days[" + std::to_string(i) + "]";
          auto value = yaml_support::scalar(days[i], path, reporter);
          if (!value) continue;
          const auto it = std::find(names.begin(), names.end(), *value);
          if (it == names.end()) {
            reporter.add(days[i], path, "'" + *value + "' is not a weekday (mon, tue, ... sun)");
          } else {
            delivery.send_window.days[static_cast<std::size_t>(it - names.begin())] = true;
          }
        }
      }
    }
    for (const char* key : {"send_hours", "quiet_hours"}) {
      const auto list = node[key];
      if (!list) continue;
      const std::string path = std::string("delivery.") + key;
      if (!list.IsSequence()) {
        reporter.add(list, path, "expected a list of ranges like \"09:00-18:00\"");
        continue;
      }
      std::vector<LocalTimeRange> ranges;
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string item = path + "[" + std::to_string(i) + "]";
        auto value = yaml_support::scalar(list[i], item, reporter);
        if (!value) continue;
        auto range = parse_local_time_range(*value);
        if (!range) {
          reporter.add(list[i], item, range.error().message);
        } else if (std::string_view(key) == "send_hours" && range->from > range->to) {
          reporter.add(list[i], item, "send hours cannot wrap over midnight; give two ranges");
        } else {
          ranges.push_back(*range);
        }
      }
      if (std::string_view(key) == "send_hours") {
        if (ranges.empty()) reporter.add(list, path, "expected at least one range");
        delivery.send_window.hours = std::move(ranges);
      } else {
        delivery.send_window.quiet_hours = std::move(ranges);
      }
    }
    if (const auto hours = node["contact_interval_min_hours"]) {
      if (auto value = yaml_support::integer(hours, "delivery.contact_interval_min_hours", 0,
                                             24 * 60, reporter)) {
        delivery.contact_pressure.contact_interval_min = std::chrono::hours(*value);
      }
    }
    if (const auto count = node["contacts_per_week_max"]) {
      if (auto value =
              yaml_support::integer(count, "delivery.contacts_per_week_max", 1, 50, reporter)) {
        delivery.contact_pressure.contacts_per_week_max = static_cast<int>(*value);
      }
    }
    delivery_ = std::move(delivery);
  }

  void check_assignment() {
    for (const Reference& reference : references_to_check_) {
      if (policies_.count(reference.policy) == 0) {
        problems_.push_back({reference.file, reference.line, reference.key,
                             "unknown policy '" + reference.policy + "'"});
      }
    }
    // A step limited to segments can never run when its policy only reaches customers through
    // segments it does not list.
    for (const auto& [name, parsed] : policies_) {
      if (assignment_->default_policy == name) continue;
      bool by_customer = false;
      for (const auto& [customer, policy] : assignment_->by_customer) by_customer |= policy == name;
      if (by_customer) continue;
      std::set<std::string> segments;
      for (const auto& [segment, policy] : assignment_->by_segment) {
        if (policy == name) segments.insert(segment);
      }
      for (const PolicyStep& step : parsed.policy.steps) {
        if (step.when.segments.empty()) continue;
        const bool reachable =
            std::any_of(step.when.segments.begin(), step.when.segments.end(),
                        [&](const std::string& s) { return segments.count(s) > 0; });
        if (!reachable) {
          problems_.push_back({parsed.file, step.line, "policies." + name + ".steps",
                               "step '" + step.name + "' can never be reached: policy '" + name +
                                   "' is assigned to no customer of its segments"});
        }
      }
    }
  }

  std::string known_calendars() const {
    std::string text;
    for (const std::string& name : references_.calendars) text += (text.empty() ? "" : ", ") + name;
    return text;
  }

  struct Reference {
    std::string file;
    int line = 0;
    std::string key;
    std::string policy;
  };

  const PolicyReferences& references_;
  std::map<std::string, ParsedPolicy> policies_;
  std::optional<Assignment> assignment_;
  std::string assignment_file_;
  int assignment_line_ = 0;
  std::optional<Delivery> delivery_;
  std::string delivery_file_;
  std::vector<Reference> references_to_check_;
  std::vector<Problem> problems_;
};

}  // namespace

std::string_view channel_name(Channel channel) {
  switch (channel) {
    case Channel::email:
      return "email";
    case Channel::crm_task:
      return "crm_task";
    case Channel::crm_note:
      return "crm_note";
    case Channel::escalate:
      return "escalate";
  }
  return "?";
}

Result<StepOffset> parse_step_offset(std::string_view text) {
  const auto bad = [&] {
    return Error{"",
                 "'" + std::string(text) + "' is not a step time like due-5d, due+3bd or prev+7d"};
  };
  StepOffset offset;
  std::string_view rest = text;
  if (rest.starts_with("due")) {
    offset.anchor = StepOffset::Anchor::due_date;
    rest.remove_prefix(3);
  } else if (rest.starts_with("prev")) {
    offset.anchor = StepOffset::Anchor::previous_step;
    rest.remove_prefix(4);
  } else {
    return bad();
  }
  if (rest.empty() || (rest.front() != '+' && rest.front() != '-')) return bad();
  const bool negative = rest.front() == '-';
  rest.remove_prefix(1);
  if (rest.ends_with("bd")) {
    offset.unit = StepOffset::Unit::business_days;
    rest.remove_suffix(2);
  } else if (rest.ends_with("d")) {
    offset.unit = StepOffset::Unit::calendar_days;
    rest.remove_suffix(1);
  } else {
    return bad();
  }
  if (rest.empty() || rest.size() > 4) return bad();
  int count = 0;
  for (char c : rest) {
    if (c < '0' || c > '9') return bad();
    count = count * 10 + (c - '0');
  }
  offset.count = negative ? -count : count;
  return offset;
}

bool StepConditions::matches(const std::optional<std::string>& segment,
                             const Money& open_amount) const {
  if (!segments.empty() &&
      (!segment || std::find(segments.begin(), segments.end(), *segment) == segments.end())) {
    return false;
  }
  if (!currencies.empty() &&
      std::find(currencies.begin(), currencies.end(), open_amount.currency) == currencies.end()) {
    return false;
  }
  if (min_open_amount && (min_open_amount->currency != open_amount.currency ||
                          open_amount.minor_units < min_open_amount->minor_units)) {
    return false;
  }
  return true;
}

PolicySet::PolicySet(std::map<std::string, Policy> policies, Assignment assignment,
                     Delivery delivery)
    : policies_(std::move(policies)),
      assignment_(std::move(assignment)),
      delivery_(std::move(delivery)) {
  RELANCE_ASSERT(policies_.count(assignment_.default_policy) == 1);
}

const Policy& PolicySet::policy_for(std::string_view customer_id,
                                    const std::optional<std::string>& segment) const {
  if (const auto it = assignment_.by_customer.find(std::string(customer_id));
      it != assignment_.by_customer.end()) {
    return policies_.at(it->second);
  }
  if (segment) {
    if (const auto it = assignment_.by_segment.find(*segment); it != assignment_.by_segment.end()) {
      return policies_.at(it->second);
    }
  }
  return policies_.at(assignment_.default_policy);
}

Result<Date> step_date(const PolicyStep& step, Date due_date,
                       std::optional<Date> previous_step_date, const BusinessCalendar& calendar) {
  Date anchor = due_date;
  if (step.at.anchor == StepOffset::Anchor::previous_step) {
    if (!previous_step_date) {
      return Error{"previous_step_date",
                   "step '" + step.name + "' is anchored on the previous step, which has no date"};
    }
    anchor = *previous_step_date;
  }
  if (step.at.unit == StepOffset::Unit::business_days) {
    return calendar.add_business_days(anchor, step.at.count);
  }
  return add_days(anchor, step.at.count);
}

Result<std::vector<Date>> planned_step_dates(const Policy& policy, Date due_date,
                                             const BusinessCalendar& calendar) {
  std::vector<Date> dates;
  std::optional<Date> previous;
  for (const PolicyStep& step : policy.steps) {
    auto date = step_date(step, due_date, previous, calendar);
    if (!date) return date.error();
    dates.push_back(*date);
    previous = *date;
  }
  return dates;
}

std::vector<Problem> check_policies(const std::vector<PolicyFile>& files,
                                    const PolicyReferences& references) {
  Loader loader(references);
  for (const PolicyFile& file : files) loader.read(file);
  (void)loader.finish();
  return std::move(loader.problems());
}

Result<PolicySet> load_policies_text(const std::vector<PolicyFile>& files,
                                     const PolicyReferences& references) {
  Loader loader(references);
  for (const PolicyFile& file : files) loader.read(file);
  if (auto set = loader.finish()) return std::move(*set);
  return to_error(loader.problems());
}

Result<PolicySet> load_policies(const std::string& directory, const PolicyReferences& references) {
  std::vector<std::string> paths;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      paths.push_back(entry.path().string());
    }
  }
  if (error) return Error{directory, "cannot list the policies folder: " + error.message()};
  if (paths.size() > policy_files_max) {
    return Error{directory, "more than " + std::to_string(policy_files_max) + " policy files"};
  }
  std::sort(paths.begin(), paths.end());
  std::vector<PolicyFile> files;
  for (const std::string& path : paths) {
    Reporter reporter(path);
    auto text = yaml_support::read_text_file(path, reporter);
    if (!text) return to_error(reporter.problems());
    files.push_back({path, std::move(*text)});
  }
  return load_policies_text(files, references);
}

}  // namespace relance::core::dunning
