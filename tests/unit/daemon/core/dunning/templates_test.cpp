#include "core/dunning/templates.hpp"

#include <gtest/gtest.h>

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

Date d(int y, unsigned m, unsigned day) { return year{y} / month{m} / std::chrono::day{day}; }
Money eur(const char* amount) { return parse_money(amount, "EUR").value(); }
Money money(const char* amount, const char* currency) {
  return parse_money(amount, currency, SignPolicy::any).value();
}

// U+202F NARROW NO-BREAK SPACE and U+00A0 NO-BREAK SPACE in UTF-8.
const std::string nnbsp = "\xE2\x80\xAF";
const std::string nbsp = "\xC2\xA0";

TEST(FormatAmount, french_and_english_conventions) {
  EXPECT_EQ(format_amount(eur("1234567.89"), Language::fr),
            "1" + nnbsp + "234" + nnbsp + "567,89" + nbsp + "EUR");
  EXPECT_EQ(format_amount(eur("1234567.89"), Language::en), "EUR" + nbsp + "1,234,567.89");
  EXPECT_EQ(format_amount(eur("0.05"), Language::fr), "0,05" + nbsp + "EUR");
  EXPECT_EQ(format_amount(eur("999.00"), Language::en), "EUR" + nbsp + "999.00");
  EXPECT_EQ(format_amount(money("-1234.50", "EUR"), Language::fr),
            "-1" + nnbsp + "234,50" + nbsp + "EUR");
  EXPECT_EQ(format_amount(money("-1234.50", "EUR"), Language::en), "EUR" + nbsp + "-1,234.50");
  EXPECT_EQ(format_amount(money("1500", "JPY"), Language::fr), "1" + nnbsp + "500" + nbsp + "JPY");
  EXPECT_EQ(format_amount(money("1.234", "TND"), Language::en), "TND" + nbsp + "1.234");
  EXPECT_EQ(format_amount(Money{INT64_MIN, eur("0").currency}, Language::en),
            "EUR" + nbsp + "-92,233,720,368,547,758.08");
}

TEST(FormatDate, french_and_english) {
  EXPECT_EQ(format_date_for(d(2026, 3, 5), Language::fr), "05/03/2026");
  EXPECT_EQ(format_date_for(d(2026, 11, 23), Language::en), "23 November 2026");
}

TEST(Language, codes) {
  EXPECT_EQ(language_from_code("fr"), Language::fr);
  EXPECT_EQ(language_from_code("en"), Language::en);
  EXPECT_FALSE(language_from_code("de"));
  EXPECT_EQ(language_code(Language::fr), "fr");
}

using Templates = std::map<std::string, std::map<std::string, TemplateSet::Parts>>;

TemplateSet make(const Templates& templates) {
  auto set = TemplateSet::from_parts(templates);
  EXPECT_TRUE(set.ok()) << set.error().to_string();
  return std::move(set).value();
}

MessageModel sample_model() {
  MessageModel model;
  model.customer_id = "C-42";
  model.customer_name = "Dupont & Fils <b>\"L'Atelier\"</b>";
  model.customer_language = "fr-FR";
  model.as_of = d(2026, 7, 30);
  model.invoices = {
      {"FA-2026-0042", d(2026, 5, 16), d(2026, 6, 15), eur("1000.00"), eur("1000.00"), 45,
       eur("17.67")},
      {"FA-2026-0051", d(2026, 6, 20), d(2026, 7, 20), eur("300.00"), eur("234.56"), 10,
       std::nullopt},
  };
  model.credits = {{CreditLine::Kind::credit_note, "AV-2026-0003", d(2026, 7, 1), eur("100.00")}};
  model.indemnity = eur("80.00");
  model.pay_by = d(2026, 8, 7);
  model.payment_reference = "RL-C42-0730";
  model.company = {"Exemple SAS", "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP", "compta@x.fr"};
  return model;
}

TEST(Render, escapes_values_in_html_and_keeps_them_verbatim_in_text) {
  const TemplateSet set = make({{"fr",
                                 {{"notice",
                                   {"Relance {{customer_name}}", "Client : {{customer_name}}",
                                    "<p title=\"{{customer_name}}\">{{customer_name}}</p>"}}}}});
  auto rendered = set.render("notice", sample_model());
  ASSERT_TRUE(rendered.ok()) << rendered.error().to_string();
  EXPECT_EQ(rendered->language, Language::fr);
  EXPECT_EQ(rendered->template_name, "notice");
  EXPECT_EQ(rendered->text, "Client : Dupont & Fils <b>\"L'Atelier\"</b>");
  EXPECT_EQ(rendered->html,
            "<p title=\"Dupont &amp; Fils &lt;b&gt;&quot;L&#39;Atelier&quot;&lt;/b&gt;\">"
            "Dupont &amp; Fils &lt;b&gt;&quot;L&#39;Atelier&quot;&lt;/b&gt;</p>");
  EXPECT_EQ(rendered->subject, "Relance Dupont & Fils <b>\"L'Atelier\"</b>");
}

