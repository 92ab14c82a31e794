#pragma once
// Message templates (config/templates/<language>/<name>.{subject,text,html}.mustache) and the
// model they render: a customer's statement of overdue invoices, credits, totals per currency
// and, for a formal notice, late interest and the recovery indemnity.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/dunning/problem.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace relance::core::dunning {

// The languages with formatting rules. A template folder for another language is refused.
enum class Language { fr, en };
std::optional<Language> language_from_code(std::string_view code);  // "fr", "en"
std::string_view language_code(Language language);

// French: "1 234,56 EUR": U+202F NARROW NO-BREAK SPACE between thousands (as CLDR's fr locale),
// U+00A0 NO-BREAK SPACE before the currency code, so that an amount never breaks over two
// lines. English: "EUR 1,234.56" (U+00A0 after the code). Negative amounts put '-' before the
// digits: "-1 234,56 EUR", "EUR -1,234.56".
std::string format_amount(const Money& money, Language language);
// French "23/11/2026", English "23 November 2026".
std::string format_date_for(Date date, Language language);

struct InvoiceLine {
  std::string number;
  Date issue_date;
  Date due_date;
  Money original;
  Money open;
  int days_late = 0;              // 0 when not yet due
  std::optional<Money> interest;  // late interest claimed (formal notice)
};

// What the customer has in hand against the invoices: netted in the totals of its currency.
struct CreditLine {
  enum class Kind { credit_note, unapplied_cash };
  Kind kind = Kind::credit_note;
  std::string reference;
  Date date;
  Money amount;  // positive: what the customer is owed
  bool operator==(const CreditLine&) const = default;
};

struct CompanyDetails {
  std::string name;
  std::string iban;
  std::string bic;
  std::string email;
};

struct MessageModel {
  std::string customer_id;
  std::string customer_name;
  std::string customer_language;  // BCP 47 ("fr", "fr-BE", "en-GB"); empty: unknown
  Date as_of;
  std::vector<InvoiceLine> invoices;
  std::vector<CreditLine> credits;
  // D441-5 indemnity claimed (formal notice): EUR 40 per late invoice, see recovery_indemnity().
  std::optional<Money> indemnity;
  std::optional<Date> pay_by;  // the deadline a formal notice gives
  std::string payment_reference;
  CompanyDetails company;
};

struct RenderedMessage {
  std::string template_name;
  Language language = Language::en;
  std::string subject;  // one line: line breaks from values are replaced by spaces
  std::string text;
  std::string html;  // empty for templates without an HTML part (CRM texts)
};

// Every template of a folder, parsed and checked once at load.
class TemplateSet {
 public:
  struct Parts {
    std::string subject;
    std::string text;
    std::optional<std::string> html;
  };

  // config/templates: one folder per language (fr, en), in it <name>.subject.mustache and
  // <name>.text.mustache, and <name>.html.mustache for e-mails. Checks: UTF-8, mustache syntax,
  // every variable is one of the model's, no unescaped {{{ }}} or {{& }} in HTML, no partials.
  static Result<TemplateSet> load(const std::string& directory);
  static std::vector<Problem> check(const std::string& directory);
  // The same from memory: templates[language][name] (tests, embedded defaults).
  static Result<TemplateSet> from_parts(
      const std::map<std::string, std::map<std::string, Parts>>& templates,
      const std::string& origin = "<memory>");

  bool has(std::string_view name) const;
  bool has(std::string_view name, Language language) const;
  // The languages with at least one template (a folder per language).
  std::vector<Language> languages() const;
  // Whether every language's version of the template has an HTML part (needed for e-mail).
  bool has_html(std::string_view name) const;
  std::vector<std::string> names() const;

  // The customer's language by its primary subtag ("fr-BE" -> fr) when the template exists in
  // it; otherwise English; otherwise French. Error: the template exists in none.
  Result<Language> choose_language(std::string_view name, std::string_view customer_language) const;

  Result<RenderedMessage> render(std::string_view name, const MessageModel& model) const;

 private:
  struct Compiled;  // every part parsed once, at load (parsing cost more than rendering)
  std::map<Language, std::map<std::string, Parts, std::less<>>> templates_;
  std::shared_ptr<const Compiled> compiled_;  // shared by copies: the templates never change
};

}  // namespace relance::core::dunning
