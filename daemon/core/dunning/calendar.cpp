#include "core/dunning/calendar.hpp"

#include <algorithm>
#include <filesystem>

#include "core/dunning/yaml_support.hpp"

namespace relance::core::dunning {

namespace {

using namespace std::chrono;
using yaml_support::Reporter;

// A loaded calendar must leave at least one working weekday, and holidays are a few per year,
// so a business day is always found within a few weeks; this bound only stops a runaway loop.
constexpr int business_day_search_days_max = 3660;
constexpr std::size_t holidays_per_calendar_max = 500;

int year_of(Date date) { return static_cast<int>(date.year()); }

HolidayRule yearly(std::string name, unsigned month_number, unsigned day_number) {
  HolidayRule rule;
  rule.name = std::move(name);
  rule.kind = HolidayRule::Kind::yearly;
  rule.month_day = month{month_number} / day{day_number};
  return rule;
}

HolidayRule easter(std::string name, int days) {
  HolidayRule rule;
  rule.name = std::move(name);
  rule.kind = HolidayRule::Kind::easter_offset;
  rule.easter_days = days;
  return rule;
}

std::vector<HolidayRule> france_holidays() {
  return {
      yearly("Jour de l'an", 1, 1),    easter("Lundi de Pâques", 1),
      yearly("Fête du Travail", 5, 1), yearly("Victoire 1945", 5, 8),
      easter("Ascension", 39),         easter("Lundi de Pentecôte", 50),
      yearly("Fête nationale", 7, 14), yearly("Assomption", 8, 15),
      yearly("Toussaint", 11, 1),      yearly("Armistice 1918", 11, 11),
      yearly("Noël", 12, 25),
  };
}

constexpr std::array<bool, 7> saturday_sunday{true, false, false, false, false, false, true};

std::optional<unsigned> weekday_from_name(std::string_view name) {
  static constexpr std::array<std::string_view, 7> names{
      "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"};
  for (unsigned i = 0; i < names.size(); ++i) {
    if (name == names[i] || name == names[i].substr(0, 3)) return i;
  }
  return std::nullopt;
}

// "MM-DD", a day that exists in at least one year (02-29 included).
std::optional<month_day> parse_month_day(std::string_view text) {
  if (text.size() != 5 || text[2] != '-') return std::nullopt;
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  const unsigned m = static_cast<unsigned>((text[0] - '0') * 10 + (text[1] - '0'));
  const unsigned d = static_cast<unsigned>((text[3] - '0') * 10 + (text[4] - '0'));
  const month_day result = month{m} / day{d};
  if (!result.ok()) return std::nullopt;
  return result;
}

std::optional<BusinessCalendar> parse_calendar(const std::string& text, const std::string& file,
                                               Reporter& reporter) {
  auto root = yaml_support::parse_yaml(text, reporter);
  if (!root) return std::nullopt;
  if (!yaml_support::check_map(*root, "", {"name", "extends", "weekend", "holidays"}, reporter)) {
    return std::nullopt;
  }
  std::string name = std::filesystem::path(file).stem().string();
  if (const auto node = (*root)["name"]) {
    if (auto value = yaml_support::scalar(node, "name", reporter)) name = *value;
  }
  std::vector<HolidayRule> holidays;
  if (const auto node = (*root)["extends"]) {
    if (auto value = yaml_support::scalar(node, "extends", reporter)) {
      if (auto base = builtin_calendar(*value)) {
        holidays = base->holidays();
      } else {
        reporter.add(node, "extends",
                     "'" + *value + "' is not a built-in calendar (fr, fr_alsace_moselle)");
      }
    }
  }
  std::array<bool, 7> weekend = saturday_sunday;
  if (const auto node = (*root)["weekend"]) {
    if (!node.IsSequence()) {
      reporter.add(node, "weekend", "expected a list of weekday names ([saturday, sunday])");
    } else {
      weekend.fill(false);
      for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string path = "weekend[" + std::to_string(i) + "]";
        auto value = yaml_support::scalar(node[i], path, reporter);
        if (!value) continue;
        if (auto index = weekday_from_name(*value)) {
          weekend[*index] = true;
        } else {
          reporter.add(node[i], path, "'" + *value + "' is not a weekday name (monday...sunday)");
        }
      }
      bool any_working = false;
      for (bool off : weekend) any_working = any_working || !off;
      if (!any_working) reporter.add(node, "weekend", "every day of the week is a weekend day");
    }
  }
  if (const auto list = (*root)["holidays"]) {
    if (!list.IsSequence()) {
      reporter.add(list, "holidays", "expected a list of holidays");
    } else if (list.size() > holidays_per_calendar_max) {
      reporter.add(list, "holidays",
                   "more than " + std::to_string(holidays_per_calendar_max) + " holidays");
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const YAML::Node entry = list[i];
        const std::string path = "holidays[" + std::to_string(i) + "]";
        if (!yaml_support::check_map(
                entry, path, {"name", "date", "yearly", "easter_offset", "from_year", "until_year"},
                reporter)) {
          continue;
        }
        HolidayRule rule;
        bool valid = true;
        if (const auto node = entry["name"]) {
          if (auto value = yaml_support::scalar(node, path + ".name", reporter)) rule.name = *value;
        } else {
          reporter.add(entry, path + ".name", "missing: every holiday needs a name");
          valid = false;
        }
        int placements = 0;
        if (const auto node = entry["date"]) {
          ++placements;
          rule.kind = HolidayRule::Kind::fixed_date;
          auto value = yaml_support::scalar(node, path + ".date", reporter);
          auto date = value ? parse_date(*value) : Result<Date>(Error{"", ""});
          if (value && !date) reporter.add(node, path + ".date", date.error().message);
          if (date)
            rule.date = *date;
          else
            valid = false;
        }
        if (const auto node = entry["yearly"]) {
          ++placements;
          rule.kind = HolidayRule::Kind::yearly;
          auto value = yaml_support::scalar(node, path + ".yearly", reporter);
          auto day = value ? parse_month_day(*value) : std::nullopt;
          if (value && !day) {
            reporter.add(node, path + ".yearly", "'" + *value + "' is not a month-day (MM-DD)");
          }
          if (day)
            rule.month_day = *day;
          else
            valid = false;
        }
        if (const auto node = entry["easter_offset"]) {
          ++placements;
          rule.kind = HolidayRule::Kind::easter_offset;
          auto value = yaml_support::integer(node, path + ".easter_offset", -200, 200, reporter);
          if (value)
            rule.easter_days = static_cast<int>(*value);
          else
            valid = false;
        }
        if (placements != 1) {
          reporter.add(entry, path,
                       "a holiday needs exactly one of date, yearly and easter_offset");
          valid = false;
        }
        for (const char* bound : {"from_year", "until_year"}) {
          const auto node = entry[bound];
          if (!node) continue;
          if (rule.kind == HolidayRule::Kind::fixed_date) {
            reporter.add(node, path + "." + bound, "only recurring holidays take a year bound");
            valid = false;
            continue;
          }
          auto value = yaml_support::integer(node, path + "." + bound, 1583, 9999, reporter);
          if (!value) {
            valid = false;
          } else if (std::string_view(bound) == "from_year") {
            rule.first_year = static_cast<int>(*value);
          } else {
            rule.last_year = static_cast<int>(*value);
          }
        }
        if (rule.first_year && rule.last_year && *rule.first_year > *rule.last_year) {
          reporter.add(entry["until_year"], path + ".until_year", "is before from_year");
          valid = false;
        }
        if (valid) holidays.push_back(std::move(rule));
      }
    }
  }
  if (!reporter.empty()) return std::nullopt;
  return BusinessCalendar(std::move(name), weekend, std::move(holidays));
}

}  // namespace

