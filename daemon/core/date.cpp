#include "core/date.hpp"

#include <cstdio>

namespace relance::core {

namespace {

// The value of `count` digits at `text[at]`, or -1 when one of them is not a digit.
int digits_at(std::string_view text, std::size_t at, std::size_t count) {
  if (at + count > text.size()) return -1;
  int value = 0;
  for (std::size_t i = at; i < at + count; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return value;
}

std::string quoted(std::string_view text) {
  constexpr std::size_t shown_chars_max = 40;
  if (text.size() > shown_chars_max)
    return "\"" + std::string(text.substr(0, shown_chars_max)) + "...\"";
  return "\"" + std::string(text) + "\"";
}

// "YYYY-MM-DD" at the start of `text`; the caller checks what follows.
Result<Date> parse_date_prefix(std::string_view text, std::string_view whole) {
  const int year = digits_at(text, 0, 4);
  const int month = digits_at(text, 5, 2);
  const int day = digits_at(text, 8, 2);
  if (year < 0 || month < 0 || day < 0 || text[4] != '-' || text[7] != '-') {
    return Error{"", quoted(whole) + " is not a date in the form YYYY-MM-DD"};
  }
  const Date date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                  std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return Error{"", std::string(text.substr(0, 10)) + " is not a date"};
  return date;
}

}  // namespace

Result<Date> parse_date(std::string_view text) {
  if (text.size() != 10) return Error{"", quoted(text) + " is not a date in the form YYYY-MM-DD"};
  return parse_date_prefix(text, text);
}

std::string format_date(Date date) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return buffer;
}

Result<Timestamp> parse_timestamp(std::string_view text) {
  const auto malformed = [&] {
    return Error{"", quoted(text) +
                         " is not an RFC 3339 timestamp (e.g. \"2026-03-01T09:30:00Z\" or "
                         "\"2026-03-01T10:30:00.250+01:00\")"};
  };
  // The shortest form is "YYYY-MM-DDThh:mm:ssZ".
  if (text.size() < 20) return malformed();
  auto date = parse_date_prefix(text, text);
  if (!date) return date.error();
  if (text[10] != 'T' && text[10] != 't') return malformed();
  const int hour = digits_at(text, 11, 2);
  const int minute = digits_at(text, 14, 2);
  const int second = digits_at(text, 17, 2);
  if (hour < 0 || minute < 0 || second < 0 || text[13] != ':' || text[16] != ':') {
    return malformed();
  }
  if (hour > 23 || minute > 59 || second > 59) {
    // RFC 3339 allows a leap second (:60); no clock in this system can hold one.
    return Error{"", quoted(text) +
                         " has no such time of day (hours 00-23, minutes and seconds "
                         "00-59)"};
  }

  std::size_t at = 19;
  std::int64_t micros = 0;
  if (at < text.size() && text[at] == '.') {
    ++at;
    const std::size_t start = at;
    // Digits beyond the microsecond are dropped: the system keeps instants to the microsecond.
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      if (at - start < 6) micros = micros * 10 + (text[at] - '0');
      ++at;
    }
    const std::size_t count = at - start;
    if (count == 0 || count > 9) return malformed();
    for (std::size_t i = count; i < 6; ++i) micros *= 10;
  }

  int offset_minutes = 0;
  const std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
    offset_minutes = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    const int offset_hours = digits_at(zone, 1, 2);
    const int offset_mins = digits_at(zone, 4, 2);
    if (offset_hours < 0 || offset_mins < 0) return malformed();
    if (offset_hours > 23 || offset_mins > 59) {
      return Error{"", quoted(text) + " has an offset out of range (-23:59 to +23:59)"};
    }
    offset_minutes = (offset_hours * 60 + offset_mins) * (zone[0] == '-' ? -1 : 1);
  } else {
    return malformed();
  }

  using namespace std::chrono;
  const auto local = sys_days(*date) + hours(hour) + minutes(minute) + seconds(second);
  const Timestamp instant = Timestamp(local - minutes(offset_minutes)) + microseconds(micros);
  // An offset can push the first or last day of years 0000-9999 out of them, and such an
  // instant could not be written back in RFC 3339 (format_timestamp writes UTC).
  const int utc_year = static_cast<int>(utc_date(instant).year());
  if (utc_year < 0 || utc_year > 9999) {
    return Error{"", quoted(text) +
                         " is out of range: in UTC it falls outside the years 0000 "
                         "to 9999"};
  }
  return instant;
}

std::string format_timestamp(Timestamp instant) {
  using namespace std::chrono;
  const auto day = floor<days>(instant);
  const Date date(day);
  const hh_mm_ss<microseconds> time(instant - day);
  char buffer[48];
  int length = std::snprintf(buffer, sizeof buffer, "%sT%02d:%02d:%02d", format_date(date).c_str(),
                             static_cast<int>(time.hours().count()),
                             static_cast<int>(time.minutes().count()),
                             static_cast<int>(time.seconds().count()));
  const auto micros = time.subseconds().count();
  if (micros != 0) {
    length += std::snprintf(buffer + length, sizeof buffer - static_cast<std::size_t>(length),
                            ".%06lld", static_cast<long long>(micros));
  }
  return std::string(buffer, static_cast<std::size_t>(length)) + "Z";
}

}  // namespace relance::core
