#pragma once
// When a message may reach a customer: a weekly send window and daily quiet hours in the
// customer's own time zone, on the customer's business days.

#include <array>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/dunning/calendar.hpp"
#include "core/result.hpp"

namespace date {
class time_zone;
}

namespace relance::core::dunning {

// A span of local wall-clock time within a day, [from, to) in minutes after midnight. `to` may
// be 1440 (end of day). In quiet hours `from` > `to` wraps over midnight (22:00-07:00).
struct LocalTimeRange {
  std::chrono::minutes from{0};
  std::chrono::minutes to{0};
};

// Parses "09:00-18:00" (24-hour clock, "24:00" allowed as an end).
Result<LocalTimeRange> parse_local_time_range(std::string_view text);

struct SendWindow {
  // Indexed by std::chrono::weekday::c_encoding() (0 = Sunday): the days messages may go out.
  std::array<bool, 7> days{false, true, true, true, true, true, false};
  // The daily hours messages may go out on those days (the union of the ranges).
  std::vector<LocalTimeRange> hours{{std::chrono::hours(9), std::chrono::hours(18)}};
  // Daily hours when nothing goes out, whatever `hours` says (a lunch break, a night).
  std::vector<LocalTimeRange> quiet_hours;
};

// An IANA time zone from the system tz database.
class TimeZone {
 public:
  // An error for a name the database does not know: never a guess or a silent UTC.
  static Result<TimeZone> find(std::string_view iana_name);
  // A zone found before (its pointer lives as long as the process): no lookup by name.
  static TimeZone of(const date::time_zone& zone) { return TimeZone(&zone); }
  std::string_view name() const;
  // The local calendar date and wall-clock time of an instant.
  std::chrono::local_time<std::chrono::microseconds> to_local(Timestamp instant) const;
  // The local calendar date of an instant (the day a customer there sees on the calendar).
  Date local_date(Timestamp instant) const;
  const date::time_zone& zone() const { return *zone_; }

 private:
  explicit TimeZone(const date::time_zone* zone) : zone_(zone) {}
  const date::time_zone* zone_;
};

// Whether a message may go out at `instant`: the customer's local date is a send day and a
// business day of `calendar` (holidays judged on the customer's local date), and the local time
// is within the window hours and outside quiet hours.
bool is_send_allowed(Timestamp instant, const TimeZone& zone, const SendWindow& window,
                     const BusinessCalendar& calendar);

// The first instant at or after `instant` when a message may go out. Across a DST change the
// window is read in local wall-clock time: a window opening inside a skipped hour opens when
// the clocks jump; a repeated hour opens at its first occurrence, or at its second when called in
// between. Errors: an unknown zone, a window that never opens (no day, no hours) within a year.
Result<Timestamp> next_send_instant(Timestamp instant, std::string_view iana_zone,
                                    const SendWindow& window, const BusinessCalendar& calendar);
Result<Timestamp> next_send_instant(Timestamp instant, const TimeZone& zone,
                                    const SendWindow& window, const BusinessCalendar& calendar);

}  // namespace relance::core::dunning