Date easter_sunday(year y) {
  const int Y = static_cast<int>(y);
  const int a = Y % 19;
  const int b = Y / 100;
  const int c = Y % 100;
  const int d = b / 4;
  const int e = b % 4;
  const int f = (b + 8) / 25;
  const int g = (b - f + 1) / 3;
  const int h = (19 * a + b - d - g + 15) % 30;
  const int i = c / 4;
  const int k = c % 4;
  const int l = (32 + 2 * e + 2 * i - h - k) % 7;
  const int m = (a + 11 * h + 22 * l) / 451;
  const int month_number = (h + l - 7 * m + 114) / 31;
  const int day_number = ((h + l - 7 * m + 114) % 31) + 1;
  return y / month{static_cast<unsigned>(month_number)} / day{static_cast<unsigned>(day_number)};
}

bool HolidayRule::falls_on(Date date) const {
  if (kind == Kind::fixed_date) return date == this->date;
  const int y = year_of(date);
  if (first_year && y < *first_year) return false;
  if (last_year && y > *last_year) return false;
  if (kind == Kind::yearly)
    return date.month() == month_day.month() && date.day() == month_day.day();
  return date == add_days(easter_sunday(date.year()), easter_days);
}

namespace {

constexpr int holiday_table_first_year = 2000;
constexpr int holiday_table_last_year = 2100;

std::int32_t day_number(Date date) {
  return static_cast<std::int32_t>(sys_days(date).time_since_epoch().count());
}

}  // namespace

