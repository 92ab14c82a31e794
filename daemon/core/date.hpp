#pragma once
// Calendar dates and instants. Dates are calendar dates unless a time of day matters.

#include <chrono>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace relance::core {

using Date = std::chrono::year_month_day;
using Days = std::chrono::days;
// An instant in UTC, to the microsecond (CloudEvents `time`, the injected clock).
using Timestamp = std::chrono::sys_time<std::chrono::microseconds>;

// Strict ISO 8601 calendar date "YYYY-MM-DD"; "2026-02-30 is not a date".
Result<Date> parse_date(std::string_view text);
std::string format_date(Date date);

// RFC 3339 date-time with a mandatory offset ("2026-03-01T09:30:00Z",
// "2026-03-01T10:30:00.250+01:00"), converted to UTC.
Result<Timestamp> parse_timestamp(std::string_view text);
// RFC 3339 in UTC with a "Z" suffix; microseconds only when not zero.
std::string format_timestamp(Timestamp instant);

inline std::chrono::sys_days to_sys_days(Date date) { return std::chrono::sys_days(date); }
inline Date to_date(std::chrono::sys_days days) { return Date(days); }
// Days from `from` to `to` (negative when `to` is earlier).
inline int days_between(Date from, Date to) {
  return static_cast<int>((to_sys_days(to) - to_sys_days(from)).count());
}
inline Date add_days(Date date, int days) { return Date(to_sys_days(date) + Days(days)); }
// The UTC calendar date of an instant.
inline Date utc_date(Timestamp instant) {
  return Date(std::chrono::floor<std::chrono::days>(instant));
}

}  // namespace relance::core
