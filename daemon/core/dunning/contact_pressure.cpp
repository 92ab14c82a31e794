#include "core/dunning/contact_pressure.hpp"

#include <algorithm>
#include <vector>

namespace relance::core::dunning {

namespace {
constexpr std::chrono::microseconds week = std::chrono::days(7);
}

bool is_contact_allowed(std::span<const Timestamp> contacts, Timestamp instant,
                        const ContactPressure& pressure) {
  for (const Timestamp contact : contacts) {
    const auto gap = contact > instant ? contact - instant : instant - contact;
    if (gap < pressure.contact_interval_min) return false;
  }
  // Every week [start, start + 7 days) that contains `instant` must hold at most
  // contacts_per_week_max - 1 other contacts. As the start slides, the count only drops when
  // the start passes a contact, so the fullest weeks start at a contact or at `instant`.
  std::vector<Timestamp> starts{instant};
  for (const Timestamp contact : contacts) {
    if (contact > instant - week && contact <= instant) starts.push_back(contact);
  }
  for (const Timestamp start : starts) {
    const auto in_week = std::count_if(contacts.begin(), contacts.end(), [&](Timestamp contact) {
      return contact >= start && contact < start + week;
    });
    if (in_week + 1 > pressure.contacts_per_week_max) return false;
  }
  return true;
}

Result<Timestamp> earliest_contact_instant(std::span<const Timestamp> contacts, Timestamp wanted,
                                           const ContactPressure& pressure) {
  if (pressure.contacts_per_week_max < 1) {
    return Error{"contacts_per_week_max", "must be at least 1"};
  }
  if (pressure.contact_interval_min < std::chrono::minutes(0)) {
    return Error{"contact_interval_min", "must not be negative"};
  }
  if (contacts.size() > contacts_considered_max) {
    return Error{"contacts", std::to_string(contacts.size()) + " contacts given; at most " +
                                 std::to_string(contacts_considered_max) + " are considered"};
  }
  // The allowed instants form a union of intervals closed on the left; each left end is the
  // wanted instant, or where a contact stops being too close (contact + interval) or leaves the
  // rolling week (contact + 7 days). Trying those in order finds the earliest.
  std::vector<Timestamp> candidates{wanted};
  for (const Timestamp contact : contacts) {
    for (const Timestamp candidate : {contact + pressure.contact_interval_min, contact + week}) {
      if (candidate > wanted) candidates.push_back(candidate);
    }
  }
  std::sort(candidates.begin(), candidates.end());
  for (const Timestamp candidate : candidates) {
    if (is_contact_allowed(contacts, candidate, pressure)) return candidate;
  }
  // The latest candidate is at least a week and an interval after every contact.
  RELANCE_ASSERT(!"the last contact-pressure candidate is always allowed");
  return wanted;
}

}  // namespace relance::core::dunning
