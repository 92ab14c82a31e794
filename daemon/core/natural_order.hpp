#pragma once
// Ids in the order people number them: "INV-9" before "INV-10". Runs of digits compare as
// numbers, the rest byte by byte; ids this leaves equal ("INV-010" and "INV-10") then compare
// byte by byte, so that two different ids never tie.
//
// An ERP numbers invoices in sequence, often without zero padding: in byte order "INV-10" sorts
// before "INV-9", and from then on every new id of the sequence sorts before the last one. In
// this order the new id sorts last, which is what keeps a customer's invoices a cheap append.

#include <string_view>

namespace relance::core {

// Negative, zero or positive, as a < b, a == b, a > b.
int natural_compare(std::string_view a, std::string_view b);

inline bool natural_less(std::string_view a, std::string_view b) {
  return natural_compare(a, b) < 0;
}

}  // namespace relance::core