BusinessCalendar::BusinessCalendar(std::string name, std::array<bool, 7> weekend,
                                   std::vector<HolidayRule> holidays)
    : name_(std::move(name)), weekend_(weekend), holidays_(std::move(holidays)) {
  bool any_working = false;
  for (bool off : weekend_) any_working = any_working || !off;
  RELANCE_ASSERT(any_working);
  for (int y = holiday_table_first_year; y <= holiday_table_last_year; ++y) {
    const std::chrono::year year{y};
    const Date easter = easter_sunday(year);
    for (const HolidayRule& rule : holidays_) {
      Date date;
      switch (rule.kind) {
        case HolidayRule::Kind::fixed_date:
          date = rule.date;
          break;
        case HolidayRule::Kind::yearly:
          date = year / rule.month_day;
          break;
        case HolidayRule::Kind::easter_offset:
          date = add_days(easter, rule.easter_days);
          break;
      }
      // falls_on() decides (bounds of years, 29 February): the table only lists its answers.
      if (date.ok() && year_of(date) == y && rule.falls_on(date)) {
        holiday_days_.push_back(day_number(date));
      }
    }
  }
  std::sort(holiday_days_.begin(), holiday_days_.end());
  holiday_days_.erase(std::unique(holiday_days_.begin(), holiday_days_.end()), holiday_days_.end());
}

bool BusinessCalendar::is_weekend(Date date) const {
  return weekend_[weekday(sys_days(date)).c_encoding()];
}

std::optional<std::string> BusinessCalendar::holiday_name(Date date) const {
  for (const HolidayRule& rule : holidays_) {
    if (rule.falls_on(date)) return rule.name;
  }
  return std::nullopt;
}

bool BusinessCalendar::is_holiday(Date date) const {
  const int y = year_of(date);
  if (y < holiday_table_first_year || y > holiday_table_last_year) {
    return std::any_of(holidays_.begin(), holidays_.end(),
                       [&](const HolidayRule& rule) { return rule.falls_on(date); });
  }
  return std::binary_search(holiday_days_.begin(), holiday_days_.end(), day_number(date));
}

bool BusinessCalendar::is_business_day(Date date) const {
  return !is_weekend(date) && !is_holiday(date);
}

Date BusinessCalendar::next_business_day(Date date) const {
  for (int i = 1; i <= business_day_search_days_max; ++i) {
    const Date candidate = add_days(date, i);
    if (is_business_day(candidate)) return candidate;
  }
  RELANCE_ASSERT(!"a business calendar has a business day within business_day_search_days_max");
  return date;
}

Date BusinessCalendar::previous_business_day(Date date) const {
  for (int i = 1; i <= business_day_search_days_max; ++i) {
    const Date candidate = add_days(date, -i);
    if (is_business_day(candidate)) return candidate;
  }
  RELANCE_ASSERT(!"a business calendar has a business day within business_day_search_days_max");
  return date;
}

Date BusinessCalendar::first_business_day_on_or_after(Date date) const {
  return is_business_day(date) ? date : next_business_day(date);
}

Date BusinessCalendar::add_business_days(Date date, int count) const {
  Date current = date;
  for (int i = 0; i < count; ++i) current = next_business_day(current);
  for (int i = 0; i > count; --i) current = previous_business_day(current);
  return current;
}

BusinessCalendar france_calendar() { return {"fr", saturday_sunday, france_holidays()}; }

BusinessCalendar france_alsace_moselle_calendar() {
  std::vector<HolidayRule> holidays = france_holidays();
  holidays.push_back(easter("Vendredi saint", -2));
  holidays.push_back(yearly("Saint-Étienne", 12, 26));
  return {"fr_alsace_moselle", saturday_sunday, std::move(holidays)};
}

std::optional<BusinessCalendar> builtin_calendar(std::string_view name) {
  if (name == "fr") return france_calendar();
  if (name == "fr_alsace_moselle") return france_alsace_moselle_calendar();
  return std::nullopt;
}

std::vector<Problem> check_calendar_text(const std::string& yaml_text, const std::string& file) {
  Reporter reporter(file);
  try {
    (void)parse_calendar(yaml_text, file, reporter);
  } catch (const std::exception& error) {
    reporter.add_at_line(0, "", std::string("cannot read the calendar: ") + error.what());
  }
  return std::move(reporter.problems());
}

Result<BusinessCalendar> load_calendar_text(const std::string& yaml_text, const std::string& file) {
  Reporter reporter(file);
  try {
    if (auto calendar = parse_calendar(yaml_text, file, reporter)) return std::move(*calendar);
  } catch (const std::exception& error) {
    reporter.add_at_line(0, "", std::string("cannot read the calendar: ") + error.what());
  }
  return to_error(reporter.problems());
}

Result<BusinessCalendar> load_calendar_file(const std::string& path) {
  Reporter reporter(path);
  auto text = yaml_support::read_text_file(path, reporter);
  if (!text) return to_error(reporter.problems());
  return load_calendar_text(*text, path);
}

}  // namespace relance::core::dunning
