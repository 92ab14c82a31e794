// The files shipped in config/ (templates, policies, rates) load, pass the checks that
// `relanced check-config` runs, and render for a sample customer in French and English.

#include <gtest/gtest.h>

#include "core/dunning/late_payment.hpp"
#include "core/dunning/policy.hpp"
#include "core/dunning/templates.hpp"

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

const std::string config_dir = std::string(RELANCE_SOURCE_DIR) + "/config";

Date d(int y, unsigned m, unsigned day) { return year{y} / month{m} / std::chrono::day{day}; }
Money eur(const char* amount) { return parse_money(amount, "EUR").value(); }

const TemplateSet& shipped_templates() {
  static const TemplateSet set = [] {
    auto loaded = TemplateSet::load(config_dir + "/templates");
    EXPECT_TRUE(loaded.ok()) << loaded.error().to_string();
    return std::move(loaded).value();
  }();
  return set;
}

// A customer with an accented name that needs HTML escaping, one invoice 45 days late across
// 1 July 2024 with its interest computed from the shipped rates, a credit note, and (for the
// formal notice) the indemnity.
MessageModel sample_customer(const char* language) {
  auto rates = load_late_payment_rates(config_dir + "/rates");
  EXPECT_TRUE(rates.ok()) << rates.error().to_string();
  LateInterestRequest request{eur("1000.00"), d(2024, 6, 15), d(2024, 7, 30), {}, {}};
  const Money interest = late_interest(request, *rates).value().interest;
  EXPECT_EQ(interest, eur("17.67"));

  MessageModel model;
  model.customer_id = "C-42";
  model.customer_name = "Lefèvre & Fils";
  model.customer_language = language;
  model.as_of = d(2024, 7, 30);
  model.invoices = {
      {"FA-2024-0042", d(2024, 5, 16), d(2024, 6, 15), eur("1000.00"), eur("1000.00"), 45,
       interest},
      {"FA-2024-0077", d(2024, 7, 10), d(2024, 8, 9), eur("250.00"), eur("250.00"), 0,
       std::nullopt},
  };
  model.credits = {{CreditLine::Kind::credit_note, "AV-2024-0003", d(2024, 7, 1), eur("100.00")}};
  model.indemnity = recovery_indemnity(1);
  model.pay_by = d(2024, 8, 7);
  model.payment_reference = "RL-C42-20240730";
  model.company = {"Exemple SAS", "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP",
                   "compta@exemple.fr"};
  return model;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ShippedTemplates, pass_the_checks_and_cover_every_step_in_both_languages) {
  const auto problems = TemplateSet::check(config_dir + "/templates");
  std::string listed;
  for (const Problem& problem : problems) listed += problem.to_string() + "\n";
  EXPECT_TRUE(problems.empty()) << listed;
  const TemplateSet& set = shipped_templates();
  EXPECT_EQ(set.names(),
            (std::vector<std::string>{"courtesy", "escalation_task", "formal_notice",
                                      "instalment_reminder", "reminder", "statement"}));
  for (const char* email :
       {"courtesy", "reminder", "statement", "formal_notice", "instalment_reminder"}) {
    EXPECT_TRUE(set.has_html(email)) << email;
  }
  EXPECT_FALSE(set.has_html("escalation_task"));  // a CRM task: text only
  for (const std::string& name : set.names()) {
    EXPECT_EQ(set.choose_language(name, "fr").value(), Language::fr) << name;
    EXPECT_EQ(set.choose_language(name, "en").value(), Language::en) << name;
  }
}

TEST(ShippedTemplates, render_every_template_for_a_sample_customer_in_french_and_english) {
  for (const char* language : {"fr-FR", "en-GB"}) {
    const bool french = language[0] == 'f';
    const Language lang = french ? Language::fr : Language::en;
    const MessageModel model = sample_customer(language);
    for (const std::string& name : shipped_templates().names()) {
      SCOPED_TRACE(std::string(language) + " " + name);
      auto rendered = shipped_templates().render(name, model);
      ASSERT_TRUE(rendered.ok()) << rendered.error().to_string();
      EXPECT_EQ(rendered->language, lang);
      const std::string all = rendered->subject + rendered->text + rendered->html;
      EXPECT_FALSE(contains(all, "{{") || contains(all, "}}")) << all;
      EXPECT_FALSE(rendered->subject.empty());
      EXPECT_FALSE(contains(rendered->subject, "\n"));
      EXPECT_FALSE(contains(rendered->text, "\n\n\n")) << rendered->text;
      // The customer's name: as is in text, escaped in HTML.
      EXPECT_TRUE(contains(rendered->subject + rendered->text, "Lefèvre & Fils")) << all;
      EXPECT_TRUE(contains(rendered->text, "FA-2024-0042")) << rendered->text;
      EXPECT_TRUE(contains(rendered->text, format_amount(eur("1000.00"), lang))) << rendered->text;
      EXPECT_TRUE(contains(rendered->text, format_date_for(d(2024, 6, 15), lang)))
          << rendered->text;
      // Net of the credit note: 1,250.00 - 100.00.
      EXPECT_TRUE(contains(rendered->text, format_amount(eur("1150.00"), lang))) << rendered->text;
      if (name != "escalation_task") {
        EXPECT_TRUE(contains(rendered->text, "RL-C42-20240730")) << rendered->text;
        EXPECT_TRUE(contains(rendered->text, "FR76 3000 6000 0112 3456 7890 189"));
        EXPECT_TRUE(contains(rendered->html, "Lefèvre &amp; Fils")) << rendered->html;
        EXPECT_FALSE(contains(rendered->html, "Lefèvre & Fils")) << rendered->html;
        EXPECT_TRUE(contains(rendered->html, "FA-2024-0042"));
        EXPECT_TRUE(contains(rendered->html, format_amount(eur("1150.00"), lang)));
        EXPECT_TRUE(rendered->html.starts_with("<!DOCTYPE html>"));
        EXPECT_TRUE(contains(rendered->html, french ? "lang=\"fr\"" : "lang=\"en\""));
      } else {
        EXPECT_TRUE(rendered->html.empty());
      }
    }
  }
}

