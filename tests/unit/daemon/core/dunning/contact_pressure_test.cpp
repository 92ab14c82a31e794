#include "core/dunning/contact_pressure.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace relance::core::dunning {
namespace {

using namespace std::chrono;

const Timestamp t0 = parse_timestamp("2026-11-23T09:00:00Z").value();

ContactPressure pressure(hours interval, int per_week) {
  ContactPressure p;
  p.contact_interval_min = interval;
  p.contacts_per_week_max = per_week;
  return p;
}

// Instants as RFC 3339 text, so that a failure shows readable instants.
std::string text(Timestamp instant) { return format_timestamp(instant); }

std::string earliest(const std::vector<Timestamp>& contacts, Timestamp wanted,
                     const ContactPressure& p) {
  auto result = earliest_contact_instant(contacts, wanted, p);
  if (!result.ok()) return "error: " + result.error().to_string();
  return text(*result);
}

TEST(ContactPressure, defaults_are_48_hours_apart_and_two_a_week) {
  const ContactPressure defaults;
  EXPECT_EQ(defaults.contact_interval_min, hours(48));
  EXPECT_EQ(defaults.contacts_per_week_max, 2);
}

TEST(ContactPressure, without_any_contact_the_wanted_instant_is_kept) {
  EXPECT_EQ(earliest({}, t0, ContactPressure{}), text(t0));
  EXPECT_TRUE(is_contact_allowed({}, t0, ContactPressure{}));
}

TEST(MinimumInterval, pushes_a_contact_until_the_interval_since_the_last_one_has_passed) {
  const ContactPressure p = pressure(hours(48), 10);
  // An e-mail yesterday: the CRM task wanted today waits until 48 hours after it.
  const std::vector<Timestamp> contacts{t0 - hours(24)};
  EXPECT_FALSE(is_contact_allowed(contacts, t0, p));
  EXPECT_EQ(earliest(contacts, t0, p), text(t0 + hours(24)));
  EXPECT_TRUE(is_contact_allowed(contacts, t0 + hours(24), p));
  // Exactly the interval is enough.
  EXPECT_TRUE(is_contact_allowed(std::vector<Timestamp>{t0 - hours(48)}, t0, p));
  EXPECT_FALSE(is_contact_allowed(std::vector<Timestamp>{t0 - hours(48) + seconds(1)}, t0, p));
}

TEST(MinimumInterval, applies_to_contacts_already_scheduled_after_the_wanted_instant) {
  const ContactPressure p = pressure(hours(48), 10);
  // A statement is scheduled in 30 hours: a contact now would be too close to it, and so would
  // anything until 48 hours after it.
  const std::vector<Timestamp> contacts{t0 + hours(30)};
  EXPECT_FALSE(is_contact_allowed(contacts, t0, p));
  EXPECT_EQ(earliest(contacts, t0, p), text(t0 + hours(78)));
  // Far enough before it is fine.
  EXPECT_TRUE(is_contact_allowed(contacts, t0 - hours(18), p));
}

TEST(MinimumInterval, finds_a_gap_between_contacts_when_there_is_one) {
  const ContactPressure p = pressure(hours(24), 10);
  // Contacts at t0 and t0 + 72 h: t0 + 24 h to t0 + 48 h is free.
  const std::vector<Timestamp> contacts{t0, t0 + hours(72)};
  EXPECT_EQ(earliest(contacts, t0 + hours(1), p), text(t0 + hours(24)));
  // Contacts at t0 and t0 + 36 h: no gap of 24 hours on both sides; after the second one.
  const std::vector<Timestamp> tight{t0, t0 + hours(36)};
  EXPECT_EQ(earliest(tight, t0 + hours(1), p), text(t0 + hours(60)));
}

TEST(WeeklyBudget, counts_a_rolling_week_of_seven_times_24_hours) {
  const ContactPressure p = pressure(hours(0), 2);
  // Two contacts on Monday and Tuesday: the third waits until Monday's leaves the week.
  const std::vector<Timestamp> contacts{t0, t0 + hours(24)};
  EXPECT_FALSE(is_contact_allowed(contacts, t0 + hours(48), p));
  EXPECT_EQ(earliest(contacts, t0 + hours(48), p), text(t0 + days(7)));
  EXPECT_TRUE(is_contact_allowed(contacts, t0 + days(7), p));
  EXPECT_FALSE(is_contact_allowed(contacts, t0 + days(7) - seconds(1), p));
}

TEST(WeeklyBudget, counts_scheduled_contacts_in_any_week_that_holds_the_new_one) {
  const ContactPressure p = pressure(hours(0), 2);
  // One contact 3 days before and one 3 days after: the week starting at the first holds all
  // three.
  const std::vector<Timestamp> contacts{t0 - days(3), t0 + days(3)};
  EXPECT_FALSE(is_contact_allowed(contacts, t0, p));
  // Once the first is more than a week before, only the scheduled one shares a week.
  EXPECT_EQ(earliest(contacts, t0, p), text(t0 + days(4)));
  // Spread over 8 days they never share a week: allowed.
  EXPECT_TRUE(is_contact_allowed(std::vector<Timestamp>{t0 - days(4), t0 + days(4)}, t0, p));
}

TEST(ContactPressure, interval_and_budget_together) {
  const ContactPressure p = pressure(hours(48), 2);
  // Contacts Monday and Wednesday (48 h apart). Wanted Thursday: too close to Wednesday
  // (until Friday), and the week of Monday is full until next Monday.
  const std::vector<Timestamp> contacts{t0, t0 + hours(48)};
  EXPECT_EQ(earliest(contacts, t0 + hours(72), p), text(t0 + days(7)));
  // With a budget of 3, only the interval holds it back: Friday.
  EXPECT_EQ(earliest(contacts, t0 + hours(72), pressure(hours(48), 3)), text(t0 + hours(96)));
}

TEST(ContactPressure, refuses_a_budget_below_one_and_too_many_contacts) {
  auto zero = earliest_contact_instant({}, t0, pressure(hours(48), 0));
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().field, "contacts_per_week_max");

  ContactPressure negative;
  negative.contact_interval_min = minutes(-1);
  auto backwards = earliest_contact_instant({}, t0, negative);
  ASSERT_FALSE(backwards.ok());
  EXPECT_EQ(backwards.error().field, "contact_interval_min");

  const std::vector<Timestamp> many(contacts_considered_max + 1, t0 - days(30));
  auto flood = earliest_contact_instant(many, t0, ContactPressure{});
  ASSERT_FALSE(flood.ok());
  EXPECT_EQ(flood.error().field, "contacts");
  const std::vector<Timestamp> enough(contacts_considered_max, t0 - days(30));
  EXPECT_EQ(earliest(enough, t0, ContactPressure{}), text(t0));
}

}  // namespace
}  // namespace relance::core::dunning
