#pragma once
// French late-payment law between professionals (Code de commerce L441-10, D441-5): late
// interest, the fixed recovery indemnity, and the cap on payment terms. Rates are data
// (config/rates/), loaded by an explicit function; a rate missing for a needed date is an error.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/date.hpp"
#include "core/money.hpp"
#include "core/result.hpp"

namespace relance::core::dunning {

// A yearly rate as an exact fraction in millionths: 4.25 % is 42'500, 12.15 % is 121'500.
struct AnnualRate {
  std::int64_t millionths = 0;
  auto operator<=>(const AnnualRate&) const = default;
};

// "4.25" (percent, at most 4 decimals) -> 42'500 millionths.
Result<AnnualRate> parse_percent(std::string_view text);
// 42'500 -> "4.25" (at least 2 decimals, trailing zeros beyond them dropped).
std::string format_percent(AnnualRate rate);

// A half-year: 2024-H1 is January-June 2024.
struct HalfYear {
  int year = 0;
  int half = 1;  // 1 or 2
  static HalfYear of(Date date);
  Date first_day() const;
  Date last_day() const;
  std::string to_string() const;  // "2024-H2"
  auto operator<=>(const HalfYear&) const = default;
};

class LatePaymentRates {
 public:
  struct EcbRate {
    Date effective;
    AnnualRate rate;
  };
  LatePaymentRates(std::vector<EcbRate> ecb, Date ecb_known_until,
                   std::map<HalfYear, AnnualRate> legal, std::string ecb_file = {},
                   std::string legal_file = {});

  // The ECB main refinancing operations rate in force on `date`.
  Result<AnnualRate> ecb_rate_on(Date date) const;
  // The statutory late-payment rate for days of this half-year: the ECB rate in force on its
  // first day (1 January or 1 July) plus 10 percentage points.
  Result<AnnualRate> statutory_rate(HalfYear half_year) const;
  // The "taux de l'intérêt légal" for creditors who are not private persons, for a half-year.
  Result<AnnualRate> legal_rate(HalfYear half_year) const;

 private:
  std::vector<EcbRate> ecb_;  // by effective date
  Date ecb_known_until_;
  std::map<HalfYear, AnnualRate> legal_;
  std::string ecb_file_;
  std::string legal_file_;
};

// config/rates/ecb_main_refinancing.yaml and config/rates/taux_legal_professionnels.yaml:
//   ecb:   {known_until: 2025-10-30, rates: [{effective: 2024-06-12, percent: "4.25"}, ...]}
//   legal: {rates: [{half_year: 2024-H2, percent: "4.92"}, ...]}
Result<LatePaymentRates> load_late_payment_rates_text(const std::string& ecb_yaml,
                                                      const std::string& ecb_file,
                                                      const std::string& legal_yaml,
                                                      const std::string& legal_file);
// Reads both files from a folder (config/rates).
Result<LatePaymentRates> load_late_payment_rates(const std::string& rates_directory);

struct PartialPayment {
  Date date;
  Money amount;
};

struct LateInterestRequest {
  Money amount;  // outstanding on the due date
  Date due_date;
  Date until;  // payment date, or the evaluation date while unpaid (inclusive)
  // Payments after the due date: an amount paid on day P stops bearing interest after P.
  std::vector<PartialPayment> payments;
  // A contractual rate, floored at three times the legal rate of each half-year. Absent: the
  // statutory rate (ECB + 10 points).
  std::optional<AnnualRate> contract_rate;
};

// A run of late days with the same rate and the same outstanding amount.
struct LateInterestPeriod {
  Date first_day;
  Date last_day;
  int days = 0;
  AnnualRate rate;
  std::int64_t outstanding_minor = 0;
};

struct LateInterest {
  Money interest;  // rounded half-up to the minor unit, once, at the end
  int days_late = 0;
  std::vector<LateInterestPeriod> periods;
};

// The late interest of one invoice: each day from the day after the due date to `until`
// (inclusive) bears outstanding x rate of that day's half-year / 365 (actual/365 in every year,
// leap years included, as the French statutory computations are usually presented). The sum is
// kept exact (an integer numerator over 365 x 10^6) and rounded half-up once. Errors: a rate
// missing for a needed half-year, a currency mismatch, more than late_days_max days.
inline constexpr int late_days_max = 36600;
inline constexpr std::size_t payments_max = 1000;
Result<LateInterest> late_interest(const LateInterestRequest& request,
                                   const LatePaymentRates& rates);

// D441-5: EUR 40 per invoice paid late, owed whatever the invoice's currency.
Money recovery_indemnity_per_invoice();
Money recovery_indemnity(int late_invoice_count);

// L441-10 I: payment terms may not exceed 60 days from the invoice date or, when agreed, 45 days
// end of month. "45 days end of month" is read as the DGCCRF's first method: add 45 days to the
// invoice date, then go to the end of that month (10 January -> 24 February -> 28 February).
// The other reading (end of the invoice month, then 45 days) gives later dates and is not
// applied: a due date between the two is flagged.
enum class TermsVerdict { within_caps, beyond_caps };
struct PaymentTermsCheck {
  TermsVerdict verdict = TermsVerdict::within_caps;
  int days_after_issue = 0;
  Date cap_60_days;
  Date cap_45_days_end_of_month;
  std::string alert;  // empty when within caps
};
PaymentTermsCheck check_payment_terms(Date issue_date, Date due_date);

}  // namespace relance::core::dunning
