#include "core/natural_order.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace relance::core {
namespace {

TEST(NaturalOrder, numbers_in_ids_compare_as_numbers) {
  EXPECT_TRUE(natural_less("INV-9", "INV-10"));
  EXPECT_FALSE(natural_less("INV-10", "INV-9"));
  EXPECT_TRUE(natural_less("INV/2026/99", "INV/2026/100"));
  EXPECT_TRUE(natural_less("A2-B10", "A10-B2"));
  EXPECT_TRUE(natural_less("A2-B9", "A2-B10"));
  EXPECT_TRUE(natural_less("F2026-5005", "F2026-10005"));
}

TEST(NaturalOrder, text_compares_byte_by_byte_and_a_prefix_goes_first) {
  EXPECT_TRUE(natural_less("ABC", "ABD"));
  EXPECT_TRUE(natural_less("INV", "INV-1"));
  EXPECT_TRUE(natural_less("INV-1", "INV-1a"));
  EXPECT_TRUE(natural_less("", "0"));
  EXPECT_TRUE(natural_less("INV-1", "INV-A"));  // '1' < 'A', whatever the number
  EXPECT_TRUE(natural_less("INV-999", "INV-A"));
  EXPECT_EQ(natural_compare("INV-42", "INV-42"), 0);
}

TEST(NaturalOrder, ids_equal_as_numbers_still_differ) {
  // Leading zeros aside the numbers are equal: byte order decides, and neither is less than itself.
  EXPECT_TRUE(natural_less("INV-010", "INV-10"));
  EXPECT_FALSE(natural_less("INV-10", "INV-010"));
  EXPECT_NE(natural_compare("INV-0", "INV-00"), 0);
  EXPECT_TRUE(natural_less("INV-7-a", "INV-007-b"));  // what follows the numbers decides first
  EXPECT_FALSE(natural_less("INV-7", "INV-7"));
}

TEST(NaturalOrder, is_a_strict_total_order) {
  // The empty id, then ids separated by spaces.
  std::vector<std::string> ids = {""};
  std::istringstream words(
      "0 00 000 1 01 9 10 010 99 100 a a0 a00 a1 a01 a9 a10 a010 a1b a1b2 a1b10 a01b2 a10b1 A1 "
      "a-1 a-01 a-10 INV-9 INV-10 INV-009 INV-9999 INV-10000 18446744073709551616 "
      "18446744073709551615 x\xff x/ x: x9 x10/ x10:");
  for (std::string id; words >> id;) ids.push_back(id);
  for (const std::string& a : ids) {
    EXPECT_FALSE(natural_less(a, a)) << a;
    for (const std::string& b : ids) {
      if (a == b) continue;
      EXPECT_NE(natural_less(a, b), natural_less(b, a)) << a << " / " << b;
      EXPECT_EQ(natural_compare(a, b), -natural_compare(b, a)) << a << " / " << b;
      for (const std::string& c : ids) {
        if (natural_less(a, b) && natural_less(b, c)) {
          EXPECT_TRUE(natural_less(a, c)) << a << " < " << b << " < " << c;
        }
      }
    }
  }
  std::vector<std::string> sorted = ids;
  std::sort(sorted.begin(), sorted.end(), natural_less);
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end(), natural_less));
}

}  // namespace
}  // namespace relance::core
