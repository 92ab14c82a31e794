// Fuzz target for the text parsers under events: money (core::parse_money), calendar dates and
// RFC 3339 timestamps. The input is "<currency>\n<text>"; without a newline all of it is the
// text, in EUR. Accepted values must print back to text that parses to the same value.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/date.hpp"
#include "core/money.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string_view code = "EUR";
  if (const auto newline = text.find('\n'); newline != std::string_view::npos) {
    code = text.substr(0, newline);
    text.remove_prefix(newline + 1);
  }

  using namespace relance::core;
  for (const SignPolicy sign : {SignPolicy::non_negative, SignPolicy::any}) {
    auto money = parse_money(text, code, sign);
    if (!money.ok()) {
      RELANCE_FUZZ_CHECK(!money.error().message.empty(), "a refused amount says why");
      continue;
    }
    RELANCE_FUZZ_CHECK(sign == SignPolicy::any || money->minor_units >= 0,
                       "no negative amount without the sign policy");
    const std::string printed = format_decimal(*money);
    auto back = parse_money(printed, code, SignPolicy::any);
    RELANCE_FUZZ_CHECK(back.ok() && *back == *money, "format_decimal round-trips");
  }

  if (auto date = parse_date(text); date.ok()) {
    RELANCE_FUZZ_CHECK(date->ok(), "a parsed date is a calendar date");
    auto back = parse_date(format_date(*date));
    RELANCE_FUZZ_CHECK(back.ok() && *back == *date, "format_date round-trips");
  }

  if (auto instant = parse_timestamp(text); instant.ok()) {
    auto back = parse_timestamp(format_timestamp(*instant));
    RELANCE_FUZZ_CHECK(back.ok() && *back == *instant, "format_timestamp round-trips");
  }
  return 0;
}
