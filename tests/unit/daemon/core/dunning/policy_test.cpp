#include "core/dunning/policy.hpp"

#include <gtest/gtest.h>

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

Date d(int y, unsigned m, unsigned day) { return year{y} / month{m} / std::chrono::day{day}; }
Money eur(const char* amount) { return parse_money(amount, "EUR").value(); }

const TemplateSet& templates() {
  static const TemplateSet set = [] {
    const TemplateSet::Parts email{"Subject {{customer_name}}", "Text {{customer_name}}",
                                   "<p>{{customer_name}}</p>"};
    const TemplateSet::Parts crm_only{"Call {{customer_name}}", "Call {{customer_name}}",
                                      std::nullopt};
    auto loaded = TemplateSet::from_parts({{"fr",
                                            {{"courtesy", email},
                                             {"reminder", email},
                                             {"formal_notice", email},
                                             {"escalation_task", crm_only}}}});
    EXPECT_TRUE(loaded.ok()) << loaded.error().to_string();
    return std::move(loaded).value();
  }();
  return set;
}

PolicyReferences references() {
  PolicyReferences refs;
  refs.templates = &templates();
  return refs;
}

const std::string valid_policies =
    "policies:\n"                                                                     // 1
    "  standard:\n"                                                                   // 2
    "    description: \"Relances standard\"\n"                                        // 3
    "    calendar: fr\n"                                                              // 4
    "    steps:\n"                                                                    // 5
    "      - {name: courtesy, at: due-5bd, channel: email, template: courtesy}\n"     // 6
    "      - {name: first, at: due+3d, channel: email, template: reminder}\n"         // 7
    "      - {name: second, at: prev+10bd, channel: email, template: reminder}\n"     // 8
    "      - {name: notice, at: due+30d, channel: email, template: formal_notice,\n"  // 9
    "         claim: interest_and_indemnity, pay_within_days: 8}\n"                   // 10
    "      - {name: escalation, at: due+45d, channel: crm_task, template: escalation_task}\n"
    "  large_accounts:\n"                                                  // 12
    "    steps:\n"                                                         // 13
    "      - name: call\n"                                                 // 14
    "        at: due+1d\n"                                                 // 15
    "        channel: crm_task\n"                                          // 16
    "        template: escalation_task\n"                                  // 17
    "        when:\n"                                                      // 18
    "          segments: [key_account]\n"                                  // 19
    "          min_open_amount: {amount: \"10000.00\", currency: EUR}\n";  // 20

const std::string valid_assignment =
    "assignment:\n"
    "  default: standard\n"
    "  segments: {key_account: large_accounts}\n"
    "  customers: {C-42: large_accounts}\n"
    "delivery:\n"
    "  send_days: [mon, tue, wed, thu, fri]\n"
    "  send_hours: [\"09:00-12:00\", \"14:00-18:00\"]\n"
    "  quiet_hours: [\"12:30-13:00\"]\n"
    "  contact_interval_min_hours: 72\n"
    "  contacts_per_week_max: 1\n";

PolicySet load_valid() {
  auto set = load_policies_text(
      {{"policies/standard.yaml", valid_policies}, {"policies/assignment.yaml", valid_assignment}},
      references());
  EXPECT_TRUE(set.ok()) << set.error().to_string();
  return std::move(set).value();
}

// Whether one problem has this file, line and key and says these words.
bool has_problem(const std::vector<Problem>& problems, std::string_view file, int line,
                 std::string_view key, std::string_view words) {
  for (const Problem& problem : problems) {
    if (problem.file == file && problem.line == line && problem.key == key &&
        problem.message.find(words) != std::string::npos) {
      return true;
    }
  }
  return false;
}

std::string all(const std::vector<Problem>& problems) {
  std::string text;
  for (const Problem& problem : problems) text += problem.to_string() + "\n";
  return text;
}

TEST(StepOffset, parses_due_and_previous_anchors_in_days_and_business_days) {
  const StepOffset courtesy = parse_step_offset("due-5d").value();
  EXPECT_EQ(courtesy.anchor, StepOffset::Anchor::due_date);
  EXPECT_EQ(courtesy.count, -5);
  EXPECT_EQ(courtesy.unit, StepOffset::Unit::calendar_days);
  const StepOffset business = parse_step_offset("due+3bd").value();
  EXPECT_EQ(business.count, 3);
  EXPECT_EQ(business.unit, StepOffset::Unit::business_days);
  const StepOffset previous = parse_step_offset("prev+7d").value();
  EXPECT_EQ(previous.anchor, StepOffset::Anchor::previous_step);
  EXPECT_EQ(previous.count, 7);
  EXPECT_EQ(parse_step_offset("due+0d").value().count, 0);
  for (const char* bad : {"due", "due5d", "due+5", "due+5w", "due+d", "due+12345d", "prev-x",
                          "issue+5d", "due+-5d", " due+5d", "due+5bd "}) {
    auto parsed = parse_step_offset(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("is not a step time"), std::string::npos) << bad;
  }
}

