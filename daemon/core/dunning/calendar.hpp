#pragma once
// Business calendars: weekend days plus public holidays. France (and its Alsace-Moselle variant)
// is built in; other calendars are loaded from YAML (config/calendars/*.yaml).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/date.hpp"
#include "core/dunning/problem.hpp"
#include "core/result.hpp"

namespace relance::core::dunning {

// Gregorian Easter Sunday of `year` (anonymous Gregorian algorithm; valid for any year >= 1583).
Date easter_sunday(std::chrono::year year);

// A public holiday rule. Exactly one of the three ways to place it is used.
struct HolidayRule {
  enum class Kind : std::uint8_t {
    fixed_date,     // once: 2026-05-15
    yearly,         // every year on month/day: 07-14
    easter_offset,  // every year, days from Easter Sunday: +1 Easter Monday, -2 Good Friday
  };
  std::string name;
  Kind kind = Kind::yearly;
  Date date{};                         // fixed_date
  std::chrono::month_day month_day{};  // yearly
  int easter_days = 0;                 // easter_offset
  // Inclusive bounds for the recurring kinds (a holiday created or abolished in some year).
  std::optional<int> first_year;
  std::optional<int> last_year;

  bool falls_on(Date date) const;
};

class BusinessCalendar {
 public:
  // `weekend` is indexed by std::chrono::weekday::c_encoding() (0 = Sunday).
  BusinessCalendar(std::string name, std::array<bool, 7> weekend,
                   std::vector<HolidayRule> holidays);

  const std::string& name() const { return name_; }
  const std::vector<HolidayRule>& holidays() const { return holidays_; }

  bool is_weekend(Date date) const;
  // The name of the holiday on `date`, if any.
  std::optional<std::string> holiday_name(Date date) const;
  bool is_business_day(Date date) const;

  // The first business day strictly after `date`.
  Date next_business_day(Date date) const;
  // The last business day strictly before `date`.
  Date previous_business_day(Date date) const;
  // `date` when it is a business day, else the next one.
  Date first_business_day_on_or_after(Date date) const;
  // Moves `count` business days forward (negative: backward). Counting starts from `date`
  // whether or not it is a business day: add_business_days(Friday, 1) is Monday (no holiday),
  // add_business_days(Saturday, 1) is Monday too, add_business_days(d, 0) is d unchanged.
  Date add_business_days(Date date, int count) const;

 private:
  bool is_holiday(Date date) const;

  std::string name_;
  std::array<bool, 7> weekend_;
  std::vector<HolidayRule> holidays_;
  // The holidays of [holiday_table_first_year, holiday_table_last_year] as day numbers, sorted:
  // the scheduler asks whether a day is a business day many times an event, and the rules
  // (Easter's among them) cost far more than a binary search. Other years use the rules.
  std::vector<std::int32_t> holiday_days_;
};

// France: 1 January, Easter Monday, 1 May, 8 May, Ascension, Whit Monday, 14 July, 15 August,
// 1 November, 11 November, 25 December (Code du travail L3133-1), weekend Saturday and Sunday.
BusinessCalendar france_calendar();
// Alsace-Moselle (Bas-Rhin, Haut-Rhin, Moselle): France plus Good Friday and 26 December
// (Code du travail L3134-13).
BusinessCalendar france_alsace_moselle_calendar();

// "fr" and "fr_alsace_moselle" are built in.
std::optional<BusinessCalendar> builtin_calendar(std::string_view name);

// A calendar file:
//   name: be                       # defaults to the file name without .yaml
//   extends: fr                    # optional: start from a built-in calendar's holidays
//   weekend: [saturday, sunday]    # default Saturday and Sunday
//   holidays:
//     - {name: "Fete nationale", yearly: "07-21"}
//     - {name: "Lundi de Paques", easter_offset: 1}
//     - {name: "Fermeture", date: "2026-05-15"}
//     - {name: "Jour X", yearly: "06-02", from_year: 2027, until_year: 2030}
// Problems name the file, the line and the field.
std::vector<Problem> check_calendar_text(const std::string& yaml_text, const std::string& file);
Result<BusinessCalendar> load_calendar_text(const std::string& yaml_text, const std::string& file);
Result<BusinessCalendar> load_calendar_file(const std::string& path);

}  // namespace relance::core::dunning
