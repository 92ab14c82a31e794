#include "core/dunning/calendar.hpp"

#include <gtest/gtest.h>

#include "core/dunning/policy.hpp"

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

Date d(int y, unsigned m, unsigned day) { return year{y} / month{m} / std::chrono::day{day}; }

TEST(EasterSunday, matches_published_dates_including_the_extremes) {
  EXPECT_EQ(easter_sunday(year{2024}), d(2024, 3, 31));
  EXPECT_EQ(easter_sunday(year{2025}), d(2025, 4, 20));
  EXPECT_EQ(easter_sunday(year{2026}), d(2026, 4, 5));
  EXPECT_EQ(easter_sunday(year{2027}), d(2027, 3, 28));
  EXPECT_EQ(easter_sunday(year{2000}), d(2000, 4, 23));
  EXPECT_EQ(easter_sunday(year{1818}), d(1818, 3, 22));  // earliest possible date
  EXPECT_EQ(easter_sunday(year{1943}), d(1943, 4, 25));  // latest possible date
  EXPECT_EQ(easter_sunday(year{2285}), d(2285, 3, 22));
}

TEST(FranceCalendar, computes_the_easter_based_holidays_of_2026) {
  const BusinessCalendar fr = france_calendar();
  EXPECT_EQ(fr.holiday_name(d(2026, 4, 6)), "Lundi de Pâques");
  EXPECT_EQ(fr.holiday_name(d(2026, 5, 14)), "Ascension");
  EXPECT_EQ(fr.holiday_name(d(2026, 5, 25)), "Lundi de Pentecôte");
  // Good Friday is a holiday only in Alsace-Moselle.
  EXPECT_FALSE(fr.holiday_name(d(2026, 4, 3)));
  EXPECT_TRUE(fr.is_business_day(d(2026, 4, 3)));
  // And they move with Easter: 2025.
  EXPECT_EQ(fr.holiday_name(d(2025, 4, 21)), "Lundi de Pâques");
  EXPECT_EQ(fr.holiday_name(d(2025, 5, 29)), "Ascension");
  EXPECT_EQ(fr.holiday_name(d(2025, 6, 9)), "Lundi de Pentecôte");
}

TEST(FranceCalendar, has_eleven_public_holidays_a_year) {
  const BusinessCalendar fr = france_calendar();
  int holidays = 0;
  for (Date day = d(2026, 1, 1); day != d(2027, 1, 1); day = add_days(day, 1)) {
    if (fr.holiday_name(day)) ++holidays;
  }
  EXPECT_EQ(holidays, 11);
  EXPECT_EQ(fr.holiday_name(d(2026, 7, 14)), "Fête nationale");
  EXPECT_EQ(fr.holiday_name(d(2026, 11, 11)), "Armistice 1918");
  EXPECT_FALSE(fr.holiday_name(d(2026, 12, 26)));
}

TEST(FranceCalendar, weekends_and_holidays_are_not_business_days) {
  const BusinessCalendar fr = france_calendar();
  EXPECT_FALSE(fr.is_business_day(d(2026, 11, 21)));  // Saturday
  EXPECT_FALSE(fr.is_business_day(d(2026, 11, 22)));  // Sunday
  EXPECT_TRUE(fr.is_business_day(d(2026, 11, 23)));   // Monday
  EXPECT_FALSE(fr.is_business_day(d(2026, 5, 1)));    // Friday, Fête du Travail
  EXPECT_TRUE(fr.is_weekend(d(2026, 11, 22)));
  EXPECT_FALSE(fr.is_weekend(d(2026, 5, 1)));
}

TEST(BusinessCalendar, business_days_agree_with_the_holiday_rules_in_and_beyond_its_table) {
  // Bounded rules, 29 February and a one-off date as well as the built-in holidays.
  std::vector<HolidayRule> rules = france_alsace_moselle_calendar().holidays();
  HolidayRule leap{"Leap day", HolidayRule::Kind::yearly, {}, February / 29, 0, 2004, 2096};
  HolidayRule once{"Closed", HolidayRule::Kind::fixed_date, d(2100, 12, 31), {}, 0, {}, {}};
  HolidayRule easter{"Easter Tuesday", HolidayRule::Kind::easter_offset, {}, {}, 2, 1999, 2001};
  rules.insert(rules.end(), {leap, once, easter});
  const BusinessCalendar calendar("test", {true, false, false, false, false, false, true}, rules);
  int holidays = 0;
  for (Date day = d(1995, 1, 1); day <= d(2105, 12, 31); day = add_days(day, 1)) {
    const bool holiday = calendar.holiday_name(day).has_value();
    holidays += holiday ? 1 : 0;
    ASSERT_EQ(calendar.is_business_day(day), !calendar.is_weekend(day) && !holiday)
        << format_date(day);
  }
  EXPECT_GT(holidays, 13 * 111);
  EXPECT_FALSE(calendar.is_business_day(d(2096, 2, 29)));  // a Wednesday, still in the bounds
  EXPECT_FALSE(calendar.is_business_day(d(2000, 4, 25)));  // Easter Tuesday, within its years
  EXPECT_TRUE(calendar.is_business_day(d(2002, 4, 2)));    // Easter Tuesday, beyond them
}