TEST(PolicyFiles, load_policies_assignment_and_delivery_from_several_files) {
  const PolicySet set = load_valid();
  ASSERT_EQ(set.policies().size(), 2u);
  const Policy& standard = set.policies().at("standard");
  EXPECT_EQ(standard.description, "Relances standard");
  EXPECT_EQ(standard.calendar, "fr");
  EXPECT_EQ(standard.file, "policies/standard.yaml");
  ASSERT_EQ(standard.steps.size(), 5u);
  EXPECT_EQ(standard.steps[0].name, "courtesy");
  EXPECT_EQ(standard.steps[0].line, 6);
  EXPECT_EQ(standard.steps[2].at.anchor, StepOffset::Anchor::previous_step);
  EXPECT_EQ(standard.steps[3].claim, Claim::interest_and_indemnity);
  EXPECT_EQ(standard.steps[3].pay_within_days, 8);
  EXPECT_EQ(standard.steps[4].channel, Channel::crm_task);
  EXPECT_EQ(channel_name(standard.steps[4].channel), "crm_task");

  const Policy& large = set.policies().at("large_accounts");
  ASSERT_EQ(large.steps.size(), 1u);
  EXPECT_EQ(large.steps[0].when.segments, std::vector<std::string>{"key_account"});
  EXPECT_EQ(large.steps[0].when.min_open_amount, eur("10000.00"));

  const Delivery& delivery = set.delivery();
  EXPECT_FALSE(delivery.send_window.days[0]);  // Sunday
  EXPECT_TRUE(delivery.send_window.days[1]);
  ASSERT_EQ(delivery.send_window.hours.size(), 2u);
  EXPECT_EQ(delivery.send_window.hours[1].from, hours(14));
  ASSERT_EQ(delivery.send_window.quiet_hours.size(), 1u);
  EXPECT_EQ(delivery.send_window.quiet_hours[0].from, hours(12) + minutes(30));
  EXPECT_EQ(delivery.contact_pressure.contact_interval_min, hours(72));
  EXPECT_EQ(delivery.contact_pressure.contacts_per_week_max, 1);
}

TEST(PolicyFiles, assignment_customer_wins_over_segment_wins_over_default) {
  const PolicySet set = load_valid();
  EXPECT_EQ(set.policy_for("C-42", std::nullopt).name, "large_accounts");
  EXPECT_EQ(set.policy_for("C-42", std::string("smb")).name, "large_accounts");
  EXPECT_EQ(set.policy_for("C-7", std::string("key_account")).name, "large_accounts");
  EXPECT_EQ(set.policy_for("C-7", std::string("smb")).name, "standard");
  EXPECT_EQ(set.policy_for("C-7", std::nullopt).name, "standard");
}

TEST(StepConditions, every_condition_given_must_hold_and_amounts_are_never_converted) {
  StepConditions when;
  EXPECT_TRUE(when.matches(std::nullopt, eur("1.00")));
  when.segments = {"key_account", "public"};
  when.min_open_amount = eur("10000.00");
  EXPECT_TRUE(when.matches(std::string("public"), eur("10000.00")));
  EXPECT_FALSE(when.matches(std::string("public"), eur("9999.99")));
  EXPECT_FALSE(when.matches(std::string("smb"), eur("50000.00")));
  EXPECT_FALSE(when.matches(std::nullopt, eur("50000.00")));
  EXPECT_FALSE(when.matches(std::string("public"), parse_money("50000.00", "USD").value()));
  StepConditions usd_only;
  usd_only.currencies = {Currency::from_code("USD").value()};
  EXPECT_TRUE(usd_only.matches(std::nullopt, parse_money("1.00", "USD").value()));
  EXPECT_FALSE(usd_only.matches(std::nullopt, eur("1.00")));
}

