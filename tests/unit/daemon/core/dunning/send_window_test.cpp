#include "core/dunning/send_window.hpp"

#include <gtest/gtest.h>

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

Timestamp at(const char* rfc3339) { return parse_timestamp(rfc3339).value(); }

// Saturday and Sunday off, no holiday: the window alone decides.
BusinessCalendar plain_week() {
  return BusinessCalendar("plain", {true, false, false, false, false, false, true}, {});
}
// Every day is a business day (to test nights and DST changes on a Sunday).
BusinessCalendar every_day() { return BusinessCalendar("all", {}, {}); }

SendWindow every_day_window(std::vector<LocalTimeRange> hours,
                            std::vector<LocalTimeRange> quiet = {}) {
  SendWindow window;
  window.days.fill(true);
  window.hours = std::move(hours);
  window.quiet_hours = std::move(quiet);
  return window;
}

LocalTimeRange range(const char* text) { return parse_local_time_range(text).value(); }

// The next instant as RFC 3339 text, so that a failure shows readable instants.
std::string next(const char* from, std::string_view zone, const SendWindow& window,
                 const BusinessCalendar& calendar) {
  auto result = next_send_instant(at(from), zone, window, calendar);
  if (!result.ok()) return "error: " + result.error().to_string();
  return format_timestamp(*result);
}

TEST(LocalTimeRange, parses_24_hour_ranges_and_refuses_the_rest) {
  const LocalTimeRange office = range("09:00-18:00");
  EXPECT_EQ(office.from, hours(9));
  EXPECT_EQ(office.to, hours(18));
  EXPECT_EQ(range("00:00-24:00").to, hours(24));
  const LocalTimeRange night = range("22:00-07:00");  // quiet hours over midnight
  EXPECT_EQ(night.from, hours(22));
  EXPECT_EQ(night.to, hours(7));
  for (const char* bad : {"9:00-18:00", "09:00", "09:00-18:60", "24:00-06:00", "25:00-26:00",
                          "09h00-18h00", "09:00-24:01", ""}) {
    auto parsed = parse_local_time_range(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.error().message.find("is not a time range"), std::string::npos) << bad;
  }
  auto empty = parse_local_time_range("10:00-10:00");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
}

TEST(TimeZone, an_unknown_zone_is_an_error_not_utc) {
  auto zone = TimeZone::find("Europe/Atlantis");
  ASSERT_FALSE(zone.ok());
  EXPECT_EQ(zone.error().field, "timezone");
  EXPECT_NE(zone.error().message.find("Europe/Atlantis"), std::string::npos);
  auto result =
      next_send_instant(at("2026-11-24T10:00:00Z"), "Europe/Atlantis", SendWindow{}, plain_week());
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(TimeZone::find("America/Montreal")->name(), "America/Montreal");
}

TEST(SendWindow, is_read_in_the_customer_time_zone_montreal_versus_paris) {
  const SendWindow office;  // Monday to Friday, 09:00-18:00
  // Friday 6 March 2026, 23:30 UTC: 18:30 in Montreal (EST, UTC-5), past midnight in Paris.
  // Both wait for Monday 9 March, 09:00 local. North America moved to summer time on Sunday
  // 8 March (EDT, UTC-4) while Paris stays on CET (UTC+1) until 29 March.
  EXPECT_EQ(next("2026-03-06T23:30:00Z", "America/Montreal", office, plain_week()),
            "2026-03-09T13:00:00Z");
  EXPECT_EQ(next("2026-03-06T23:30:00Z", "Europe/Paris", office, plain_week()),
            "2026-03-09T08:00:00Z");
  // Friday 17:30 in Montreal is inside the window: unchanged.
  EXPECT_EQ(next("2026-03-06T22:30:00Z", "America/Montreal", office, plain_week()),
            "2026-03-06T22:30:00Z");
  // Monday 12:59 UTC: 13:59 in Paris (open), 08:59 in Montreal (not yet).
  const auto zone_paris = TimeZone::find("Europe/Paris").value();
  const auto zone_montreal = TimeZone::find("America/Montreal").value();
  EXPECT_TRUE(is_send_allowed(at("2026-03-09T12:59:00Z"), zone_paris, office, plain_week()));
  EXPECT_FALSE(is_send_allowed(at("2026-03-09T12:59:00Z"), zone_montreal, office, plain_week()));
  EXPECT_EQ(next("2026-03-09T12:59:00Z", "America/Montreal", office, plain_week()),
            "2026-03-09T13:00:00Z");
}

