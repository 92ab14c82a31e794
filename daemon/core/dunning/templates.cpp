#include "core/dunning/templates.hpp"

#include <kainjow/mustache.hpp>
#include <memory>
#include <mutex>

#include <algorithm>
#include <array>
#include <filesystem>
#include <set>

#include "core/dunning/yaml_support.hpp"
#include "core/html.hpp"

namespace relance::core::dunning {

namespace {

namespace mustache = kainjow::mustache;
using yaml_support::Reporter;

constexpr std::string_view narrow_no_break_space = "\u202F";
constexpr std::string_view no_break_space = "\u00A0";
constexpr std::size_t template_files_max = 1000;
constexpr std::size_t template_section_depth_max = 16;

constexpr std::array<std::string_view, 3> part_suffixes{".subject.mustache", ".text.mustache",
                                                        ".html.mustache"};

// The variables a template may use, by the section that brings them into scope.
const std::set<std::string, std::less<>>& top_level_names() {
  static const std::set<std::string, std::less<>> names{
      "customer_id",  "customer_name", "as_of",         "payment_reference", "company_name",
      "company_iban", "company_bic",   "company_email", "has_pay_by",        "pay_by",
      "invoices",     "invoice_count", "has_credits",   "credits",           "totals",
      "has_claim",    "has_indemnity", "indemnity",     "late_invoice_count"};
  return names;
}

const std::set<std::string, std::less<>>* section_names(std::string_view section) {
  static const std::set<std::string, std::less<>> invoice{
      ".",    "number",    "issue_date", "due_date",     "original",
      "open", "days_late", "is_late",    "has_interest", "interest"};
  static const std::set<std::string, std::less<>> credit{
      ".", "reference", "date", "amount", "is_credit_note", "is_unapplied_cash"};
  static const std::set<std::string, std::less<>> total{
      ".", "currency", "open", "credits", "net", "has_interest", "interest", "total"};
  if (section == "invoices") return &invoice;
  if (section == "credits") return &credit;
  if (section == "totals") return &total;
  return nullptr;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(extra) >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(text[i + static_cast<std::size_t>(k)]);
      if ((next & 0xC0) != 0x80) return false;
      code = (code << 6) | (next & 0x3F);
    }
    // Overlong forms, surrogates and code points beyond Unicode.
    if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800) ||
        (extra == 3 && code < 0x10000) || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    i += static_cast<std::size_t>(extra) + 1;
  }
  return true;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

enum class PartKind { subject, text, html };

// Checks the tags of one template part against the model's names; kainjow checks the syntax.
void check_part(std::string_view source, PartKind kind, const std::string& file,
                std::vector<Problem>& problems) {
  if (!valid_utf8(source)) {
    problems.push_back({file, 0, "", "not valid UTF-8 (save the file as UTF-8)"});
    return;
  }
  {
    mustache::mustache parsed{std::string(source)};
    if (!parsed.is_valid()) {
      problems.push_back({file, 0, "", "not a valid mustache template: " + parsed.error_message()});
      return;
    }
  }
  std::vector<std::string> sections;
  std::size_t position = 0;
  while (true) {
    const std::size_t open = source.find("{{", position);
    if (open == std::string_view::npos) break;
    const int line = 1 + static_cast<int>(std::count(source.begin(), source.begin() + open, '\n'));
    const bool triple = source.substr(open, 3) == "{{{";
    const std::size_t close = source.find(triple ? "}}}" : "}}", open);
    if (close == std::string_view::npos) break;  // kainjow reported it
    std::string_view tag = source.substr(open + (triple ? 3 : 2), close - open - (triple ? 3 : 2));
    position = close + (triple ? 3 : 2);
    tag = trim(tag);
    char sigil = triple ? '&' : (tag.empty() ? ' ' : tag.front());
    if (!triple && std::string_view("!#^/&>=").find(sigil) != std::string_view::npos) {
      tag = trim(tag.substr(1));
    } else if (!triple) {
      sigil = ' ';
    }
    const auto report = [&](std::string message) {
      problems.push_back({file, line, "", std::move(message)});
    };
    if (sigil == '!') continue;
    if (sigil == '>') {
      report("partials ({{> " + std::string(tag) + "}}) are not supported");
      continue;
    }
    if (sigil == '=') {
      report("changing delimiters is not supported");
      continue;
    }
    if (sigil == '&' && kind == PartKind::html) {
      report("{{{" + std::string(tag) + "}}} or {{& " + std::string(tag) +
             "}} would put a value in the HTML unescaped; use {{" + std::string(tag) + "}}");
      continue;
    }
    if (sigil == '/') {
      if (!sections.empty() && sections.back() == tag) sections.pop_back();
      continue;  // a mismatch is a syntax error kainjow reported
    }
    bool known = top_level_names().count(tag) > 0;
    for (const std::string& section : sections) {
      if (const auto* names = section_names(section)) known = known || names->count(tag) > 0;
    }
    if (!known) {
      report("unknown variable '" + std::string(tag) + "'");
    }
    if (sigil == '#' || sigil == '^') {
      if (sections.size() >= template_section_depth_max) {
        report("sections nested deeper than " + std::to_string(template_section_depth_max));
        return;
      }
      sections.emplace_back(tag);
    }
  }
}

