#include "core/date.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace relance::core {
namespace {

using namespace std::chrono;
using ::testing::HasSubstr;

Date ymd(int y, unsigned m, unsigned d) { return Date{year(y), month(m), day(d)}; }

std::string date_refusal(std::string_view text) {
  auto date = parse_date(text);
  EXPECT_FALSE(date.ok()) << text << " was accepted";
  return date.ok() ? std::string() : date.error().message;
}

std::string timestamp_refusal(std::string_view text) {
  auto instant = parse_timestamp(text);
  EXPECT_FALSE(instant.ok()) << text << " was accepted";
  return instant.ok() ? std::string() : instant.error().message;
}

Timestamp utc(int y, unsigned m, unsigned d, int h, int min, int s, int micros = 0) {
  return Timestamp(sys_days(ymd(y, m, d)) + hours(h) + minutes(min) + seconds(s)) +
         microseconds(micros);
}

TEST(ParseDate, reads_iso_calendar_dates) {
  auto date = parse_date("2026-03-01");
  ASSERT_TRUE(date.ok());
  EXPECT_EQ(*date, ymd(2026, 3, 1));
  EXPECT_EQ(*parse_date("1999-12-31"), ymd(1999, 12, 31));
}

TEST(ParseDate, february_29_only_in_leap_years) {
  EXPECT_TRUE(parse_date("2024-02-29").ok());
  EXPECT_TRUE(parse_date("2000-02-29").ok());
  EXPECT_THAT(date_refusal("2026-02-29"), HasSubstr("2026-02-29 is not a date"));
  EXPECT_THAT(date_refusal("2100-02-29"), HasSubstr("is not a date"));
}

TEST(ParseDate, invalid_calendar_dates_are_refused) {
  EXPECT_EQ(date_refusal("2026-02-30"), "2026-02-30 is not a date");
  EXPECT_THAT(date_refusal("2026-04-31"), HasSubstr("is not a date"));
  EXPECT_THAT(date_refusal("2026-13-01"), HasSubstr("is not a date"));
  EXPECT_THAT(date_refusal("2026-00-10"), HasSubstr("is not a date"));
  EXPECT_THAT(date_refusal("2026-01-00"), HasSubstr("is not a date"));
  EXPECT_THAT(date_refusal("2026-01-32"), HasSubstr("is not a date"));
}

TEST(ParseDate, other_formats_are_refused) {
  for (std::string_view text :
       {"2026-3-1", "2026/03/01", "20260301", "01/03/2026", "01-03-2026", "2026-03-01T00:00:00Z",
        " 2026-03-01", "2026-03-01 ", "2026-W09-7", "2026-060", "", "2026-03", "+2026-03-01",
        "2026-03-0a", "２０２６-03-01"}) {
    EXPECT_THAT(date_refusal(text), HasSubstr("is not a date")) << text;
  }
  EXPECT_THAT(date_refusal("2026/03/01"), HasSubstr("in the form YYYY-MM-DD"));
}

TEST(FormatDate, writes_yyyy_mm_dd) {
  EXPECT_EQ(format_date(ymd(2026, 3, 1)), "2026-03-01");
  EXPECT_EQ(format_date(ymd(987, 12, 31)), "0987-12-31");
}

TEST(DateArithmetic, counts_days_across_months_and_years) {
  EXPECT_EQ(days_between(ymd(2026, 2, 27), ymd(2026, 3, 1)), 2);
  EXPECT_EQ(days_between(ymd(2024, 2, 27), ymd(2024, 3, 1)), 3);
  EXPECT_EQ(days_between(ymd(2026, 3, 1), ymd(2026, 2, 27)), -2);
  EXPECT_EQ(add_days(ymd(2025, 12, 31), 1), ymd(2026, 1, 1));
  EXPECT_EQ(add_days(ymd(2026, 3, 1), -1), ymd(2026, 2, 28));
}

TEST(ParseTimestamp, reads_utc_and_offsets) {
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:00Z"), utc(2026, 3, 1, 9, 30, 0));
  EXPECT_EQ(*parse_timestamp("2026-03-01T10:30:00+01:00"), utc(2026, 3, 1, 9, 30, 0));
  EXPECT_EQ(*parse_timestamp("2026-03-01T04:00:00-05:30"), utc(2026, 3, 1, 9, 30, 0));
  EXPECT_EQ(*parse_timestamp("2026-03-01t09:30:00z"), utc(2026, 3, 1, 9, 30, 0));
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:00-00:00"), utc(2026, 3, 1, 9, 30, 0));
}

TEST(ParseTimestamp, an_offset_can_move_the_date) {
  EXPECT_EQ(*parse_timestamp("2026-01-01T00:30:00+01:00"), utc(2025, 12, 31, 23, 30, 0));
  EXPECT_EQ(*parse_timestamp("2024-02-28T23:00:00-02:00"), utc(2024, 2, 29, 1, 0, 0));
}

TEST(ParseTimestamp, keeps_fractions_to_the_microsecond) {
  EXPECT_EQ(*parse_timestamp("2026-03-01T10:30:00.250+01:00"), utc(2026, 3, 1, 9, 30, 0, 250000));
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:00.000001Z"), utc(2026, 3, 1, 9, 30, 0, 1));
  // Nanoseconds are dropped, not rounded: the system keeps microseconds.
  EXPECT_EQ(*parse_timestamp("2026-03-01T09:30:00.123456789Z"), utc(2026, 3, 1, 9, 30, 0, 123456));
}

TEST(ParseTimestamp, malformed_timestamps_are_refused) {
  for (std::string_view text :
       {"2026-03-01T09:30:00", "2026-03-01 09:30:00Z", "2026-03-01T09:30Z", "2026-03-01T9:30:00Z",
        "2026-03-01T09:30:00+0100", "2026-03-01T09:30:00+01", "2026-03-01T09:30:00.Z",
        "2026-03-01T09:30:00.1234567890Z", "2026-03-01", "2026-03-01T09:30:00 Z",
        "2026-03-01T09:30:00ZZ", "1772357400", ""}) {
    EXPECT_THAT(timestamp_refusal(text), HasSubstr("is not an RFC 3339 timestamp")) << text;
  }
}

TEST(ParseTimestamp, out_of_range_times_and_offsets_are_refused) {
  EXPECT_THAT(timestamp_refusal("2026-03-01T24:00:00Z"), HasSubstr("no such time of day"));
  EXPECT_THAT(timestamp_refusal("2026-03-01T09:60:00Z"), HasSubstr("no such time of day"));
  EXPECT_THAT(timestamp_refusal("2026-12-31T23:59:60Z"), HasSubstr("no such time of day"));
  EXPECT_THAT(timestamp_refusal("2026-03-01T09:30:00+24:00"), HasSubstr("offset out of range"));
  EXPECT_THAT(timestamp_refusal("2026-03-01T09:30:00+01:60"), HasSubstr("offset out of range"));
}

TEST(ParseTimestamp, the_date_part_must_be_a_calendar_date) {
  EXPECT_THAT(timestamp_refusal("2026-02-30T09:30:00Z"), HasSubstr("2026-02-30 is not a date"));
}

TEST(ParseTimestamp, instants_outside_years_0000_to_9999_in_utc_are_refused) {
  EXPECT_THAT(timestamp_refusal("0000-01-01T00:30:00+01:00"), HasSubstr("out of range"));
  EXPECT_THAT(timestamp_refusal("9999-12-31T23:30:00-01:00"), HasSubstr("out of range"));
  EXPECT_TRUE(parse_timestamp("0000-01-01T00:30:00-01:00").ok());
  EXPECT_TRUE(parse_timestamp("9999-12-31T23:59:59.999999Z").ok());
  EXPECT_EQ(format_timestamp(*parse_timestamp("0000-01-01T00:00:00Z")), "0000-01-01T00:00:00Z");
}

TEST(FormatTimestamp, writes_utc_with_z_and_microseconds_only_when_present) {
  EXPECT_EQ(format_timestamp(utc(2026, 3, 1, 9, 30, 0)), "2026-03-01T09:30:00Z");
  EXPECT_EQ(format_timestamp(utc(2026, 3, 1, 9, 30, 0, 250000)), "2026-03-01T09:30:00.250000Z");
  EXPECT_EQ(format_timestamp(utc(1969, 12, 31, 23, 59, 59, 1)), "1969-12-31T23:59:59.000001Z");
}

TEST(FormatTimestamp, round_trips_through_parse_timestamp) {
  for (Timestamp instant : {utc(2026, 3, 1, 9, 30, 0), utc(2024, 2, 29, 23, 59, 59, 999999),
                            utc(1970, 1, 1, 0, 0, 0), utc(1960, 6, 15, 12, 0, 0, 42)}) {
    auto back = parse_timestamp(format_timestamp(instant));
    ASSERT_TRUE(back.ok()) << format_timestamp(instant);
    EXPECT_EQ(*back, instant);
  }
}

TEST(UtcDate, is_the_calendar_date_in_utc) {
  EXPECT_EQ(utc_date(*parse_timestamp("2026-01-01T00:30:00+01:00")), ymd(2025, 12, 31));
  EXPECT_EQ(utc_date(utc(1969, 12, 31, 23, 59, 59)), ymd(1969, 12, 31));
}

}  // namespace
}  // namespace relance::core