TEST(AlsaceMoselleCalendar, adds_good_friday_and_saint_stephen) {
  const BusinessCalendar am = france_alsace_moselle_calendar();
  EXPECT_EQ(am.holiday_name(d(2026, 4, 3)), "Vendredi saint");
  EXPECT_EQ(am.holiday_name(d(2026, 12, 26)), "Saint-Étienne");
  EXPECT_EQ(am.holiday_name(d(2026, 5, 14)), "Ascension");
  EXPECT_EQ(builtin_calendar("fr_alsace_moselle")->name(), "fr_alsace_moselle");
  EXPECT_EQ(builtin_calendar("fr")->name(), "fr");
  EXPECT_FALSE(builtin_calendar("de"));
}

TEST(BusinessDays, count_from_the_given_date_whatever_it_is) {
  const BusinessCalendar fr = france_calendar();
  EXPECT_EQ(fr.add_business_days(d(2026, 11, 20), 1), d(2026, 11, 23));  // Friday -> Monday
  EXPECT_EQ(fr.add_business_days(d(2026, 11, 21), 1), d(2026, 11, 23));  // Saturday -> Monday
  EXPECT_EQ(fr.add_business_days(d(2026, 11, 21), 0), d(2026, 11, 21));
  EXPECT_EQ(fr.add_business_days(d(2026, 11, 22), -1), d(2026, 11, 20));  // Sunday -> Friday
  EXPECT_EQ(fr.add_business_days(d(2026, 11, 23), -1), d(2026, 11, 20));
  // From Thursday 24 Dec 2026 over Christmas (Fri) and New Year (Fri 1 Jan 2027): 28, 29, 30,
  // 31 Dec, 4 Jan.
  EXPECT_EQ(fr.add_business_days(d(2026, 12, 24), 5), d(2027, 1, 4));
  EXPECT_EQ(fr.first_business_day_on_or_after(d(2026, 5, 8)), d(2026, 5, 11));
  EXPECT_EQ(fr.first_business_day_on_or_after(d(2026, 5, 7)), d(2026, 5, 7));
  EXPECT_EQ(fr.next_business_day(d(2026, 5, 13)), d(2026, 5, 15));      // over Ascension
  EXPECT_EQ(fr.previous_business_day(d(2026, 5, 26)), d(2026, 5, 22));  // over Whit Monday
}

// The named case of the issue: a courtesy reminder five business days before a due date that
// follows a French public holiday.
PolicyStep courtesy_five_business_days_before() {
  PolicyStep step;
  step.name = "courtesy";
  step.at = parse_step_offset("due-5bd").value();
  step.template_name = "courtesy";
  return step;
}

TEST(CourtesyReminder, five_business_days_before_a_due_date_after_ascension_skips_two_holidays) {
  // Due Friday 15 May 2026, the day after Ascension (Thu 14); 8 May (Fri) is a holiday too:
  // 13, 12, 11, 7, 6 May.
  const auto date = step_date(courtesy_five_business_days_before(), d(2026, 5, 15), std::nullopt,
                              france_calendar());
  ASSERT_TRUE(date.ok()) << date.error().to_string();
  EXPECT_EQ(*date, d(2026, 5, 6));
}

TEST(CourtesyReminder, five_business_days_before_a_due_date_after_easter_monday) {
  // Due Tuesday 7 April 2026, the day after Easter Monday: 3, 2, 1 April, 31, 30 March.
  const PolicyStep step = courtesy_five_business_days_before();
  EXPECT_EQ(step_date(step, d(2026, 4, 7), std::nullopt, france_calendar()).value(),
            d(2026, 3, 30));
  // In Alsace-Moselle Good Friday (3 April) is off as well: one more day back.
  EXPECT_EQ(step_date(step, d(2026, 4, 7), std::nullopt, france_alsace_moselle_calendar()).value(),
            d(2026, 3, 27));
}

TEST(CourtesyReminder, five_business_days_before_a_due_date_after_whit_monday) {
  // Due Tuesday 26 May 2026, the day after Whit Monday: 22, 21, 20, 19, 18 May.
  EXPECT_EQ(step_date(courtesy_five_business_days_before(), d(2026, 5, 26), std::nullopt,
                      france_calendar())
                .value(),
            d(2026, 5, 18));
}