std::string digits_of(std::uint64_t value) { return std::to_string(value); }

std::string group_thousands(const std::string& digits, std::string_view separator) {
  std::string result;
  const std::size_t first = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  result.append(digits, 0, first);
  for (std::size_t i = first; i < digits.size(); i += 3) {
    result.append(separator);
    result.append(digits, i, 3);
  }
  return result;
}

std::string single_line(std::string text) {
  for (char& c : text) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return text;
}

mustache::data text_value(const std::string& text) { return mustache::data(text); }

}  // namespace

std::optional<Language> language_from_code(std::string_view code) {
  if (code == "fr") return Language::fr;
  if (code == "en") return Language::en;
  return std::nullopt;
}

std::string_view language_code(Language language) { return language == Language::fr ? "fr" : "en"; }

std::string format_amount(const Money& money, Language language) {
  const bool negative = money.minor_units < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(money.minor_units)
                                           : static_cast<std::uint64_t>(money.minor_units);
  std::string digits = digits_of(magnitude);
  const auto exponent = static_cast<std::size_t>(money.currency.exponent());
  if (digits.size() <= exponent) digits.insert(0, exponent + 1 - digits.size(), '0');
  const std::string whole = digits.substr(0, digits.size() - exponent);
  const std::string fraction = digits.substr(digits.size() - exponent);
  const std::string code(money.currency.code());
  const std::string sign = negative ? "-" : "";
  if (language == Language::fr) {
    std::string number = sign + group_thousands(whole, narrow_no_break_space);
    if (exponent > 0) number += "," + fraction;
    return number + std::string(no_break_space) + code;
  }
  std::string number = sign + group_thousands(whole, ",");
  if (exponent > 0) number += "." + fraction;
  return code + std::string(no_break_space) + number;
}

std::string format_date_for(Date date, Language language) {
  const unsigned d = static_cast<unsigned>(date.day());
  const unsigned m = static_cast<unsigned>(date.month());
  const int y = static_cast<int>(date.year());
  if (language == Language::fr) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%02u/%02u/%04d", d, m, y);
    return buffer;
  }
  static constexpr std::array<std::string_view, 12> months{
      "January", "February", "March",     "April",   "May",      "June",
      "July",    "August",   "September", "October", "November", "December"};
  return std::to_string(d) + " " + std::string(months[m - 1]) + " " + std::to_string(y);
}

