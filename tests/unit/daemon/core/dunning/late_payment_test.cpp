#include "core/dunning/late_payment.hpp"

#include <gtest/gtest.h>

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

Date d(int y, unsigned m, unsigned day) { return year{y} / month{m} / std::chrono::day{day}; }
Money eur(const char* amount) { return parse_money(amount, "EUR").value(); }
AnnualRate percent(const char* text) { return parse_percent(text).value(); }

// The table shipped in config/rates (real ECB and Journal officiel values).
const LatePaymentRates& shipped_rates() {
  static const LatePaymentRates rates = [] {
    auto loaded = load_late_payment_rates(std::string(RELANCE_SOURCE_DIR) + "/config/rates");
    EXPECT_TRUE(loaded.ok()) << loaded.error().to_string();
    return std::move(loaded).value();
  }();
  return rates;
}

TEST(Percent, parses_exactly_and_formats_back) {
  EXPECT_EQ(percent("4.25").millionths, 42'500);
  EXPECT_EQ(percent("12.15").millionths, 121'500);
  EXPECT_EQ(percent("0").millionths, 0);
  EXPECT_EQ(percent("1.2345").millionths, 12'345);
  EXPECT_EQ(format_percent(percent("4.25")), "4.25");
  EXPECT_EQ(format_percent(percent("3.6")), "3.60");
  EXPECT_EQ(format_percent(percent("1.2345")), "1.2345");
  EXPECT_EQ(format_percent(percent("14.50")), "14.50");
  for (const char* bad : {"", "4,25", "4.", ".5", "1.23456", "-1", "4.25%", "1e2", "abc"}) {
    EXPECT_FALSE(parse_percent(bad).ok()) << bad;
  }
  EXPECT_FALSE(parse_percent("100.01").ok());
  EXPECT_TRUE(parse_percent("100").ok());
}

TEST(HalfYear, of_a_date_and_its_bounds) {
  EXPECT_EQ(HalfYear::of(d(2024, 6, 30)), (HalfYear{2024, 1}));
  EXPECT_EQ(HalfYear::of(d(2024, 7, 1)), (HalfYear{2024, 2}));
  EXPECT_EQ((HalfYear{2024, 2}).first_day(), d(2024, 7, 1));
  EXPECT_EQ((HalfYear{2024, 1}).last_day(), d(2024, 6, 30));
  EXPECT_EQ((HalfYear{2024, 2}).to_string(), "2024-H2");
}

TEST(ShippedRates, give_the_published_statutory_rates) {
  const LatePaymentRates& rates = shipped_rates();
  // 0.00 % until 26 July 2022, 0.50 % from 27 July 2022.
  EXPECT_EQ(rates.ecb_rate_on(d(2022, 7, 26)).value(), percent("0.00"));
  EXPECT_EQ(rates.ecb_rate_on(d(2022, 7, 27)).value(), percent("0.50"));
  // The rates the French administration published for each half-year (ECB + 10 points); the
  // first hike took effect on 27 July 2022, after 1 July, so 2022-H2 is still 10 %.
  const std::pair<HalfYear, const char*> published[] = {
      {{2022, 1}, "10.00"}, {{2022, 2}, "10.00"}, {{2023, 1}, "12.50"},
      {{2023, 2}, "14.00"}, {{2024, 1}, "14.50"}, {{2024, 2}, "14.25"},
      {{2025, 1}, "13.15"}, {{2025, 2}, "12.15"}, {{2026, 1}, "12.15"}};
  for (const auto& [half, rate] : published) {
    auto statutory = rates.statutory_rate(half);
    ASSERT_TRUE(statutory.ok()) << half.to_string() << ": " << statutory.error().to_string();
    EXPECT_EQ(format_percent(*statutory), rate) << half.to_string();
  }
  EXPECT_EQ(rates.legal_rate({2024, 1}).value(), percent("5.07"));
  EXPECT_EQ(rates.legal_rate({2024, 2}).value(), percent("4.92"));
  // Arrêté du 15 décembre 2025 (JORF du 26 décembre 2025), "tous les autres cas".
  EXPECT_EQ(rates.legal_rate({2026, 1}).value(), percent("2.62"));
}

TEST(ShippedRates, a_day_past_the_known_table_is_an_error_not_the_last_rate) {
  auto later = shipped_rates().ecb_rate_on(d(2030, 1, 1));
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.error().field, "rates.ecb");
  EXPECT_NE(later.error().message.find("ecb_main_refinancing.yaml"), std::string::npos);
  EXPECT_NE(later.error().message.find("known_until"), std::string::npos);
  auto earlier = shipped_rates().ecb_rate_on(d(2010, 1, 1));
  ASSERT_FALSE(earlier.ok());
  EXPECT_NE(earlier.error().message.find("starts on 2016-03-16"), std::string::npos);
  // Through the statutory rate (what a formal notice asks for), the half-year is named.
  auto statutory = shipped_rates().statutory_rate({2030, 2});
  ASSERT_FALSE(statutory.ok());
  EXPECT_EQ(statutory.error().field, "rates.ecb");
  EXPECT_NE(statutory.error().message.find("2030-H2"), std::string::npos)
      << statutory.error().message;
  auto legal = shipped_rates().legal_rate({2030, 1});
  ASSERT_FALSE(legal.ok());
  EXPECT_NE(legal.error().message.find("2030-H1"), std::string::npos);
}

// The named case of the issue: 1,000.00 EUR paid 45 days late across 1 July 2024.
TEST(LateInterest, statutory_rate_changes_with_the_half_year) {
  LateInterestRequest request;
  request.amount = eur("1000.00");
  request.due_date = d(2024, 6, 15);
  request.until = d(2024, 7, 30);  // paid 45 days late
  auto interest = late_interest(request, shipped_rates());
  ASSERT_TRUE(interest.ok()) << interest.error().to_string();
  EXPECT_EQ(interest->days_late, 45);
  // 16-30 June: 15 days at 4.50 % (ECB on 1 January 2024) + 10 = 14.50 %;
  // 1-30 July: 30 days at 4.25 % (ECB on 1 July 2024) + 10 = 14.25 %.
  ASSERT_EQ(interest->periods.size(), 2u);
  EXPECT_EQ(interest->periods[0].first_day, d(2024, 6, 16));
  EXPECT_EQ(interest->periods[0].last_day, d(2024, 6, 30));
  EXPECT_EQ(interest->periods[0].days, 15);
  EXPECT_EQ(interest->periods[0].rate, percent("14.50"));
  EXPECT_EQ(interest->periods[1].first_day, d(2024, 7, 1));
  EXPECT_EQ(interest->periods[1].days, 30);
  EXPECT_EQ(interest->periods[1].rate, percent("14.25"));
  EXPECT_EQ(interest->periods[1].outstanding_minor, 100'000);
  // 1000 x (0.145 x 15 + 0.1425 x 30) / 365 = 6450 / 365 = 17.6712... -> 17.67 EUR.
  EXPECT_EQ(interest->interest, eur("17.67"));
}

TEST(LateInterest, uses_the_rate_of_1_january_even_when_the_ecb_changed_it_since) {
  // The ECB cut to 4.25 % on 12 June 2024, but days of June stay at the January rate.
  LateInterestRequest request{eur("1000.00"), d(2024, 6, 12), d(2024, 6, 22), {}, {}};
  auto interest = late_interest(request, shipped_rates());
  ASSERT_TRUE(interest.ok());
  ASSERT_EQ(interest->periods.size(), 1u);
  EXPECT_EQ(interest->periods[0].rate, percent("14.50"));
  // 1000 x 0.145 x 10 / 365 = 3.9726 -> 3.97
  EXPECT_EQ(interest->interest, eur("3.97"));
}

TEST(LateInterest, contract_rate_is_floored_at_three_times_the_legal_rate) {
  LateInterestRequest request{eur("1000.00"), d(2024, 6, 15), d(2024, 7, 30), {}, percent("10")};
  auto floored = late_interest(request, shipped_rates());
  ASSERT_TRUE(floored.ok()) << floored.error().to_string();
  // 10 % is below the floor in both halves: 3 x 5.07 = 15.21 %, then 3 x 4.92 = 14.76 %.
  ASSERT_EQ(floored->periods.size(), 2u);
  EXPECT_EQ(floored->periods[0].rate, percent("15.21"));
  EXPECT_EQ(floored->periods[1].rate, percent("14.76"));
  // 1000 x (0.1521 x 15 + 0.1476 x 30) / 365 = 6.7095 / 365 = 18.382 -> 18.38
  EXPECT_EQ(floored->interest, eur("18.38"));

  // 20 % is above the floor: it applies as agreed, the same in both halves (one period).
  request.contract_rate = percent("20");
  auto agreed = late_interest(request, shipped_rates());
  ASSERT_TRUE(agreed.ok());
  ASSERT_EQ(agreed->periods.size(), 1u);
  EXPECT_EQ(agreed->periods[0].rate, percent("20"));
  // 1000 x 0.20 x 45 / 365 = 24.6575 -> 24.66
  EXPECT_EQ(agreed->interest, eur("24.66"));
}

TEST(LateInterest, a_contract_rate_needs_the_legal_rate_of_each_half_year) {
  // The ECB rate is known for both halves, the legal rate for the first only.
  auto rates = load_late_payment_rates_text(
      "known_until: 2026-12-31\nrates: [{effective: 2025-06-11, percent: \"2.15\"}]\n", "ecb.yaml",
      "rates: [{half_year: 2025-H2, percent: \"2.76\"}]\n", "legal.yaml");
  ASSERT_TRUE(rates.ok()) << rates.error().to_string();
  LateInterestRequest request{eur("1000.00"), d(2025, 12, 20), d(2026, 1, 10), {}, percent("20")};
  auto interest = late_interest(request, *rates);
  ASSERT_FALSE(interest.ok());
  EXPECT_EQ(interest.error().field, "rates.legal");
  EXPECT_NE(interest.error().message.find("2026-H1"), std::string::npos);
  EXPECT_NE(interest.error().message.find("legal.yaml"), std::string::npos);
  // Without a contract rate the statutory rate alone applies: no legal rate needed.
  request.contract_rate.reset();
  EXPECT_TRUE(late_interest(request, *rates).ok());
}

TEST(LateInterest, partial_payments_stop_bearing_interest_the_day_after_they_are_paid) {
  LateInterestRequest request;
  request.amount = eur("1000.00");
  request.due_date = d(2024, 3, 1);
  request.until = d(2024, 3, 31);
  request.payments = {{d(2024, 3, 10), eur("400.00")}};
  auto interest = late_interest(request, shipped_rates());
  ASSERT_TRUE(interest.ok());
  ASSERT_EQ(interest->periods.size(), 2u);
  // 2-10 March (9 days) on 1000.00, 11-31 March (21 days) on 600.00, all at 14.50 %.
  EXPECT_EQ(interest->periods[0].days, 9);
  EXPECT_EQ(interest->periods[0].outstanding_minor, 100'000);
  EXPECT_EQ(interest->periods[1].days, 21);
  EXPECT_EQ(interest->periods[1].outstanding_minor, 60'000);
  // (1000 x 9 + 600 x 21) x 0.145 / 365 = 21600 x 0.145 / 365 = 8.5808 -> 8.58
  EXPECT_EQ(interest->interest, eur("8.58"));

  // Paid more than owed: nothing bears interest afterwards, and never a negative amount.
  request.payments = {{d(2024, 3, 5), eur("1200.00")}};
  auto overpaid = late_interest(request, shipped_rates());
  ASSERT_TRUE(overpaid.ok());
  EXPECT_EQ(overpaid->periods.back().outstanding_minor, 0);
  // 2-5 March: 1000 x 0.145 x 4 / 365 = 1.589 -> 1.59
  EXPECT_EQ(overpaid->interest, eur("1.59"));
}

TEST(LateInterest, the_sum_is_exact_and_rounded_half_up_once) {
  // Custom table: 0 % ECB, so 10 % statutory. 1.00 EUR x 10 % x 1 / 365 per day is 0.0274
  // cents; rounding each day would give 0, the exact sum over 365 days gives 10 cents.
  auto rates = load_late_payment_rates_text(
      "known_until: 2030-12-31\nrates: [{effective: 2000-01-01, percent: \"0\"}]\n", "ecb.yaml",
      "rates: [{half_year: 2024-H1, percent: \"1\"}]\n", "legal.yaml");
  ASSERT_TRUE(rates.ok()) << rates.error().to_string();
  LateInterestRequest year_late{eur("1.00"), d(2025, 1, 1), d(2026, 1, 1), {}, {}};
  EXPECT_EQ(late_interest(year_late, *rates).value().interest, eur("0.10"));
  // Half a cent rounds up: 18.25 EUR x 10 % x 1 day / 365 = 0.005 EUR exactly -> 0.01.
  LateInterestRequest half_cent{eur("18.25"), d(2025, 1, 1), d(2025, 1, 2), {}, {}};
  EXPECT_EQ(late_interest(half_cent, *rates).value().interest, eur("0.01"));
  LateInterestRequest below_half{eur("18.24"), d(2025, 1, 1), d(2025, 1, 2), {}, {}};
  EXPECT_EQ(late_interest(below_half, *rates).value().interest, eur("0.00"));
  // A leap year has 366 days of interest, each a 365th of the yearly rate.
  LateInterestRequest leap{eur("365.00"), d(2023, 12, 31), d(2024, 12, 31), {}, {}};
  auto leap_interest = late_interest(leap, *rates);
  ASSERT_TRUE(leap_interest.ok());
  EXPECT_EQ(leap_interest->days_late, 366);
  EXPECT_EQ(leap_interest->interest, eur("36.60"));
}

TEST(LateInterest, nothing_is_owed_on_or_before_the_due_date) {
  LateInterestRequest on_time{eur("1000.00"), d(2024, 6, 15), d(2024, 6, 15), {}, {}};
  auto none = late_interest(on_time, shipped_rates());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->days_late, 0);
  EXPECT_EQ(none->interest, eur("0.00"));
  EXPECT_TRUE(none->periods.empty());
  LateInterestRequest early{eur("1000.00"), d(2024, 6, 15), d(2024, 6, 1), {}, {}};
  EXPECT_EQ(late_interest(early, shipped_rates()).value().days_late, 0);
}

TEST(LateInterest, refuses_mixed_currencies_negative_amounts_and_unknown_rates) {
  LateInterestRequest request{eur("1000.00"), d(2024, 6, 15), d(2024, 7, 30), {}, {}};
  request.payments = {{d(2024, 7, 1), parse_money("10.00", "USD").value()}};
  auto mixed = late_interest(request, shipped_rates());
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().field, "payments");
  EXPECT_NE(mixed.error().message.find("USD"), std::string::npos);

  LateInterestRequest negative{
      Money{-1, eur("0").currency}, d(2024, 6, 15), d(2024, 7, 30), {}, {}};
  EXPECT_EQ(late_interest(negative, shipped_rates()).error().field, "amount");

  LateInterestRequest future{eur("1000.00"), d(2029, 12, 1), d(2030, 1, 10), {}, {}};
  auto unknown = late_interest(future, shipped_rates());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().field, "rates.ecb");
}

TEST(RecoveryIndemnity, is_40_euros_per_late_invoice) {
  EXPECT_EQ(recovery_indemnity_per_invoice(), eur("40.00"));
  EXPECT_EQ(recovery_indemnity(1), eur("40.00"));
  EXPECT_EQ(recovery_indemnity(3), eur("120.00"));
  EXPECT_EQ(recovery_indemnity(0), eur("0.00"));
}

TEST(PaymentTerms, sixty_days_from_the_invoice_is_the_cap) {
  // 10 January 2026: 60 days is 11 March; 45 days end of month is 24 February -> 28 February.
  const PaymentTermsCheck within = check_payment_terms(d(2026, 1, 10), d(2026, 3, 11));
  EXPECT_EQ(within.verdict, TermsVerdict::within_caps);
  EXPECT_EQ(within.days_after_issue, 60);
  EXPECT_EQ(within.cap_60_days, d(2026, 3, 11));
  EXPECT_EQ(within.cap_45_days_end_of_month, d(2026, 2, 28));
  EXPECT_TRUE(within.alert.empty());

  const PaymentTermsCheck beyond = check_payment_terms(d(2026, 1, 10), d(2026, 3, 12));
  EXPECT_EQ(beyond.verdict, TermsVerdict::beyond_caps);
  EXPECT_EQ(beyond.days_after_issue, 61);
  EXPECT_NE(beyond.alert.find("L441-10"), std::string::npos) << beyond.alert;
  EXPECT_NE(beyond.alert.find("2026-03-11"), std::string::npos) << beyond.alert;
  EXPECT_NE(beyond.alert.find("2026-02-28"), std::string::npos) << beyond.alert;
}

TEST(PaymentTerms, forty_five_days_end_of_month_can_go_beyond_sixty_days) {
  // 20 January 2026: 45 days is 6 March -> end of month 31 March, later than 60 days (21 March).
  EXPECT_EQ(check_payment_terms(d(2026, 1, 20), d(2026, 3, 31)).verdict, TermsVerdict::within_caps);
  const PaymentTermsCheck beyond = check_payment_terms(d(2026, 1, 20), d(2026, 4, 1));
  EXPECT_EQ(beyond.verdict, TermsVerdict::beyond_caps);
  EXPECT_EQ(beyond.cap_45_days_end_of_month, d(2026, 3, 31));
  // The other reading (end of January, then 45 days: 17 March) is never later than this one.
  EXPECT_EQ(check_payment_terms(d(2026, 1, 20), d(2026, 3, 17)).verdict, TermsVerdict::within_caps);
  // Cash terms and a due date before the invoice date are within the caps.
  EXPECT_EQ(check_payment_terms(d(2026, 1, 20), d(2026, 1, 20)).verdict, TermsVerdict::within_caps);
}

TEST(RatesFiles, problems_name_the_file_and_the_line) {
  const std::string ecb =
      "known_until: 2026-01-01\n"
      "rates:\n"
      "  - {effective: 2024-06-12, percent: \"4.25\"}\n"
      "  - {effective: 2023-09-20, percent: \"4.50\"}\n"
      "  - {effective: 2024-13-01, percent: \"4,0\"}\n";
  const std::string legal =
      "rates:\n"
      "  - {half_year: 2024-H1, percent: \"5.07\"}\n"
      "  - {half_year: 2024-H1, percent: \"5.07\"}\n"
      "  - {half_year: 2024-H3, percent: \"5.07\"}\n";
  auto rates = load_late_payment_rates_text(ecb, "ecb.yaml", legal, "legal.yaml");
  ASSERT_FALSE(rates.ok());
  const std::string& message = rates.error().message;
  EXPECT_NE(message.find("ecb.yaml:4: rates[1].effective: rates must be listed by increasing"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("ecb.yaml:5: rates[2].effective:"), std::string::npos) << message;
  EXPECT_NE(message.find("ecb.yaml:5: rates[2].percent:"), std::string::npos) << message;
  EXPECT_NE(message.find("legal.yaml:3: rates[1].half_year: 2024-H1 is listed twice"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("legal.yaml:4: rates[2].half_year:"), std::string::npos) << message;

  auto no_known_until = load_late_payment_rates_text(
      "rates: [{effective: 2024-06-12, percent: \"4.25\"}]\n", "ecb.yaml",
      "rates: [{half_year: 2024-H1, percent: \"5\"}]\n", "legal.yaml");
  ASSERT_FALSE(no_known_until.ok());
  EXPECT_NE(no_known_until.error().message.find("known_until"), std::string::npos);

  auto missing = load_late_payment_rates("/nonexistent/rates");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/rates/ecb_main_refinancing.yaml"),
            std::string::npos);
}

}  // namespace
}  // namespace relance::core::dunning