TEST(Render, values_are_never_read_as_templates_and_subjects_stay_on_one_line) {
  const TemplateSet set = make(
      {{"en", {{"n", {"Hello {{customer_name}}", "{{customer_name}}", "{{customer_name}}"}}}}});
  MessageModel model = sample_model();
  model.customer_name = "{{company_iban}}\r\nBcc: victim@example.com";
  auto rendered = set.render("n", model);
  ASSERT_TRUE(rendered.ok()) << rendered.error().to_string();
  EXPECT_EQ(rendered->subject, "Hello {{company_iban}}  Bcc: victim@example.com");
  EXPECT_EQ(rendered->text, "{{company_iban}}\r\nBcc: victim@example.com");
}

TEST(Render, lists_invoices_credits_and_totals_with_interest_and_indemnity) {
  const std::string text =
      "{{#invoices}}{{number}} {{due_date}} {{open}}{{#is_late}} +{{days_late}}j{{/is_late}}"
      "{{#has_interest}} i={{interest}}{{/has_interest}}\n{{/invoices}}"
      "{{#credits}}{{#is_credit_note}}avoir{{/is_credit_note}} {{reference}} {{amount}}\n"
      "{{/credits}}"
      "{{#totals}}{{currency}} open={{open}} credits={{credits}} net={{net}}"
      "{{#has_interest}} interest={{interest}}{{/has_interest}} total={{total}}\n{{/totals}}"
      "{{#has_indemnity}}indemnity={{indemnity}} for {{late_invoice_count}}\n{{/has_indemnity}}"
      "{{#has_pay_by}}by {{pay_by}}{{/has_pay_by}} ref {{payment_reference}} "
      "n={{invoice_count}}";
  const TemplateSet set = make({{"fr", {{"notice", {"s", text, "h"}}}}});
  auto rendered = set.render("notice", sample_model());
  ASSERT_TRUE(rendered.ok()) << rendered.error().to_string();
  const auto fr = [](const char* amount) { return format_amount(eur(amount), Language::fr); };
  EXPECT_EQ(rendered->text,
            "FA-2026-0042 15/06/2026 " + fr("1000.00") + " +45j i=" + fr("17.67") + "\n" +
                "FA-2026-0051 20/07/2026 " + fr("234.56") + " +10j\n" +  //
                "avoir AV-2026-0003 " + fr("100.00") + "\n" +            //
                "EUR open=" + fr("1234.56") + " credits=" + fr("100.00") + " net=" + fr("1134.56") +
                " interest=" + fr("17.67") + " total=" + fr("1232.23") + "\n" +
                "indemnity=" + fr("80.00") + " for 2\n" + "by 07/08/2026 ref RL-C42-0730 n=2");
}

TEST(Render, keeps_one_total_per_currency_and_never_adds_across_currencies) {
  const TemplateSet set = make(
      {{"en", {{"s", {"s", "{{#totals}}{{currency}}: {{net}} / {{total}}\n{{/totals}}", "h"}}}}});
  MessageModel model = sample_model();
  model.customer_language = "en";
  model.invoices.push_back({"US-1", d(2026, 6, 1), d(2026, 7, 1), money("500.00", "USD"),
                            money("500.00", "USD"), 29, std::nullopt});
  model.indemnity.reset();
  auto rendered = set.render("s", model);
  ASSERT_TRUE(rendered.ok()) << rendered.error().to_string();
  EXPECT_EQ(rendered->text, "EUR: EUR" + nbsp + "1,134.56 / EUR" + nbsp + "1,152.23\nUSD: USD" +
                                nbsp + "500.00 / USD" + nbsp + "500.00\n");

  model.invoices[0].interest = money("1.00", "USD");
  auto mismatch = set.render("s", model);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("FA-2026-0042"), std::string::npos);
}