namespace {

using TemplateMap = std::map<std::string, std::map<std::string, TemplateSet::Parts>>;

// Reads config/templates/<language>/<name>.<part>.mustache; parsing and checks come after.
std::optional<TemplateMap> read_template_folder(const std::string& directory, Reporter& reporter) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) {
    reporter.add_at_line(0, "", "not a folder of templates");
    return std::nullopt;
  }
  TemplateMap templates;
  std::size_t files = 0;
  for (const auto& language_entry : std::filesystem::directory_iterator(directory, error)) {
    if (!language_entry.is_directory()) continue;
    const std::string language = language_entry.path().filename().string();
    for (const auto& file_entry :
         std::filesystem::directory_iterator(language_entry.path(), error)) {
      if (!file_entry.is_regular_file()) continue;
      const std::string path = file_entry.path().string();
      const std::string file_name = file_entry.path().filename().string();
      if (++files > template_files_max) {
        reporter.add_at_line(0, "", "more than " + std::to_string(template_files_max) + " files");
        return std::nullopt;
      }
      std::size_t part = part_suffixes.size();
      for (std::size_t i = 0; i < part_suffixes.size(); ++i) {
        if (file_name.size() > part_suffixes[i].size() && file_name.ends_with(part_suffixes[i])) {
          part = i;
        }
      }
      if (part == part_suffixes.size()) {
        reporter.add_at_line(0, language + "/" + file_name,
                             "not a template part (<name>.subject.mustache, .text.mustache or "
                             ".html.mustache)");
        continue;
      }
      Reporter file_reporter(path);
      auto text = yaml_support::read_text_file(path, file_reporter);
      if (!text) {
        for (Problem& problem : file_reporter.problems()) reporter.problems().push_back(problem);
        continue;
      }
      const std::string name = file_name.substr(0, file_name.size() - part_suffixes[part].size());
      TemplateSet::Parts& parts = templates[language][name];
      if (part == 0) parts.subject = std::move(*text);
      if (part == 1) parts.text = std::move(*text);
      if (part == 2) parts.html = std::move(*text);
    }
  }
  if (error) reporter.add_at_line(0, "", "cannot list the folder: " + error.message());
  if (!reporter.empty()) return std::nullopt;
  return templates;
}

}  // namespace

std::vector<Problem> TemplateSet::check(const std::string& directory) {
  Reporter reporter(directory);
  auto templates = read_template_folder(directory, reporter);
  if (!templates) return std::move(reporter.problems());
  auto loaded = from_parts(*templates, directory);
  if (loaded) return {};
  // from_parts puts one problem on each line of its error.
  const std::string& message = loaded.error().message;
  std::size_t start = 0;
  while (start < message.size()) {
    const std::size_t end = std::min(message.find('\n', start), message.size());
    reporter.problems().push_back({"", 0, "", message.substr(start, end - start)});
    start = end + 1;
  }
  return std::move(reporter.problems());
}

Result<TemplateSet> TemplateSet::load(const std::string& directory) {
  Reporter reporter(directory);
  auto templates = read_template_folder(directory, reporter);
  if (!templates) return to_error(reporter.problems());
  return from_parts(*templates, directory);
}

Result<TemplateSet> TemplateSet::from_parts(
    const std::map<std::string, std::map<std::string, Parts>>& templates,
    const std::string& origin) {
  std::vector<Problem> problems;
  TemplateSet set;
  for (const auto& [language_name, by_name] : templates) {
    const auto language = language_from_code(language_name);
    if (!language) {
      problems.push_back(
          {origin + "/" + language_name, 0, "",
           "no formatting rules for language '" + language_name + "' (supported: fr, en)"});
      continue;
    }
    for (const auto& [name, parts] : by_name) {
      const std::string base = origin + "/" + language_name + "/" + name;
      if (parts.subject.empty()) {
        problems.push_back({base + ".subject.mustache", 0, "",
                            "missing or empty: every template needs a subject"});
      }
      if (parts.text.empty()) {
        problems.push_back(
            {base + ".text.mustache", 0, "", "missing or empty: every template needs a text part"});
      }
      check_part(parts.subject, PartKind::subject, base + ".subject.mustache", problems);
      check_part(parts.text, PartKind::text, base + ".text.mustache", problems);
      if (parts.html) check_part(*parts.html, PartKind::html, base + ".html.mustache", problems);
      set.templates_[*language][name] = parts;
    }
  }
  if (!problems.empty()) return to_error(problems);
  set.compiled_ = std::make_shared<const Compiled>(set.templates_);
  return set;
}