TEST(StepDates, follow_the_due_date_the_previous_step_and_the_calendar) {
  const PolicySet set = load_valid();
  // Due Friday 15 May 2026, the day after Ascension.
  auto dates = planned_step_dates(set.policies().at("standard"), d(2026, 5, 15), france_calendar());
  ASSERT_TRUE(dates.ok()) << dates.error().to_string();
  ASSERT_EQ(dates->size(), 5u);
  EXPECT_EQ((*dates)[0], d(2026, 5, 6));   // due-5bd: over Ascension and 8 May
  EXPECT_EQ((*dates)[1], d(2026, 5, 18));  // due+3d
  EXPECT_EQ((*dates)[2], d(2026, 6, 2));   // prev+10bd from 18 May, over Whit Monday
  EXPECT_EQ((*dates)[3], d(2026, 6, 14));  // due+30d
  EXPECT_EQ((*dates)[4], d(2026, 6, 29));  // due+45d

  // A step anchored on the previous one counts from when the previous one actually went out.
  const PolicyStep& second = set.policies().at("standard").steps[2];
  EXPECT_EQ(step_date(second, d(2026, 5, 15), d(2026, 5, 20), france_calendar()).value(),
            d(2026, 6, 4));
  auto without = step_date(second, d(2026, 5, 15), std::nullopt, france_calendar());
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.error().message.find("'second'"), std::string::npos);
}

TEST(PolicyValidation, names_file_and_line_for_order_templates_and_unreachable_steps) {
  const std::string text =
      "policies:\n"                                                                        // 1
      "  standard:\n"                                                                      // 2
      "    steps:\n"                                                                       // 3
      "      - {name: first, at: due+10d, channel: email, template: reminder}\n"           // 4
      "      - {name: early, at: due+3d, channel: email, template: reminder}\n"            // 5
      "      - {name: ghost, at: due+20d, channel: email, template: no_such_template}\n"   // 6
      "      - {name: task, at: due+25d, channel: email, template: escalation_task}\n"     // 7
      "      - {name: stop, at: due+30d, channel: escalate, template: escalation_task}\n"  // 8
      "      - {name: after, at: due+40d, channel: email, template: reminder}\n"           // 9
      "  orphan:\n"                                                                        // 10
      "    calendar: mars\n"                                                               // 11
      "    steps:\n"                                                                       // 12
      "      - {name: a, at: prev+1d, channel: fax, template: reminder}\n"                 // 13
      "      - {name: b, at: due+5d, channel: crm_note, template: reminder,\n"             // 14
      "         when: {currencies: [USD], min_open_amount: {amount: \"100\", currency: EUR}}}\n"
      "      - {name: c, at: due+6d, channel: crm_note, template: reminder,\n"  // 16
      "         when: {segments: [smb]}}\n"                                     // 17
      "      - {name: c, at: due+7d, channel: crm_note, template: reminder, colour: red}\n"
      "assignment:\n"                         // 19
      "  default: standard\n"                 // 20
      "  segments: {smb: missing_policy}\n";  // 21
  const std::string file = "config/policies/default.yaml";
  const std::vector<Problem> problems = check_policies({{file, text}}, references());
  const std::string listed = all(problems);
  const std::string standard = "policies.standard.steps";
  EXPECT_TRUE(has_problem(problems, file, 5, standard + "[1].at", "steps out of order")) << listed;
  EXPECT_TRUE(has_problem(problems, file, 6, standard + "[2].template",
                          "unknown template 'no_such_template'"))
      << listed;
  EXPECT_TRUE(has_problem(problems, file, 7, standard + "[3].template", "has no HTML part"))
      << listed;
  EXPECT_TRUE(has_problem(problems, file, 9, standard + "[5]",
                          "step 'after' can never be reached: dunning stops at the escalation "
                          "step 'stop'"))
      << listed;
  const std::string orphan = "policies.orphan.steps";
  EXPECT_TRUE(
      has_problem(problems, file, 11, "policies.orphan.calendar", "unknown calendar 'mars'"))
      << listed;
  EXPECT_TRUE(has_problem(problems, file, 13, orphan + "[0].at", "the first step has no previous"))
      << listed;
  EXPECT_TRUE(has_problem(problems, file, 13, orphan + "[0].channel", "unknown channel 'fax'"))
      << listed;
  EXPECT_TRUE(has_problem(problems, file, 15, orphan + "[1].when",
                          "step 'b' can never be reached: its minimum is in EUR"))
      << listed;
  EXPECT_TRUE(has_problem(problems, file, 16, orphan,
                          "step 'c' can never be reached: policy 'orphan' is assigned to no "
                          "customer of its segments"))
      << listed;
  EXPECT_TRUE(has_problem(problems, file, 18, orphan + "[3].name", "already named 'c'")) << listed;
  EXPECT_TRUE(has_problem(problems, file, 18, orphan + "[3].colour", "unknown key")) << listed;
  EXPECT_TRUE(
      has_problem(problems, file, 21, "assignment.segments.smb", "unknown policy 'missing_policy'"))
      << listed;
  EXPECT_EQ(problems.size(), 12u) << listed;

  // The load function refuses with the same lines, each "file:line: key: message".
  auto loaded = load_policies_text({{file, text}}, references());
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find(
                "config/policies/default.yaml:6: policies.standard.steps[2].template: unknown "
                "template 'no_such_template' (the templates folder has: courtesy, "
                "escalation_task, formal_notice, reminder)"),
            std::string::npos)
      << loaded.error().message;
}

