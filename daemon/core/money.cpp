#include "core/money.hpp"

#include <algorithm>
#include <limits>

namespace relance::core {

namespace {

struct CurrencyEntry {
  char code[4];
  std::uint8_t exponent;
};

// ISO 4217 list one, active codes (2025), with their minor units. Codes whose minor unit is
// "N.A." (XAU, XDR, XTS, XXX...) are left out: an amount in them has no minor-unit count.
// Withdrawn codes (HRK, ZWL, VEF, MRO, STD...) are left out too: a new receivable cannot be in
// them. Sorted by code, checked below, so that lookup is a binary search.
constexpr CurrencyEntry currency_table[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUC", 2}, {"CUP", 2}, {"CVE", 2},
    {"CZK", 2}, {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2},
    {"EUR", 2}, {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2},
    {"GNF", 0}, {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2},
    {"ILS", 2}, {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0},
    {"KES", 2}, {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2},
    {"KZT", 2}, {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2},
    {"MDL", 2}, {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2},
    {"MVR", 2}, {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2},
    {"NIO", 2}, {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2},
    {"PHP", 2}, {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2},
    {"RWF", 0}, {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2},
    {"SLE", 2}, {"SLL", 2}, {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2},
    {"SZL", 2}, {"THB", 2}, {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2},
    {"TWD", 2}, {"TZS", 2}, {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2},
    {"UYW", 4}, {"UZS", 2}, {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0},
    {"XCD", 2}, {"XCG", 2}, {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

constexpr bool code_less(const CurrencyEntry& a, const CurrencyEntry& b) {
  return std::string_view(a.code, 3) < std::string_view(b.code, 3);
}

constexpr bool table_is_sorted() {
  for (std::size_t i = 1; i < std::size(currency_table); ++i) {
    if (!code_less(currency_table[i - 1], currency_table[i])) return false;
  }
  return true;
}
static_assert(table_is_sorted(), "currency_table must be sorted by code, without duplicates");

constexpr std::int64_t powers_of_ten[] = {1, 10, 100, 1000, 10000};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Quoted for messages; long inputs are cut so that an error stays readable.
std::string quoted(std::string_view text) {
  constexpr std::size_t shown_chars_max = 40;
  if (text.size() > shown_chars_max)
    return "\"" + std::string(text.substr(0, shown_chars_max)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

Error amount_error(std::string_view decimal, std::string_view why) {
  return Error{"", quoted(decimal) + " is not a valid amount: " + std::string(why)};
}

}  // namespace

Result<Currency> Currency::from_code(std::string_view code) {
  const bool upper_alpha = code.size() == 3 && std::all_of(code.begin(), code.end(), [](char c) {
                             return c >= 'A' && c <= 'Z';
                           });
  if (!upper_alpha) {
    return Error{"", quoted(code) +
                         " is not an ISO 4217 currency code (three upper-case letters, "
                         "e.g. EUR)"};
  }
  CurrencyEntry key{};
  std::copy(code.begin(), code.end(), key.code);
  const auto* it =
      std::lower_bound(std::begin(currency_table), std::end(currency_table), key, code_less);
  if (it == std::end(currency_table) || std::string_view(it->code, 3) != code) {
    return Error{"", std::string(code) + " is not an ISO 4217 currency"};
  }
  return Currency({it->code[0], it->code[1], it->code[2]}, it->exponent);
}

Result<Money> parse_money(std::string_view decimal, std::string_view currency_code,
                          SignPolicy sign) {
  auto currency = Currency::from_code(currency_code);
  if (!currency) return currency.error();
  return parse_money(decimal, *currency, sign);
}

Result<Money> parse_money(std::string_view decimal, Currency currency, SignPolicy sign) {
  std::string_view rest = decimal;
  if (rest.empty()) return amount_error(decimal, "it is empty");
  bool negative = false;
  if (rest.front() == '+') return amount_error(decimal, "write it without a '+' sign");
  if (rest.front() == '-') {
    if (sign == SignPolicy::non_negative) {
      return amount_error(decimal, "a negative amount is not allowed here");
    }
    negative = true;
    rest.remove_prefix(1);
  }

  const std::size_t point = rest.find('.');
  const std::string_view whole = rest.substr(0, point);
  const std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : rest.substr(point + 1);

  const auto first_bad =
      std::find_if(rest.begin(), rest.end(), [](char c) { return !is_digit(c) && c != '.'; });
  if (first_bad != rest.end()) {
    const char c = *first_bad;
    if (c == 'e' || c == 'E') {
      return amount_error(decimal, "exponent notation is not allowed; write the digits out");
    }
    if (c == ',' || c == ' ' || c == '_' || c == '\'') {
      return amount_error(decimal,
                          "use digits with '.' as the decimal separator and no thousands "
                          "separators (e.g. \"1234.56\")");
    }
    return amount_error(decimal, "only digits, an optional leading '-' and one '.' are allowed");
  }
  if (point != std::string_view::npos && fraction.find('.') != std::string_view::npos) {
    return amount_error(decimal, "it has more than one '.'");
  }
  if (rest.empty()) return amount_error(decimal, "it has no digits");
  if (whole.empty()) return amount_error(decimal, "a digit is needed before the '.'");
  if (point != std::string_view::npos && fraction.empty()) {
    return amount_error(decimal, "a digit is needed after the '.'");
  }

  // Trailing zeros beyond the currency's exponent carry no value ("12.340" EUR is exact); any
  // other extra digit would need rounding, which is refused.
  const auto exponent = static_cast<std::size_t>(currency.exponent());
  std::string_view kept = fraction;
  if (fraction.size() > exponent) {
    const std::string_view extra = fraction.substr(exponent);
    if (extra.find_first_not_of('0') != std::string_view::npos) {
      return Error{"", quoted(decimal) + " has " + std::to_string(fraction.size()) + " decimals; " +
                           std::string(currency.code()) + " has " + std::to_string(exponent)};
    }
    kept = fraction.substr(0, exponent);
  }

  // Accumulate |amount| in minor units with overflow checks, capped at int64 max on both signs
  // so that negating an amount can never overflow.
  constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max();
  std::int64_t units = 0;
  const auto push_digit = [&](char c) {
    const int digit = c - '0';
    if (units > (limit - digit) / 10) return false;
    units = units * 10 + digit;
    return true;
  };
  bool fits = true;
  for (char c : whole) fits = fits && push_digit(c);
  for (char c : kept) fits = fits && push_digit(c);
  for (std::size_t i = kept.size(); i < exponent; ++i) fits = fits && push_digit('0');
  if (!fits) {
    Money largest{limit, currency};
    return Error{"", quoted(decimal) + " exceeds the largest amount in " +
                         std::string(currency.code()) + " (" + format_decimal(largest) + ")"};
  }
  return Money{negative ? -units : units, currency};
}

std::string format_decimal(const Money& money) {
  const int exponent = money.currency.exponent();
  RELANCE_ASSERT(exponent >= 0 && exponent < static_cast<int>(std::size(powers_of_ten)));
  // Work on the magnitude as unsigned so that the int64 minimum prints correctly.
  const bool negative = money.minor_units < 0;
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(money.minor_units)
                                           : static_cast<std::uint64_t>(money.minor_units);
  const auto scale = static_cast<std::uint64_t>(powers_of_ten[exponent]);
  std::string text = negative ? "-" : "";
  text += std::to_string(magnitude / scale);
  if (exponent > 0) {
    std::string fraction = std::to_string(magnitude % scale);
    text += '.';
    text.append(static_cast<std::size_t>(exponent) - fraction.size(), '0');
    text += fraction;
  }
  return text;
}

}  // namespace relance::core
