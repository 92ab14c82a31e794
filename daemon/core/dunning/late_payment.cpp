#include "core/dunning/late_payment.hpp"

#include <algorithm>
#include <filesystem>

#include "core/dunning/yaml_support.hpp"

namespace relance::core::dunning {

namespace {

using namespace std::chrono;
using yaml_support::Reporter;
using Wide = __int128;  // exact interest numerators: minor units x millionths x days

constexpr std::int64_t millionths_per_unit = 1'000'000;
constexpr std::int64_t percent_millionths = 10'000;  // 1 % = 10'000 millionths
constexpr std::int64_t statutory_margin_millionths = 10 * percent_millionths;  // + 10 points
constexpr int day_count_basis = 365;

std::string date_text(Date date) { return format_date(date); }

std::optional<HalfYear> parse_half_year(std::string_view text) {
  // "2024-H1"
  if (text.size() != 7 || text[4] != '-' || text[5] != 'H') return std::nullopt;
  int year = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    year = year * 10 + (text[i] - '0');
  }
  if (text[6] != '1' && text[6] != '2') return std::nullopt;
  return HalfYear{year, text[6] - '0'};
}

std::optional<LatePaymentRates> parse_rates(const std::string& ecb_text, Reporter& ecb_reporter,
                                            const std::string& legal_text,
                                            Reporter& legal_reporter) {
  std::vector<LatePaymentRates::EcbRate> ecb;
  std::optional<Date> known_until;
  if (auto root = yaml_support::parse_yaml(ecb_text, ecb_reporter)) {
    if (yaml_support::check_map(*root, "", {"source", "known_until", "rates"}, ecb_reporter)) {
      if (const auto node = (*root)["known_until"]) {
        if (auto text = yaml_support::scalar(node, "known_until", ecb_reporter)) {
          auto date = parse_date(*text);
          if (date)
            known_until = *date;
          else
            ecb_reporter.add(node, "known_until", date.error().message);
        }
      } else {
        ecb_reporter.add(*root, "known_until",
                         "missing: the last date up to which the rates below are known complete");
      }
      const auto list = (*root)["rates"];
      if (!list || !list.IsSequence() || list.size() == 0) {
        ecb_reporter.add(list ? list : *root, "rates", "expected a non-empty list of rates");
      } else {
        for (std::size_t i = 0; i < list.size(); ++i) {
          const std::string path = "rates[" + std::to_string(i) + "]";
          if (!yaml_support::check_map(list[i], path, {"effective", "percent"}, ecb_reporter))
            continue;
          const auto effective_node = list[i]["effective"];
          const auto percent_node = list[i]["percent"];
          if (!effective_node || !percent_node) {
            ecb_reporter.add(list[i], path, "each rate needs 'effective' and 'percent'");
            continue;
          }
          auto effective_text =
              yaml_support::scalar(effective_node, path + ".effective", ecb_reporter);
          auto percent_text = yaml_support::scalar(percent_node, path + ".percent", ecb_reporter);
          if (!effective_text || !percent_text) continue;
          auto effective = parse_date(*effective_text);
          auto percent = parse_percent(*percent_text);
          if (!effective)
            ecb_reporter.add(effective_node, path + ".effective", effective.error().message);
          if (!percent) ecb_reporter.add(percent_node, path + ".percent", percent.error().message);
          if (!effective || !percent) continue;
          if (!ecb.empty() && to_sys_days(*effective) <= to_sys_days(ecb.back().effective)) {
            ecb_reporter.add(effective_node, path + ".effective",
                             "rates must be listed by increasing effective date");
            continue;
          }
          ecb.push_back({*effective, *percent});
        }
      }
    }
  }
  std::map<HalfYear, AnnualRate> legal;
  if (auto root = yaml_support::parse_yaml(legal_text, legal_reporter)) {
    if (yaml_support::check_map(*root, "", {"source", "rates"}, legal_reporter)) {
      const auto list = (*root)["rates"];
      if (!list || !list.IsSequence() || list.size() == 0) {
        legal_reporter.add(list ? list : *root, "rates", "expected a non-empty list of rates");
      } else {
        for (std::size_t i = 0; i < list.size(); ++i) {
          const std::string path = "rates[" + std::to_string(i) + "]";
          if (!yaml_support::check_map(list[i], path, {"half_year", "percent"}, legal_reporter))
            continue;
          const auto half_node = list[i]["half_year"];
          const auto percent_node = list[i]["percent"];
          if (!half_node || !percent_node) {
            legal_reporter.add(list[i], path, "each rate needs 'half_year' and 'percent'");
            continue;
          }
          auto half_text = yaml_support::scalar(half_node, path + ".half_year", legal_reporter);
          auto percent_text = yaml_support::scalar(percent_node, path + ".percent", legal_reporter);
          if (!half_text || !percent_text) continue;
          auto half = parse_half_year(*half_text);
          auto percent = parse_percent(*percent_text);
          if (!half)
            legal_reporter.add(half_node, path + ".half_year",
                               "'" + *half_text + "' is not a half-year like 2024-H2");
          if (!percent)
            legal_reporter.add(percent_node, path + ".percent", percent.error().message);
          if (!half || !percent) continue;
          if (!legal.emplace(*half, *percent).second) {
            legal_reporter.add(half_node, path + ".half_year",
                               half->to_string() + " is listed twice");
          }
        }
      }
    }
  }
  if (!ecb_reporter.empty() || !legal_reporter.empty()) return std::nullopt;
  if (to_sys_days(*known_until) < to_sys_days(ecb.back().effective)) {
    ecb_reporter.add_at_line(0, "known_until", "is before the last effective date");
    return std::nullopt;
  }
  return LatePaymentRates(std::move(ecb), *known_until, std::move(legal), ecb_reporter.file(),
                          legal_reporter.file());
}

Wide round_half_up(Wide numerator, Wide denominator) {
  RELANCE_ASSERT(numerator >= 0 && denominator > 0);
  return (numerator * 2 + denominator) / (denominator * 2);
}

}  // namespace

