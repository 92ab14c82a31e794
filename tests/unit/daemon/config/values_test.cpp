#include "config/values.hpp"

#include <gtest/gtest.h>

#include <map>

namespace relance::config {
namespace {

using namespace std::chrono_literals;

Environment fake_environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

TEST(interpolate, set_variable_is_replaced_inside_text) {
  const auto env = fake_environment({{"HOST", "db.local"}, {"PORT", "5432"}});
  EXPECT_EQ(*interpolate("host=${HOST} port=${PORT}", env), "host=db.local port=5432");
}

TEST(interpolate, unset_variable_without_default_is_an_error_naming_it) {
  const Result<std::string> result = interpolate("${RELANCE_DB}", fake_environment({}));
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("environment variable RELANCE_DB is not set"),
            std::string::npos)
      << result.error().message;
}

TEST(interpolate, default_is_used_when_variable_is_unset_or_empty) {
  const auto env = fake_environment({{"EMPTY", ""}, {"SET", "x"}});
  EXPECT_EQ(*interpolate("${UNSET:-8080}", env), "8080");
  EXPECT_EQ(*interpolate("${EMPTY:-fallback}", env), "fallback");
  EXPECT_EQ(*interpolate("${SET:-fallback}", env), "x");
  EXPECT_EQ(*interpolate("${UNSET:-}", env), "");
}

TEST(interpolate, set_but_empty_variable_without_default_is_empty) {
  EXPECT_EQ(*interpolate("a${EMPTY}b", fake_environment({{"EMPTY", ""}})), "ab");
}

TEST(interpolate, double_dollar_brace_is_a_literal_and_lone_dollars_stay) {
  const auto env = fake_environment({{"X", "1"}});
  EXPECT_EQ(*interpolate("$${X} costs $5 ${X}", env), "${X} costs $5 1");
  EXPECT_EQ(*interpolate("$$", env), "$$");
}

TEST(interpolate, unclosed_brace_and_bad_names_are_errors) {
  const auto env = fake_environment({});
  EXPECT_FALSE(interpolate("${HOST", env).ok());
  EXPECT_FALSE(interpolate("${}", env).ok());
  EXPECT_FALSE(interpolate("${1X}", env).ok());
  EXPECT_FALSE(interpolate("${A-B}", env).ok());
  EXPECT_FALSE(interpolate("${A:-${B}}", env).ok());
}

TEST(parse_integer, reads_signed_decimals_and_rejects_the_rest) {
  EXPECT_EQ(*parse_integer("8080"), 8080);
  EXPECT_EQ(*parse_integer("-3"), -3);
  EXPECT_EQ(*parse_integer("+3"), 3);
  for (const char* bad : {"", "8k", "0x10", "1_000", " 1", "1.5", "+", "-"}) {
    EXPECT_FALSE(parse_integer(bad).ok()) << bad;
  }
  EXPECT_EQ(parse_integer("99999999999999999999").error().message,
            "'99999999999999999999' is too large for an integer");
}

TEST(parse_boolean, accepts_only_true_and_false) {
  EXPECT_TRUE(*parse_boolean("true"));
  EXPECT_FALSE(*parse_boolean("false"));
  EXPECT_EQ(parse_boolean("yes").error().message, "'yes' is not a boolean; write true or false");
}

TEST(parse_duration, reads_each_unit_and_groups) {
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("30s"), 30s);
  EXPECT_EQ(*parse_duration("5m"), 5min);
  EXPECT_EQ(*parse_duration("1h"), 1h);
  EXPECT_EQ(*parse_duration("1h30m"), 90min);
  EXPECT_EQ(*parse_duration("7us"), 7us);
  EXPECT_EQ(*parse_duration("9ns"), 9ns);
  EXPECT_EQ(*parse_duration("0s"), 0s);
}

TEST(parse_duration, bare_number_asks_for_a_unit) {
  const Result<std::chrono::nanoseconds> result = parse_duration("30");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message,
            "'30' has no unit; add one, as in 30s or 30ms (units are ns, us, ms, s, m, h)");
}

TEST(parse_duration, rejects_unknown_units_negatives_trailing_numbers_and_overflow) {
  EXPECT_EQ(parse_duration("3d").error().message,
            "'3d': 'd' is not a unit; units are ns, us, ms, s, m, h");
  EXPECT_FALSE(parse_duration("-5s").ok());
  EXPECT_FALSE(parse_duration("1h30").ok());
  EXPECT_FALSE(parse_duration("").ok());
  EXPECT_FALSE(parse_duration("s").ok());
  EXPECT_FALSE(parse_duration("1.5s").ok());
  EXPECT_FALSE(parse_duration("9999999999h").ok());
}

TEST(parse_byte_size, reads_plain_bytes_and_both_unit_families) {
  EXPECT_EQ(*parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(*parse_byte_size("16MiB"), 16u << 20);
  EXPECT_EQ(*parse_byte_size("512KiB"), 512u << 10);
  EXPECT_EQ(*parse_byte_size("2GiB"), 2ULL << 30);
  EXPECT_EQ(*parse_byte_size("3kB"), 3000u);
  EXPECT_EQ(*parse_byte_size("3 MB"), 3000000u);
  EXPECT_EQ(*parse_byte_size("12B"), 12u);
}

TEST(parse_byte_size, rejects_unknown_units_negatives_and_overflow) {
  EXPECT_EQ(parse_byte_size("16MiBs").error().message,
            "'16MiBs': 'MiBs' is not a unit; units are B, KiB, MiB, GiB, kB, MB, GB");
  EXPECT_FALSE(parse_byte_size("-1").ok());
  EXPECT_FALSE(parse_byte_size("MiB").ok());
  EXPECT_FALSE(parse_byte_size("99999999999GiB").ok());
}

TEST(parse_host, accepts_ip_literals_and_host_names) {
  for (const char* good :
       {"127.0.0.1", "0.0.0.0", "::1", "::", "fe80::1", "localhost", "relance-1.example.com"}) {
    EXPECT_TRUE(parse_host(good).ok()) << good;
  }
  for (const char* bad : {"", "127.0.0.300", "[::1]", "host:8080", "-bad.example", "a b"}) {
    EXPECT_FALSE(parse_host(bad).ok()) << bad;
  }
}

TEST(format, durations_and_sizes_are_written_as_the_parsers_read_them) {
  EXPECT_EQ(format_duration(30s), "30s");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(60s), "1m");
  EXPECT_EQ(format_duration(1500us), "1500us");
  EXPECT_EQ(format_byte_size(16u << 20), "16MiB");
  EXPECT_EQ(format_byte_size(1000), "1000");
  for (std::chrono::nanoseconds value :
       {1ns, 1500ns, std::chrono::nanoseconds(1ms), std::chrono::nanoseconds(2h)}) {
    EXPECT_EQ(*parse_duration(format_duration(value)), value);
  }
}

TEST(edit_distance, counts_a_transposition_as_one_edit) {
  EXPECT_EQ(edit_distance("http.prot", "http.port"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

}  // namespace
}  // namespace relance::config