struct TemplateSet::Compiled {
  struct Entry {
    std::unique_ptr<mustache::mustache> subject;
    std::unique_ptr<mustache::mustache> text;
    std::unique_ptr<mustache::mustache> html;  // null when the template has no HTML part
  };

  explicit Compiled(const std::map<Language, std::map<std::string, Parts, std::less<>>>& sources) {
    const auto verbatim = [](const std::string& text) { return text; };
    const auto parse = [](const std::string& source, const auto& escape) {
      auto parsed = std::make_unique<mustache::mustache>(source);
      parsed->set_custom_escape(escape);
      return parsed;
    };
    for (const auto& [language, by_name] : sources) {
      for (const auto& [name, parts] : by_name) {
        Entry& entry = entries[{language, name}];
        entry.subject = parse(parts.subject, verbatim);
        entry.text = parse(parts.text, verbatim);
        if (parts.html) entry.html = parse(*parts.html, core::escape_html);
      }
    }
  }

  std::map<std::pair<Language, std::string>, Entry, std::less<>> entries;
  // kainjow's render() is not const (it keeps its error state): one render at a time.
  mutable std::mutex mutex;
};

bool TemplateSet::has(std::string_view name) const {
  for (const auto& [language, by_name] : templates_) {
    if (by_name.find(name) != by_name.end()) return true;
  }
  return false;
}

bool TemplateSet::has(std::string_view name, Language language) const {
  const auto it = templates_.find(language);
  return it != templates_.end() && it->second.find(name) != it->second.end();
}

std::vector<Language> TemplateSet::languages() const {
  std::vector<Language> languages;
  for (const auto& [language, by_name] : templates_) {
    if (!by_name.empty()) languages.push_back(language);
  }
  return languages;
}

bool TemplateSet::has_html(std::string_view name) const {
  bool found = false;
  for (const auto& [language, by_name] : templates_) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) continue;
    if (!it->second.html) return false;
    found = true;
  }
  return found;
}

std::vector<std::string> TemplateSet::names() const {
  std::set<std::string> names;
  for (const auto& [language, by_name] : templates_) {
    for (const auto& [name, parts] : by_name) names.insert(name);
  }
  return {names.begin(), names.end()};
}