Result<AnnualRate> parse_percent(std::string_view text) {
  const auto bad = [&] {
    return Error{"",
                 "'" + std::string(text) + "' is not a percentage like 4.25 (at most 4 decimals)"};
  };
  if (text.empty() || text.size() > 12) return bad();
  std::int64_t whole = 0;
  std::int64_t fraction = 0;
  int decimals = 0;
  bool in_fraction = false;
  bool any_digit = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.' && !in_fraction && any_digit && i + 1 < text.size()) {
      in_fraction = true;
      continue;
    }
    if (c < '0' || c > '9') return bad();
    any_digit = true;
    if (in_fraction) {
      if (++decimals > 4) return bad();
      fraction = fraction * 10 + (c - '0');
    } else {
      whole = whole * 10 + (c - '0');
    }
  }
  for (int i = decimals; i < 4; ++i) fraction *= 10;
  const std::int64_t millionths = whole * percent_millionths + fraction;
  if (millionths > 100 * percent_millionths) {
    return Error{"", "'" + std::string(text) + "' is above 100 %"};
  }
  return AnnualRate{millionths};
}

std::string format_percent(AnnualRate rate) {
  const std::int64_t whole = rate.millionths / percent_millionths;
  std::string fraction = std::to_string(rate.millionths % percent_millionths);
  fraction.insert(0, 4 - fraction.size(), '0');
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  return std::to_string(whole) + "." + fraction;
}

HalfYear HalfYear::of(Date date) {
  return {static_cast<int>(date.year()), static_cast<unsigned>(date.month()) <= 6 ? 1 : 2};
}

Date HalfYear::first_day() const {
  return year_month_day{std::chrono::year{year}, month{half == 1 ? 1u : 7u}, day{1}};
}

Date HalfYear::last_day() const {
  return year_month_day{std::chrono::year{year}, month{half == 1 ? 6u : 12u},
                        day{half == 1 ? 30u : 31u}};
}

std::string HalfYear::to_string() const {
  return std::to_string(year) + "-H" + std::to_string(half);
}

