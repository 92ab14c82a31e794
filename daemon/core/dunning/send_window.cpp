#include "core/dunning/send_window.hpp"

#include <date/tz.h>

#include <algorithm>
#include <bitset>

namespace relance::core::dunning {

namespace {

using namespace std::chrono;

constexpr int minutes_per_day = 1440;
// A window with at least one day and one minute opens within a few weeks even across holidays;
// past this many days the window is considered never to open.
constexpr int send_search_days_max = 400;

using DayMask = std::bitset<minutes_per_day>;

// Whether sending is allowed at this minute of a local day, ignoring the day's date. Only quiet
// hours wrap over midnight.
bool minute_allowed(const SendWindow& window, std::int64_t minute) {
  const auto sending = [minute](const LocalTimeRange& range) {
    return minute >= range.from.count() && minute < range.to.count();
  };
  const auto quiet = [minute](const LocalTimeRange& range) {
    const auto from = range.from.count();
    const auto to = range.to.count();
    return from <= to ? (minute >= from && minute < to) : (minute >= from || minute < to);
  };
  return std::any_of(window.hours.begin(), window.hours.end(), sending) &&
         std::none_of(window.quiet_hours.begin(), window.quiet_hours.end(), quiet);
}

// The minutes of a local day when sending is allowed, ignoring the day's date.
DayMask minutes_allowed(const SendWindow& window) {
  DayMask mask;
  for (int m = 0; m < minutes_per_day; ++m) {
    if (minute_allowed(window, m)) mask.set(static_cast<std::size_t>(m));
  }
  return mask;
}

bool day_allowed(Date local_date, const SendWindow& window, const BusinessCalendar& calendar) {
  return window.days[weekday(sys_days(local_date)).c_encoding()] &&
         calendar.is_business_day(local_date);
}

std::optional<int> parse_clock(std::string_view text) {
  if (text.size() != 5 || text[2] != ':') return std::nullopt;
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const int h = (text[0] - '0') * 10 + (text[1] - '0');
  const int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

}  // namespace

Result<LocalTimeRange> parse_local_time_range(std::string_view text) {
  const auto dash = text.find('-');
  const auto bad = [&] {
    return Error{"", "'" + std::string(text) + "' is not a time range like 09:00-18:00"};
  };
  if (dash == std::string_view::npos) return bad();
  const auto from = parse_clock(text.substr(0, dash));
  const auto to = parse_clock(text.substr(dash + 1));
  if (!from || !to || *from == minutes_per_day) return bad();
  if (*from == *to) return Error{"", "'" + std::string(text) + "' is an empty time range"};
  return LocalTimeRange{minutes(*from), minutes(*to)};
}

Result<TimeZone> TimeZone::find(std::string_view iana_name) {
  try {
    return TimeZone(date::locate_zone(iana_name));
  } catch (const std::exception&) {
    return Error{"timezone", "'" + std::string(iana_name) +
                                 "' is not a time zone of the IANA database (e.g. Europe/Paris)"};
  }
}

std::string_view TimeZone::name() const { return zone_->name(); }

local_time<microseconds> TimeZone::to_local(Timestamp instant) const {
  // date's local_t and std::chrono's count from the same epoch.
  return local_time<microseconds>{zone_->to_local(instant).time_since_epoch()};
}

Date TimeZone::local_date(Timestamp instant) const {
  return Date{sys_days(floor<days>(to_local(instant)).time_since_epoch())};
}

bool is_send_allowed(Timestamp instant, const TimeZone& zone, const SendWindow& window,
                     const BusinessCalendar& calendar) {
  const auto local = zone.to_local(instant);
  const auto local_day = floor<days>(local);
  const Date local_date{sys_days(local_day.time_since_epoch())};
  if (!day_allowed(local_date, window, calendar)) return false;
  const auto minute = floor<minutes>(local - local_day).count();
  return minute_allowed(window, minute);
}

Result<Timestamp> next_send_instant(Timestamp instant, std::string_view iana_zone,
                                    const SendWindow& window, const BusinessCalendar& calendar) {
  auto zone = TimeZone::find(iana_zone);
  if (!zone) return zone.error();
  return next_send_instant(instant, *zone, window, calendar);
}

Result<Timestamp> next_send_instant(Timestamp instant, const TimeZone& zone,
                                    const SendWindow& window, const BusinessCalendar& calendar) {
  if (is_send_allowed(instant, zone, window, calendar)) return instant;
  const DayMask mask = minutes_allowed(window);
  if (mask.none()) return Error{"send_window", "the send window has no minute outside quiet hours"};
  const auto first_local_day = floor<days>(zone.to_local(instant));
  // Candidates are the local minutes where an allowed stretch starts, converted to UTC. Each is
  // checked again as an instant: around a DST change a local start may map to an instant that
  // falls on another local minute.
  for (int offset = 0; offset <= send_search_days_max; ++offset) {
    const auto local_day = first_local_day + days(offset);
    const Date local_date{sys_days(local_day.time_since_epoch())};
    if (!day_allowed(local_date, window, calendar)) continue;
    for (int m = 0; m < minutes_per_day; ++m) {
      if (!mask.test(static_cast<std::size_t>(m))) continue;
      if (m > 0 && mask.test(static_cast<std::size_t>(m - 1))) continue;
      const date::local_time<minutes> local_start{local_day.time_since_epoch() + minutes(m)};
      // A repeated time (autumn) is tried at its first occurrence, then at its second when the
      // first has passed; a skipped time (spring) maps to the instant the clocks jump.
      for (const date::choose choice : {date::choose::earliest, date::choose::latest}) {
        const Timestamp candidate =
            time_point_cast<microseconds>(zone.zone().to_sys(local_start, choice));
        if (candidate >= instant && is_send_allowed(candidate, zone, window, calendar)) {
          return candidate;
        }
      }
    }
  }
  return Error{"send_window", "the send window does not open within " +
                                  std::to_string(send_search_days_max) + " days"};
}

}  // namespace relance::core::dunning