TEST(Render, chooses_the_customer_language_then_english_then_french) {
  const TemplateSet::Parts fr{"FR", "fr", "<p>fr</p>"};
  const TemplateSet::Parts en{"EN", "en", "<p>en</p>"};
  const TemplateSet set = make({{"fr", {{"both", fr}, {"fr_only", fr}}}, {"en", {{"both", en}}}});
  EXPECT_EQ(set.choose_language("both", "fr-BE").value(), Language::fr);
  EXPECT_EQ(set.choose_language("both", "FR").value(), Language::fr);
  EXPECT_EQ(set.choose_language("both", "en_GB").value(), Language::en);
  EXPECT_EQ(set.choose_language("both", "de-CH").value(), Language::en);
  EXPECT_EQ(set.choose_language("both", "").value(), Language::en);
  EXPECT_EQ(set.choose_language("fr_only", "en").value(), Language::fr);
  auto missing = set.choose_language("nothing", "fr");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'nothing'"), std::string::npos);

  MessageModel model = sample_model();
  model.customer_language = "de";
  EXPECT_EQ(set.render("both", model).value().subject, "EN");
  EXPECT_TRUE(set.has("fr_only"));
  EXPECT_FALSE(set.has("nothing"));
  EXPECT_EQ(set.names(), (std::vector<std::string>{"both", "fr_only"}));
}

TEST(Render, a_template_without_html_part_renders_text_only) {
  const TemplateSet set =
      make({{"fr", {{"task", {"Appeler {{customer_id}}", "{{as_of}}", std::nullopt}}}}});
  EXPECT_FALSE(set.has_html("task"));
  auto rendered = set.render("task", sample_model());
  ASSERT_TRUE(rendered.ok());
  EXPECT_EQ(rendered->subject, "Appeler C-42");
  EXPECT_EQ(rendered->text, "30/07/2026");
  EXPECT_TRUE(rendered->html.empty());
}

std::string problems_of(const Templates& templates) {
  auto set = TemplateSet::from_parts(templates, "tpl");
  return set.ok() ? std::string() : set.error().message;
}

TEST(TemplateChecks, unknown_variables_name_the_file_and_line) {
  const std::string message =
      problems_of({{"fr",
                    {{"r",
                      {"ok {{customer_name}}", "line one\n{{customer_nmae}}\n{{number}}",
                       "<p>{{#invoices}}{{number}}{{/invoices}}</p>"}}}}});
  EXPECT_NE(message.find("tpl/fr/r.text.mustache:2: unknown variable 'customer_nmae'"),
            std::string::npos)
      << message;
  // {{number}} exists only inside {{#invoices}}.
  EXPECT_NE(message.find("tpl/fr/r.text.mustache:3: unknown variable 'number'"), std::string::npos)
      << message;
  EXPECT_EQ(message.find("html"), std::string::npos) << message;
}

TEST(TemplateChecks, html_parts_may_not_skip_escaping) {
  const std::string triple =
      problems_of({{"fr", {{"r", {"s", "{{{customer_name}}}", "<p>{{{customer_name}}}</p>"}}}}});
  EXPECT_NE(triple.find("tpl/fr/r.html.mustache:1: {{{customer_name}}}"), std::string::npos)
      << triple;
  EXPECT_NE(triple.find("unescaped"), std::string::npos) << triple;
  EXPECT_EQ(triple.find("r.text.mustache"), std::string::npos) << triple;  // fine in text
  const std::string ampersand =
      problems_of({{"fr", {{"r", {"s", "t", "<p>\n{{& customer_name}}</p>"}}}}});
  EXPECT_NE(ampersand.find("tpl/fr/r.html.mustache:2:"), std::string::npos) << ampersand;
}

TEST(TemplateChecks, refuse_partials_delimiters_bad_syntax_bad_utf8_and_missing_parts) {
  EXPECT_NE(problems_of({{"fr", {{"r", {"s", "{{> footer}}", "h"}}}}}).find("partials"),
            std::string::npos);
  EXPECT_NE(problems_of({{"fr", {{"r", {"s", "{{=<% %>=}}", "h"}}}}}).find("delimiters"),
            std::string::npos);
  const std::string unclosed = problems_of({{"fr", {{"r", {"s", "{{#invoices}}x", "h"}}}}});
  EXPECT_NE(unclosed.find("tpl/fr/r.text.mustache: not a valid mustache template"),
            std::string::npos)
      << unclosed;
  EXPECT_NE(problems_of({{"fr", {{"r", {"s", "caf\xC3", "h"}}}}}).find("not valid UTF-8"),
            std::string::npos);
  EXPECT_NE(problems_of({{"fr", {{"r", {"", "t", "h"}}}}}).find("every template needs a subject"),
            std::string::npos);
  EXPECT_NE(problems_of({{"fr", {{"r", {"s", "", "h"}}}}}).find("every template needs a text"),
            std::string::npos);
  EXPECT_NE(problems_of({{"de", {{"r", {"s", "t", "h"}}}}})
                .find("no formatting rules for "
                      "language 'de'"),
            std::string::npos);
  EXPECT_TRUE(problems_of({{"fr", {{"r", {"s {{! a comment }}", "t", "h"}}}}}).empty());
}

}  // namespace
}  // namespace relance::core::dunning