TEST(SendWindow, holidays_are_judged_on_the_customer_local_date) {
  const SendWindow office;
  // 13 May 2026, 22:30 UTC: already Ascension (14 May) in Paris, still the 13th in Montreal
  // but after 18:00; both skip the 14th, a holiday of the French calendar.
  EXPECT_EQ(next("2026-05-13T22:30:00Z", "Europe/Paris", office, france_calendar()),
            "2026-05-15T07:00:00Z");
  EXPECT_EQ(next("2026-05-13T22:30:00Z", "America/Montreal", office, france_calendar()),
            "2026-05-15T13:00:00Z");
  // Without the holiday, Montreal would get the 14th.
  EXPECT_EQ(next("2026-05-13T22:30:00Z", "America/Montreal", office, plain_week()),
            "2026-05-14T13:00:00Z");
}

TEST(SendWindow, quiet_hours_win_over_the_window_and_may_wrap_over_midnight) {
  const SendWindow nights = every_day_window({range("00:00-24:00")}, {range("22:00-07:00")});
  // 23:15 in Paris (CET): the next moment is 07:00 the next morning.
  EXPECT_EQ(next("2026-11-23T22:15:00Z", "Europe/Paris", nights, every_day()),
            "2026-11-24T06:00:00Z");
  // 06:59 is still quiet, 07:00 is not.
  EXPECT_EQ(next("2026-11-24T05:59:00Z", "Europe/Paris", nights, every_day()),
            "2026-11-24T06:00:00Z");
  EXPECT_EQ(next("2026-11-24T06:00:00Z", "Europe/Paris", nights, every_day()),
            "2026-11-24T06:00:00Z");

  SendWindow lunch;  // Monday-Friday 09:00-18:00 with a lunch break
  lunch.quiet_hours = {range("12:00-14:00")};
  // Tuesday 24 November 2026, 12:30 in Paris.
  EXPECT_EQ(next("2026-11-24T11:30:00Z", "Europe/Paris", lunch, plain_week()),
            "2026-11-24T13:00:00Z");
  // Friday 17:59:30 is still open; 18:00 waits for Monday.
  EXPECT_EQ(next("2026-11-27T16:59:30Z", "Europe/Paris", lunch, plain_week()),
            "2026-11-27T16:59:30Z");
  EXPECT_EQ(next("2026-11-27T17:00:00Z", "Europe/Paris", lunch, plain_week()),
            "2026-11-30T08:00:00Z");
}

TEST(SendWindow, opening_inside_the_skipped_spring_hour_opens_when_the_clocks_jump) {
  // Paris, Sunday 29 March 2026: 02:00 CET jumps to 03:00 CEST (01:00 UTC). A window opening
  // at 02:30 local opens at the jump.
  const SendWindow early = every_day_window({range("02:30-04:00")});
  EXPECT_EQ(next("2026-03-29T00:00:00Z", "Europe/Paris", early, every_day()),
            "2026-03-29T01:00:00Z");
  // A window entirely inside the skipped hour does not open that day.
  const SendWindow skipped = every_day_window({range("02:00-02:30")});
  EXPECT_EQ(next("2026-03-29T00:00:00Z", "Europe/Paris", skipped, every_day()),
            "2026-03-30T00:00:00Z");  // 02:00 CEST on the 30th
}

TEST(SendWindow, opening_inside_the_repeated_autumn_hour) {
  // Paris, Sunday 25 October 2026: 03:00 CEST goes back to 02:00 CET (01:00 UTC); 02:00-03:00
  // happens twice.
  const SendWindow early = every_day_window({range("02:30-04:00")});
  // Before it: the first 02:30 (CEST, 00:30 UTC).
  EXPECT_EQ(next("2026-10-24T23:00:00Z", "Europe/Paris", early, every_day()),
            "2026-10-25T00:30:00Z");
  // Inside the window the first time: now.
  EXPECT_EQ(next("2026-10-25T00:45:00Z", "Europe/Paris", early, every_day()),
            "2026-10-25T00:45:00Z");
  // 02:10 the second time (CET): the window opens again at the second 02:30, not the next day.
  EXPECT_EQ(next("2026-10-25T01:10:00Z", "Europe/Paris", early, every_day()),
            "2026-10-25T01:30:00Z");
}

TEST(SendWindow, a_window_that_never_opens_is_an_error) {
  SendWindow no_day;
  no_day.days.fill(false);
  auto never = next_send_instant(at("2026-11-24T10:00:00Z"), "Europe/Paris", no_day, plain_week());
  ASSERT_FALSE(never.ok());
  EXPECT_EQ(never.error().field, "send_window");
  EXPECT_NE(never.error().message.find("does not open"), std::string::npos);

  const SendWindow all_quiet = every_day_window({range("09:00-18:00")}, {range("08:00-19:00")});
  auto quiet =
      next_send_instant(at("2026-11-24T10:00:00Z"), "Europe/Paris", all_quiet, every_day());
  ASSERT_FALSE(quiet.ok());
  EXPECT_NE(quiet.error().message.find("no minute"), std::string::npos);
}

}  // namespace
}  // namespace relance::core::dunning
