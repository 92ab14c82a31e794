#pragma once
// Money is an exact integer count of minor units of an ISO 4217 currency. Never a double.

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace relance::core {

// An ISO 4217 currency and its minor-unit exponent (EUR 2, JPY 0, TND 3).
class Currency {
 public:
  constexpr Currency() = default;
  // The currency with this alphabetic code, or an error naming the code when ISO 4217 has none.
  static Result<Currency> from_code(std::string_view code);

  std::string_view code() const { return {code_.data(), 3}; }
  int exponent() const { return exponent_; }
  bool operator==(const Currency& other) const { return code_ == other.code_; }
  auto operator<=>(const Currency& other) const { return code_ <=> other.code_; }

 private:
  constexpr Currency(std::array<char, 3> code, std::uint8_t exponent)
      : code_(code), exponent_(exponent) {}
  std::array<char, 3> code_{'X', 'X', 'X'};
  std::uint8_t exponent_ = 0;
};

struct Money {
  std::int64_t minor_units = 0;
  Currency currency;

  bool operator==(const Money&) const = default;
};

enum class SignPolicy { non_negative, any };

// Converts a decimal string ("1234.56", "-3", "0.5") exactly into minor units. Refuses, with a
// sentence saying why: more decimals than the currency has ("12.345" in EUR), exponents and
// floats ("1e3", ".5", "1."), signs where not allowed, thousands separators, and amounts beyond
// the int64 range of minor units.
Result<Money> parse_money(std::string_view decimal, std::string_view currency_code,
                          SignPolicy sign = SignPolicy::non_negative);
Result<Money> parse_money(std::string_view decimal, Currency currency,
                          SignPolicy sign = SignPolicy::non_negative);

// The exact decimal text of an amount, with exactly the currency's number of decimals
// ("1234.50", "-0.07", "1500" for JPY).
std::string format_decimal(const Money& money);

}  // namespace relance::core