Result<Language> TemplateSet::choose_language(std::string_view name,
                                              std::string_view customer_language) const {
  std::string primary(customer_language.substr(0, customer_language.find_first_of("-_")));
  std::transform(primary.begin(), primary.end(), primary.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::vector<Language> order;
  if (auto language = language_from_code(primary)) order.push_back(*language);
  order.push_back(Language::en);
  order.push_back(Language::fr);
  for (Language language : order) {
    const auto it = templates_.find(language);
    if (it != templates_.end() && it->second.find(name) != it->second.end()) return language;
  }
  return Error{"template", "no template named '" + std::string(name) + "' in any language"};
}

Result<RenderedMessage> TemplateSet::render(std::string_view name,
                                            const MessageModel& model) const {
  auto language_result = choose_language(name, model.customer_language);
  if (!language_result) return language_result.error();
  const Language language = *language_result;

  const auto amount = [&](const Money& money) { return format_amount(money, language); };
  const auto date = [&](Date value) { return format_date_for(value, language); };

  struct Totals {
    Money open;
    Money credits;
    Money interest;
    bool has_interest = false;
  };
  std::map<Currency, Totals> totals;
  const auto totals_for = [&](Currency currency) -> Totals& {
    auto [it, inserted] = totals.try_emplace(currency);
    if (inserted) {
      it->second.open = Money{0, currency};
      it->second.credits = Money{0, currency};
      it->second.interest = Money{0, currency};
    }
    return it->second;
  };

  mustache::data invoices{mustache::data::type::list};
  int late_invoice_count = 0;
  bool has_interest = false;
  for (const InvoiceLine& invoice : model.invoices) {
    mustache::data line;
    line.set("number", text_value(invoice.number));
    line.set("issue_date", date(invoice.issue_date));
    line.set("due_date", date(invoice.due_date));
    line.set("original", amount(invoice.original));
    line.set("open", amount(invoice.open));
    line.set("days_late", std::to_string(invoice.days_late));
    line.set("is_late", mustache::data(invoice.days_late > 0));
    line.set("has_interest", mustache::data(invoice.interest.has_value()));
    Totals& total = totals_for(invoice.open.currency);
    total.open.minor_units += invoice.open.minor_units;
    if (invoice.interest) {
      if (invoice.interest->currency != invoice.open.currency) {
        return Error{"invoices", "invoice " + invoice.number + ": interest in " +
                                     std::string(invoice.interest->currency.code()) +
                                     " on an amount in " +
                                     std::string(invoice.open.currency.code())};
      }
      line.set("interest", amount(*invoice.interest));
      total.interest.minor_units += invoice.interest->minor_units;
      total.has_interest = true;
      has_interest = true;
    }
    if (invoice.days_late > 0) ++late_invoice_count;
    invoices.push_back(line);
  }
  mustache::data credits{mustache::data::type::list};
  for (const CreditLine& credit : model.credits) {
    mustache::data line;
    line.set("reference", text_value(credit.reference));
    line.set("date", date(credit.date));
    line.set("amount", amount(credit.amount));
    line.set("is_credit_note", mustache::data(credit.kind == CreditLine::Kind::credit_note));
    line.set("is_unapplied_cash", mustache::data(credit.kind == CreditLine::Kind::unapplied_cash));
    totals_for(credit.amount.currency).credits.minor_units += credit.amount.minor_units;
    credits.push_back(line);
  }
  if (model.indemnity) totals_for(model.indemnity->currency);
  mustache::data total_lines{mustache::data::type::list};
  for (const auto& [currency, total] : totals) {
    Money net{total.open.minor_units - total.credits.minor_units, currency};
    Money due = net;
    due.minor_units += total.interest.minor_units;
    if (model.indemnity && model.indemnity->currency == currency) {
      due.minor_units += model.indemnity->minor_units;
    }
    mustache::data line;
    line.set("currency", std::string(currency.code()));
    line.set("open", amount(total.open));
    line.set("credits", amount(total.credits));
    line.set("net", amount(net));
    line.set("has_interest", mustache::data(total.has_interest));
    line.set("interest", amount(total.interest));
    line.set("total", amount(due));
    total_lines.push_back(line);
  }

  mustache::data root;
  root.set("customer_id", text_value(model.customer_id));
  root.set("customer_name", text_value(model.customer_name));
  root.set("as_of", date(model.as_of));
  root.set("payment_reference", text_value(model.payment_reference));
  root.set("company_name", text_value(model.company.name));
  root.set("company_iban", text_value(model.company.iban));
  root.set("company_bic", text_value(model.company.bic));
  root.set("company_email", text_value(model.company.email));
  root.set("has_pay_by", mustache::data(model.pay_by.has_value()));
  root.set("pay_by", model.pay_by ? date(*model.pay_by) : std::string());
  root.set("invoices", invoices);
  root.set("invoice_count", std::to_string(model.invoices.size()));
  root.set("has_credits", mustache::data(!model.credits.empty()));
  root.set("credits", credits);
  root.set("totals", total_lines);
  root.set("has_claim", mustache::data(has_interest || model.indemnity.has_value()));
  root.set("has_indemnity", mustache::data(model.indemnity.has_value()));
  root.set("indemnity", model.indemnity ? amount(*model.indemnity) : std::string());
  root.set("late_invoice_count", std::to_string(late_invoice_count));

  RenderedMessage message;
  message.template_name = std::string(name);
  message.language = language;
  const Compiled::Entry& compiled = compiled_->entries.find({language, std::string(name)})->second;
  try {
    std::lock_guard lock(compiled_->mutex);
    message.subject = single_line(compiled.subject->render(root));
    message.text = compiled.text->render(root);
    if (compiled.html) message.html = compiled.html->render(root);
  } catch (const std::exception& error) {
    return Error{"template", "rendering '" + std::string(name) + "' failed: " + error.what()};
  }
  return message;
}

}  // namespace relance::core::dunning