TEST(PolicyValidation, a_step_is_out_of_order_only_when_it_can_never_come_after) {
  // due+10bd is more than 10 calendar days after the due date, often 14 or more: due+14d can
  // come after it, due+10d never can.
  const auto check = [&](const std::string& second_at) {
    return check_policies({{"p.yaml",
                            "policies:\n"
                            "  p:\n"
                            "    steps:\n"
                            "      - {name: a, at: due+10bd, channel: email, template: reminder}\n"
                            "      - {name: b, at: " +
                                second_at +
                                ", channel: email, template: reminder}\n"
                                "assignment: {default: p}\n"}},
                          references());
  };
  EXPECT_TRUE(check("due+14d").empty()) << all(check("due+14d"));
  EXPECT_TRUE(
      has_problem(check("due+10d"), "p.yaml", 5, "policies.p.steps[1].at", "steps out of order"));
  EXPECT_TRUE(has_problem(check("prev+0d"), "p.yaml", 5, "policies.p.steps[1].at",
                          "is not after the previous step"));
}

TEST(PolicyValidation, across_files_duplicates_and_a_missing_assignment_are_reported) {
  const std::string one =
      "policies:\n"
      "  p:\n"
      "    steps: [{name: a, at: due+1d, channel: email, template: reminder}]\n"
      "assignment: {default: p}\n";
  const std::string two =
      "policies:\n"
      "  p:\n"
      "    steps: [{name: a, at: due+2d, channel: email, template: reminder}]\n"
      "assignment: {default: p}\n";
  const auto problems = check_policies({{"one.yaml", one}, {"two.yaml", two}}, references());
  EXPECT_TRUE(has_problem(problems, "two.yaml", 2, "policies.p",
                          "policy 'p' is already defined in one.yaml line 2"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "two.yaml", 4, "assignment", "already given in one.yaml"))
      << all(problems);

  const std::string no_assignment =
      "policies:\n"
      "  p:\n"
      "    steps: [{name: a, at: due+1d, channel: email, template: reminder}]\n";
  const auto missing = check_policies({{"only.yaml", no_assignment}}, references());
  ASSERT_EQ(missing.size(), 1u) << all(missing);
  EXPECT_EQ(missing[0].key, "assignment");

  const auto empty_steps = check_policies(
      {{"e.yaml", "policies:\n  p:\n    steps: []\nassignment: {default: p}\n"}}, references());
  EXPECT_TRUE(has_problem(empty_steps, "e.yaml", 3, "policies.p.steps", "non-empty list"))
      << all(empty_steps);

  const auto not_yaml = check_policies({{"bad.yaml", "policies: [\n"}}, references());
  ASSERT_FALSE(not_yaml.empty());
  EXPECT_NE(not_yaml[0].message.find("not valid YAML"), std::string::npos);
  EXPECT_EQ(not_yaml[0].file, "bad.yaml");
}

TEST(PolicyValidation, delivery_settings_are_checked) {
  const std::string text =
      "policies:\n"
      "  p:\n"
      "    steps: [{name: a, at: due+1d, channel: email, template: reminder}]\n"
      "assignment: {default: p}\n"
      "delivery:\n"
      "  send_days: [mon, someday]\n"      // 6
      "  send_hours: [\"18:00-09:00\"]\n"  // 7
      "  quiet_hours: [\"noon\"]\n"        // 8
      "  contacts_per_week_max: 0\n";      // 9
  const auto problems = check_policies({{"d.yaml", text}}, references());
  EXPECT_TRUE(has_problem(problems, "d.yaml", 6, "delivery.send_days[1]", "not a weekday"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "d.yaml", 7, "delivery.send_hours[0]", "wrap over midnight"))
      << all(problems);
  EXPECT_TRUE(has_problem(problems, "d.yaml", 8, "delivery.quiet_hours[0]", "not a time range"))
      << all(problems);
  EXPECT_TRUE(
      has_problem(problems, "d.yaml", 9, "delivery.contacts_per_week_max", "outside [1, 50]"))
      << all(problems);
}

}  // namespace
}  // namespace relance::core::dunning
