#include "core/money.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace relance::core {
namespace {

using ::testing::HasSubstr;

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();

Currency currency(std::string_view code) {
  auto result = Currency::from_code(code);
  EXPECT_TRUE(result.ok()) << code;
  return result.ok() ? *result : Currency();
}

std::int64_t minor_units(std::string_view decimal, std::string_view code,
                         SignPolicy sign = SignPolicy::non_negative) {
  auto money = parse_money(decimal, code, sign);
  EXPECT_TRUE(money.ok()) << decimal << " " << code << ": "
                          << (money.ok() ? "" : money.error().to_string());
  return money.ok() ? money->minor_units : -1;
}

std::string refusal(std::string_view decimal, std::string_view code,
                    SignPolicy sign = SignPolicy::non_negative) {
  auto money = parse_money(decimal, code, sign);
  EXPECT_FALSE(money.ok()) << decimal << " " << code << " was accepted as "
                           << (money.ok() ? std::to_string(money->minor_units) : "");
  return money.ok() ? std::string() : money.error().message;
}

TEST(Currency, knows_iso_4217_exponents) {
  EXPECT_EQ(currency("EUR").exponent(), 2);
  EXPECT_EQ(currency("JPY").exponent(), 0);
  EXPECT_EQ(currency("TND").exponent(), 3);
  EXPECT_EQ(currency("KWD").exponent(), 3);
  EXPECT_EQ(currency("XOF").exponent(), 0);
  EXPECT_EQ(currency("CLF").exponent(), 4);
  EXPECT_EQ(currency("CHF").exponent(), 2);
  EXPECT_EQ(currency("EUR").code(), "EUR");
}

TEST(Currency, unknown_code_is_refused_with_the_code_named) {
  auto result = Currency::from_code("XYZ");
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(result.error().message, HasSubstr("XYZ is not an ISO 4217 currency"));
}

TEST(Currency, withdrawn_and_unitless_codes_are_refused) {
  EXPECT_FALSE(Currency::from_code("FRF").ok());  // replaced by the euro in 2002
  EXPECT_FALSE(Currency::from_code("HRK").ok());  // withdrawn in 2023
  EXPECT_FALSE(Currency::from_code("XAU").ok());  // gold has no minor unit
}

TEST(Currency, code_must_be_three_upper_case_letters) {
  for (std::string_view code : {"eur", "EU", "EURO", "", "E1R", " EUR"}) {
    auto result = Currency::from_code(code);
    ASSERT_FALSE(result.ok()) << code;
    EXPECT_THAT(result.error().message, HasSubstr("three upper-case letters")) << code;
  }
}

TEST(ParseMoney, converts_with_the_currency_exponent) {
  EXPECT_EQ(minor_units("1234.56", "EUR"), 123456);
  EXPECT_EQ(minor_units("1234.5", "EUR"), 123450);
  EXPECT_EQ(minor_units("1234", "EUR"), 123400);
  EXPECT_EQ(minor_units("0.07", "EUR"), 7);
  EXPECT_EQ(minor_units("1500", "JPY"), 1500);
  EXPECT_EQ(minor_units("12.345", "TND"), 12345);
  EXPECT_EQ(minor_units("12.3", "TND"), 12300);
  EXPECT_EQ(minor_units("1.2345", "CLF"), 12345);
}

TEST(ParseMoney, keeps_the_currency) {
  auto money = parse_money("10.00", "TND");
  ASSERT_TRUE(money.ok());
  EXPECT_EQ(money->currency, currency("TND"));
  EXPECT_EQ(money->minor_units, 10000);
}

TEST(ParseMoney, accepts_zero) {
  EXPECT_EQ(minor_units("0", "EUR"), 0);
  EXPECT_EQ(minor_units("0.00", "EUR"), 0);
}

TEST(ParseMoney, trailing_zeros_beyond_the_exponent_are_exact_and_accepted) {
  EXPECT_EQ(minor_units("12.340", "EUR"), 1234);
  EXPECT_EQ(minor_units("1500.00", "JPY"), 1500);
  EXPECT_EQ(minor_units("1.5000", "TND"), 1500);
}

TEST(ParseMoney, leading_zeros_do_not_change_the_value) {
  EXPECT_EQ(minor_units("0012.50", "EUR"), 1250);
}

TEST(ParseMoney, more_decimals_than_the_currency_has_are_refused_not_rounded) {
  EXPECT_THAT(refusal("12.345", "EUR"), HasSubstr("has 3 decimals; EUR has 2"));
  EXPECT_THAT(refusal("12.001", "EUR"), HasSubstr("EUR has 2"));
  EXPECT_THAT(refusal("1500.5", "JPY"), HasSubstr("JPY has 0"));
  EXPECT_THAT(refusal("1.0001", "TND"), HasSubstr("TND has 3"));
  // A digit far to the right still counts: rounding it away would change the amount.
  EXPECT_THAT(refusal("1.0000000000000000000001", "EUR"), HasSubstr("EUR has 2"));
}

TEST(ParseMoney, negative_amounts_only_where_the_sign_policy_allows) {
  EXPECT_THAT(refusal("-10.00", "EUR"), HasSubstr("negative amount is not allowed"));
  EXPECT_THAT(refusal("-0", "EUR"), HasSubstr("negative amount is not allowed"));
  EXPECT_EQ(minor_units("-10.05", "EUR", SignPolicy::any), -1005);
  EXPECT_EQ(minor_units("-7", "JPY", SignPolicy::any), -7);
  EXPECT_EQ(minor_units("-0", "EUR", SignPolicy::any), 0);
}

TEST(ParseMoney, leading_plus_is_refused) {
  EXPECT_THAT(refusal("+10.00", "EUR"), HasSubstr("without a '+' sign"));
  EXPECT_THAT(refusal("+10.00", "EUR", SignPolicy::any), HasSubstr("without a '+' sign"));
}

TEST(ParseMoney, a_lone_point_on_either_side_is_refused) {
  EXPECT_THAT(refusal(".5", "EUR"), HasSubstr("a digit is needed before the '.'"));
  EXPECT_THAT(refusal("1.", "EUR"), HasSubstr("a digit is needed after the '.'"));
  EXPECT_THAT(refusal(".", "EUR"), HasSubstr("a digit is needed"));
  EXPECT_THAT(refusal("-.5", "EUR", SignPolicy::any), HasSubstr("before the '.'"));
}

TEST(ParseMoney, exponent_notation_is_refused) {
  EXPECT_THAT(refusal("1e3", "EUR"), HasSubstr("exponent notation is not allowed"));
  EXPECT_THAT(refusal("1.5E2", "EUR"), HasSubstr("exponent notation is not allowed"));
  EXPECT_THAT(refusal("1e-2", "EUR"), HasSubstr("exponent notation is not allowed"));
}

TEST(ParseMoney, separators_and_other_characters_are_refused) {
  EXPECT_THAT(refusal("1,234.56", "EUR"), HasSubstr("no thousands separators"));
  EXPECT_THAT(refusal("1234,56", "EUR"), HasSubstr("'.' as the decimal separator"));
  EXPECT_THAT(refusal("1 234.56", "EUR"), HasSubstr("no thousands separators"));
  EXPECT_THAT(refusal("1_234", "EUR"), HasSubstr("no thousands separators"));
  EXPECT_THAT(refusal("12.34 EUR", "EUR"), HasSubstr("not a valid amount"));
  EXPECT_THAT(refusal("1.2.3", "EUR"), HasSubstr("more than one '.'"));
  EXPECT_THAT(refusal("0x10", "EUR"), HasSubstr("only digits"));
  EXPECT_THAT(refusal("NaN", "EUR"), HasSubstr("only digits"));
  EXPECT_THAT(refusal("inf", "EUR"), HasSubstr("only digits"));
  EXPECT_THAT(refusal("--1", "EUR", SignPolicy::any), HasSubstr("only digits"));
  EXPECT_THAT(refusal(" 12", "EUR"), HasSubstr("not a valid amount"));
}

TEST(ParseMoney, empty_and_sign_only_are_refused) {
  EXPECT_THAT(refusal("", "EUR"), HasSubstr("it is empty"));
  EXPECT_THAT(refusal("-", "EUR", SignPolicy::any), HasSubstr("no digits"));
}

TEST(ParseMoney, unknown_currency_is_refused) {
  EXPECT_THAT(refusal("10.00", "XYZ"), HasSubstr("XYZ is not an ISO 4217 currency"));
  EXPECT_THAT(refusal("10.00", "eur"), HasSubstr("not an ISO 4217 currency code"));
}

TEST(ParseMoney, the_largest_amount_is_exact) {
  EXPECT_EQ(minor_units("92233720368547758.07", "EUR"), int64_max);
  EXPECT_EQ(minor_units("9223372036854775807", "JPY"), int64_max);
  EXPECT_EQ(minor_units("9223372036854775.807", "TND"), int64_max);
  EXPECT_EQ(minor_units("-92233720368547758.07", "EUR", SignPolicy::any), -int64_max);
}

TEST(ParseMoney, amounts_beyond_int64_minor_units_are_refused_with_the_limit_named) {
  const std::string message = refusal("92233720368547758.08", "EUR");
  EXPECT_THAT(message, HasSubstr("exceeds the largest amount in EUR (92233720368547758.07)"));
  EXPECT_THAT(refusal("9223372036854775808", "JPY"), HasSubstr("exceeds the largest amount"));
  // The whole part alone fits in int64 but not once scaled to minor units.
  EXPECT_THAT(refusal("922337203685477581", "EUR"), HasSubstr("exceeds the largest amount"));
  EXPECT_THAT(refusal("99999999999999999999999999999999999999", "EUR"),
              HasSubstr("exceeds the largest amount"));
  EXPECT_THAT(refusal("-92233720368547758.08", "EUR", SignPolicy::any),
              HasSubstr("exceeds the largest amount"));
}

TEST(ParseMoney, long_inputs_are_cut_in_messages) {
  const std::string digits(10000, '9');
  const std::string message = refusal(digits, "EUR");
  EXPECT_THAT(message, HasSubstr("...\""));
  EXPECT_LT(message.size(), 200u);
  const std::string decimals = "1." + std::string(10000, '1');
  EXPECT_LT(refusal(decimals, "EUR").size(), 200u);
}

TEST(ParseMoney, errors_carry_no_field_so_that_callers_locate_them) {
  auto money = parse_money("1e3", "EUR");
  ASSERT_FALSE(money.ok());
  EXPECT_EQ(money.error().field, "");
  EXPECT_EQ(money.error().within("data.amount").field, "data.amount");
}

TEST(FormatDecimal, writes_exactly_the_currency_decimals) {
  EXPECT_EQ(format_decimal(Money{123450, currency("EUR")}), "1234.50");
  EXPECT_EQ(format_decimal(Money{7, currency("EUR")}), "0.07");
  EXPECT_EQ(format_decimal(Money{-7, currency("EUR")}), "-0.07");
  EXPECT_EQ(format_decimal(Money{1500, currency("JPY")}), "1500");
  EXPECT_EQ(format_decimal(Money{5, currency("TND")}), "0.005");
  EXPECT_EQ(format_decimal(Money{0, currency("EUR")}), "0.00");
  EXPECT_EQ(format_decimal(Money{int64_max, currency("EUR")}), "92233720368547758.07");
  EXPECT_EQ(format_decimal(Money{std::numeric_limits<std::int64_t>::min(), currency("EUR")}),
            "-92233720368547758.08");
}

TEST(FormatDecimal, round_trips_through_parse_money) {
  for (std::string_view code : {"EUR", "JPY", "TND", "CLF"}) {
    for (std::int64_t units :
         {std::int64_t{0}, std::int64_t{1}, std::int64_t{-1}, std::int64_t{99}, std::int64_t{100},
          std::int64_t{123456789}, std::int64_t{-987654321}, int64_max, -int64_max}) {
      const Money money{units, currency(code)};
      auto back = parse_money(format_decimal(money), code, SignPolicy::any);
      ASSERT_TRUE(back.ok()) << format_decimal(money);
      EXPECT_EQ(*back, money) << format_decimal(money);
    }
  }
}

}  // namespace
}  // namespace relance::core