TEST(CalendarFile, extends_a_builtin_calendar_with_its_own_holidays) {
  const std::string text =
      "name: acme\n"
      "extends: fr\n"
      "weekend: [friday, saturday]\n"
      "holidays:\n"
      "  - {name: \"Fermeture annuelle\", date: \"2026-08-14\"}\n"
      "  - {name: \"Fête locale\", yearly: \"06-02\", from_year: 2027, until_year: 2030}\n"
      "  - {name: \"Vendredi saint\", easter_offset: -2}\n";
  auto calendar = load_calendar_text(text, "config/calendars/acme.yaml");
  ASSERT_TRUE(calendar.ok()) << calendar.error().to_string();
  EXPECT_EQ(calendar->name(), "acme");
  EXPECT_EQ(calendar->holiday_name(d(2026, 8, 14)), "Fermeture annuelle");
  EXPECT_FALSE(calendar->holiday_name(d(2027, 8, 14)));
  EXPECT_FALSE(calendar->holiday_name(d(2026, 6, 2)));
  EXPECT_EQ(calendar->holiday_name(d(2027, 6, 2)), "Fête locale");
  // 2 June 2031 is Whit Monday; 2032 shows the bound.
  EXPECT_EQ(calendar->holiday_name(d(2031, 6, 2)), "Lundi de Pentecôte");
  EXPECT_FALSE(calendar->holiday_name(d(2032, 6, 2)));
  EXPECT_EQ(calendar->holiday_name(d(2026, 4, 3)), "Vendredi saint");
  EXPECT_EQ(calendar->holiday_name(d(2026, 7, 14)), "Fête nationale");  // from fr
  EXPECT_TRUE(calendar->is_weekend(d(2026, 11, 20)));                   // Friday
  EXPECT_FALSE(calendar->is_weekend(d(2026, 11, 22)));                  // Sunday
}

TEST(CalendarFile, name_defaults_to_the_file_name) {
  auto calendar = load_calendar_text("holidays: []\n", "/etc/relance/calendars/be.yaml");
  ASSERT_TRUE(calendar.ok()) << calendar.error().to_string();
  EXPECT_EQ(calendar->name(), "be");
  EXPECT_TRUE(calendar->is_weekend(d(2026, 11, 21)));
  EXPECT_TRUE(calendar->is_business_day(d(2026, 7, 14)));  // no French holiday without extends
}

TEST(CalendarFile, every_problem_names_the_file_the_line_and_the_key) {
  const std::string text =
      "extends: xx\n"                                                          // 1
      "weekend: [saturday, funday]\n"                                          // 2
      "holidays:\n"                                                            // 3
      "  - {name: A, yearly: \"02-30\"}\n"                                     // 4
      "  - {name: B, date: \"2026-05-15\", yearly: \"05-15\"}\n"               // 5
      "  - {name: C, yearly: \"06-01\", from_year: 2030, until_year: 2029}\n"  // 6
      "  - {yearly: \"06-01\"}\n"                                              // 7
      "  - {name: D, easter_offset: 1, colour: red}\n"                         // 8
      "  - {name: E, date: \"2026-01-01\", from_year: 2026}\n";                // 9
  const std::vector<Problem> problems = check_calendar_text(text, "cal.yaml");
  const auto has = [&](int line, std::string_view key, std::string_view words) {
    for (const Problem& problem : problems) {
      if (problem.file == "cal.yaml" && problem.line == line && problem.key == key &&
          problem.message.find(words) != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  std::string all;
  for (const Problem& problem : problems) all += problem.to_string() + "\n";
  EXPECT_TRUE(has(1, "extends", "not a built-in calendar")) << all;
  EXPECT_TRUE(has(2, "weekend[1]", "not a weekday name")) << all;
  EXPECT_TRUE(has(4, "holidays[0].yearly", "'02-30' is not a month-day")) << all;
  EXPECT_TRUE(has(5, "holidays[1]", "exactly one of date, yearly and easter_offset")) << all;
  EXPECT_TRUE(has(6, "holidays[2].until_year", "before from_year")) << all;
  EXPECT_TRUE(has(7, "holidays[3].name", "missing")) << all;
  EXPECT_TRUE(has(8, "holidays[4].colour", "unknown key")) << all;
  EXPECT_TRUE(has(9, "holidays[5].from_year", "only recurring holidays")) << all;
  EXPECT_EQ(problems.size(), 8u) << all;

  auto loaded = load_calendar_text(text, "cal.yaml");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message.find("cal.yaml:4: holidays[0].yearly:"), std::string::npos)
      << loaded.error().message;
}

TEST(CalendarFile, refuses_a_week_without_working_days_and_bad_yaml) {
  const auto all_off =
      check_calendar_text("weekend: [mon, tue, wed, thu, fri, sat, sun]\n", "off.yaml");
  ASSERT_EQ(all_off.size(), 1u);
  EXPECT_EQ(all_off[0].key, "weekend");
  EXPECT_NE(all_off[0].message.find("every day of the week"), std::string::npos);

  const auto broken = check_calendar_text("holidays: [\n  {name: x\n", "broken.yaml");
  ASSERT_FALSE(broken.empty());
  EXPECT_NE(broken[0].message.find("not valid YAML"), std::string::npos);
  EXPECT_GT(broken[0].line, 0);

  auto missing = load_calendar_file("/nonexistent/relance/calendar.yaml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("/nonexistent/relance/calendar.yaml"), std::string::npos);
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace relance::core::dunning
