#pragma once
// Contact pressure: how often one customer may be contacted, across every channel. Pure
// bookkeeping for the scheduler: it passes the customer's contact instants (sent and already
// scheduled) and the instant it wants; the answer is the earliest instant that respects both
// limits.

#include <chrono>
#include <span>

#include "core/date.hpp"
#include "core/result.hpp"

namespace relance::core::dunning {

struct ContactPressure {
  // Two contacts of the same customer are at least this far apart, whatever the channels.
  std::chrono::minutes contact_interval_min{std::chrono::hours(48)};
  // At most this many contacts in any 7 x 24 hours (a rolling week, so that the limit does not
  // depend on a time zone or on which day a week starts). At least 1.
  int contacts_per_week_max = 2;
};

// Contacts beyond this are refused: the scheduler passes only the recent ones (older than
// contact_interval_min and a week they cannot matter).
inline constexpr std::size_t contacts_considered_max = 1000;

// Whether one more contact at `instant` respects both limits.
bool is_contact_allowed(std::span<const Timestamp> contacts, Timestamp instant,
                        const ContactPressure& pressure);

// The earliest instant at or after `wanted` when one more contact respects both limits.
// Errors: more than contacts_considered_max contacts, or a budget below 1.
Result<Timestamp> earliest_contact_instant(std::span<const Timestamp> contacts, Timestamp wanted,
                                           const ContactPressure& pressure);

}  // namespace relance::core::dunning