LatePaymentRates::LatePaymentRates(std::vector<EcbRate> ecb, Date ecb_known_until,
                                   std::map<HalfYear, AnnualRate> legal, std::string ecb_file,
                                   std::string legal_file)
    : ecb_(std::move(ecb)),
      ecb_known_until_(ecb_known_until),
      legal_(std::move(legal)),
      ecb_file_(ecb_file.empty() ? "the ECB rates" : std::move(ecb_file)),
      legal_file_(legal_file.empty() ? "the legal rates" : std::move(legal_file)) {
  RELANCE_ASSERT(std::is_sorted(ecb_.begin(), ecb_.end(), [](const EcbRate& a, const EcbRate& b) {
    return to_sys_days(a.effective) < to_sys_days(b.effective);
  }));
}

Result<AnnualRate> LatePaymentRates::ecb_rate_on(Date date) const {
  if (to_sys_days(date) > to_sys_days(ecb_known_until_)) {
    return Error{"rates.ecb", "the ECB main refinancing rate in force on " + date_text(date) +
                                  " is not known: " + ecb_file_ + " is complete up to " +
                                  date_text(ecb_known_until_) +
                                  "; add any later rate change and move known_until"};
  }
  const EcbRate* found = nullptr;
  for (const EcbRate& rate : ecb_) {
    if (to_sys_days(rate.effective) <= to_sys_days(date)) found = &rate;
  }
  if (found == nullptr) {
    return Error{"rates.ecb", "the ECB main refinancing rate in force on " + date_text(date) +
                                  " is not known: " + ecb_file_ + " starts on " +
                                  date_text(ecb_.front().effective)};
  }
  return found->rate;
}

Result<AnnualRate> LatePaymentRates::statutory_rate(HalfYear half_year) const {
  auto ecb = ecb_rate_on(half_year.first_day());
  if (!ecb) {
    // Name the half-year: that is what the operator has to fill in (L441-10: its first day).
    return Error{ecb.error().field,
                 "the late-payment rate of " + half_year.to_string() + ": " + ecb.error().message};
  }
  return AnnualRate{ecb->millionths + statutory_margin_millionths};
}

Result<AnnualRate> LatePaymentRates::legal_rate(HalfYear half_year) const {
  const auto it = legal_.find(half_year);
  if (it == legal_.end()) {
    return Error{"rates.legal", "the taux de l'intérêt légal (professional creditors) for " +
                                    half_year.to_string() + " is not in " + legal_file_ +
                                    "; add the rate published in the Journal officiel"};
  }
  return it->second;
}

Result<LatePaymentRates> load_late_payment_rates_text(const std::string& ecb_yaml,
                                                      const std::string& ecb_file,
                                                      const std::string& legal_yaml,
                                                      const std::string& legal_file) {
  Reporter ecb_reporter(ecb_file);
  Reporter legal_reporter(legal_file);
  try {
    if (auto rates = parse_rates(ecb_yaml, ecb_reporter, legal_yaml, legal_reporter)) {
      return std::move(*rates);
    }
  } catch (const std::exception& error) {
    ecb_reporter.add_at_line(0, "", std::string("cannot read the rates: ") + error.what());
  }
  auto problems = std::move(ecb_reporter.problems());
  for (Problem& problem : legal_reporter.problems()) problems.push_back(std::move(problem));
  return to_error(problems);
}

Result<LatePaymentRates> load_late_payment_rates(const std::string& rates_directory) {
  const std::string ecb_path =
      (std::filesystem::path(rates_directory) / "ecb_main_refinancing.yaml").string();
  const std::string legal_path =
      (std::filesystem::path(rates_directory) / "taux_legal_professionnels.yaml").string();
  Reporter ecb_reporter(ecb_path);
  Reporter legal_reporter(legal_path);
  auto ecb_text = yaml_support::read_text_file(ecb_path, ecb_reporter);
  auto legal_text = yaml_support::read_text_file(legal_path, legal_reporter);
  if (!ecb_text || !legal_text) {
    auto problems = std::move(ecb_reporter.problems());
    for (Problem& problem : legal_reporter.problems()) problems.push_back(std::move(problem));
    return to_error(problems);
  }
  return load_late_payment_rates_text(*ecb_text, ecb_path, *legal_text, legal_path);
}