TEST(ShippedTemplates, formal_notice_claims_interest_and_indemnity) {
  for (const char* language : {"fr", "en"}) {
    const Language lang = language[0] == 'f' ? Language::fr : Language::en;
    SCOPED_TRACE(language);
    auto notice = shipped_templates().render("formal_notice", sample_customer(language));
    ASSERT_TRUE(notice.ok()) << notice.error().to_string();
    for (const std::string* part : {&notice->text, &notice->html}) {
      EXPECT_TRUE(contains(*part, format_amount(eur("17.67"), lang))) << *part;  // interest
      EXPECT_TRUE(contains(*part, format_amount(eur("40.00"), lang))) << *part;  // indemnity
      // 1,150.00 net + 17.67 interest + 40.00 indemnity.
      EXPECT_TRUE(contains(*part, format_amount(eur("1207.67"), lang))) << *part;
      EXPECT_TRUE(contains(*part, "L441-10")) << *part;
      EXPECT_TRUE(contains(*part, "D441-5")) << *part;
      EXPECT_TRUE(contains(*part, format_date_for(d(2024, 8, 7), lang))) << *part;  // pay by
    }
    EXPECT_TRUE(
        contains(notice->text, lang == Language::fr ? "mettons en demeure" : "formal notice"));
  }
}

TEST(ShippedPolicies, default_policy_has_the_documented_steps) {
  PolicyReferences references;
  references.templates = &shipped_templates();
  auto set = load_policies(config_dir + "/policies", references);
  ASSERT_TRUE(set.ok()) << set.error().to_string();
  const Policy& policy = set->policy_for("any-customer", std::nullopt);
  EXPECT_EQ(policy.name, "default");
  EXPECT_EQ(policy.calendar, "fr");
  struct Expected {
    const char* name;
    const char* at;
    Channel channel;
    const char* template_name;
  };
  const Expected expected[] = {
      {"courtesy", "due-5d", Channel::email, "courtesy"},
      {"first_reminder", "due+3d", Channel::email, "reminder"},
      {"second_reminder", "due+15d", Channel::email, "statement"},
      {"formal_notice", "due+30d", Channel::email, "formal_notice"},
      {"escalation", "due+45d", Channel::crm_task, "escalation_task"},
  };
  ASSERT_EQ(policy.steps.size(), std::size(expected));
  for (std::size_t i = 0; i < policy.steps.size(); ++i) {
    const PolicyStep& step = policy.steps[i];
    const StepOffset at = parse_step_offset(expected[i].at).value();
    EXPECT_EQ(step.name, expected[i].name);
    EXPECT_EQ(step.at.anchor, at.anchor) << step.name;
    EXPECT_EQ(step.at.count, at.count) << step.name;
    EXPECT_EQ(step.at.unit, at.unit) << step.name;
    EXPECT_EQ(step.channel, expected[i].channel) << step.name;
    EXPECT_EQ(step.template_name, expected[i].template_name) << step.name;
    EXPECT_GT(step.line, 0);
  }
  EXPECT_EQ(policy.steps[3].claim, Claim::interest_and_indemnity);
  EXPECT_EQ(policy.steps[3].pay_within_days, 8);
  EXPECT_EQ(set->delivery().contact_pressure.contacts_per_week_max, 2);
  EXPECT_EQ(set->delivery().contact_pressure.contact_interval_min, hours(48));

  // Planned dates for an invoice due on Friday 15 May 2026, the day after Ascension.
  auto dates = planned_step_dates(policy, d(2026, 5, 15), france_calendar());
  ASSERT_TRUE(dates.ok());
  EXPECT_EQ(*dates, (std::vector<Date>{d(2026, 5, 10), d(2026, 5, 18), d(2026, 5, 30),
                                       d(2026, 6, 14), d(2026, 6, 29)}));
}

}  // namespace
}  // namespace relance::core::dunning