Result<LateInterest> late_interest(const LateInterestRequest& request,
                                   const LatePaymentRates& rates) {
  const Currency currency = request.amount.currency;
  if (request.amount.minor_units < 0) return Error{"amount", "must not be negative"};
  for (const PartialPayment& payment : request.payments) {
    if (payment.amount.currency != currency) {
      return Error{"payments", "a payment in " + std::string(payment.amount.currency.code()) +
                                   " cannot reduce an amount in " + std::string(currency.code())};
    }
    if (payment.amount.minor_units < 0) return Error{"payments", "amounts must not be negative"};
  }
  if (request.payments.size() > payments_max) {
    return Error{"payments", "more than " + std::to_string(payments_max) + " partial payments"};
  }
  const int days_late = std::max(0, days_between(request.due_date, request.until));
  if (days_late > late_days_max) {
    return Error{"until", std::to_string(days_late) + " days late; at most " +
                              std::to_string(late_days_max) + " are computed"};
  }
  LateInterest result{Money{0, currency}, days_late, {}};
  Wide numerator = 0;  // minor units x millionths x days
  std::optional<HalfYear> cached_half;
  AnnualRate day_rate;
  for (int offset = 1; offset <= days_late; ++offset) {
    const Date day = add_days(request.due_date, offset);
    const HalfYear half = HalfYear::of(day);
    if (!cached_half || *cached_half != half) {
      auto statutory = rates.statutory_rate(half);
      if (!statutory) return statutory.error();
      day_rate = *statutory;
      if (request.contract_rate) {
        auto legal = rates.legal_rate(half);
        if (!legal) return legal.error();
        day_rate = std::max(*request.contract_rate, AnnualRate{3 * legal->millionths});
      }
      cached_half = half;
    }
    // What is paid on a day no longer bears interest from the next day.
    std::int64_t outstanding = request.amount.minor_units;
    for (const PartialPayment& payment : request.payments) {
      if (to_sys_days(payment.date) < to_sys_days(day)) outstanding -= payment.amount.minor_units;
    }
    outstanding = std::max<std::int64_t>(outstanding, 0);
    numerator += Wide(outstanding) * day_rate.millionths;
    auto& periods = result.periods;
    if (!periods.empty() && periods.back().rate == day_rate &&
        periods.back().outstanding_minor == outstanding) {
      periods.back().last_day = day;
      ++periods.back().days;
    } else {
      periods.push_back({day, day, 1, day_rate, outstanding});
    }
  }
  const Wide interest = round_half_up(numerator, Wide(millionths_per_unit) * day_count_basis);
  if (interest > Wide(INT64_MAX)) return Error{"amount", "the interest does not fit in an amount"};
  result.interest.minor_units = static_cast<std::int64_t>(interest);
  return result;
}

Money recovery_indemnity_per_invoice() { return parse_money("40.00", "EUR").value(); }

Money recovery_indemnity(int late_invoice_count) {
  RELANCE_ASSERT(late_invoice_count >= 0);
  Money total = recovery_indemnity_per_invoice();
  total.minor_units *= late_invoice_count;
  return total;
}

PaymentTermsCheck check_payment_terms(Date issue_date, Date due_date) {
  PaymentTermsCheck check;
  check.days_after_issue = days_between(issue_date, due_date);
  check.cap_60_days = add_days(issue_date, 60);
  const Date plus_45 = add_days(issue_date, 45);
  check.cap_45_days_end_of_month = plus_45.year() / plus_45.month() / last;
  const auto latest =
      std::max(to_sys_days(check.cap_60_days), to_sys_days(check.cap_45_days_end_of_month));
  if (to_sys_days(due_date) <= latest) return check;
  check.verdict = TermsVerdict::beyond_caps;
  check.alert = "invoice issued on " + date_text(issue_date) + " is due on " + date_text(due_date) +
                ", " + std::to_string(check.days_after_issue) +
                " days later: beyond the payment-terms caps of Code de commerce L441-10 I "
                "(60 days from the invoice date: " +
                date_text(check.cap_60_days) +
                "; 45 days end of month: " + date_text(check.cap_45_days_end_of_month) + ")";
  return check;
}

}  // namespace relance::core::dunning
