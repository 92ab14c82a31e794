#include "core/natural_order.hpp"

#include <cstddef>

namespace relance::core {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int sign(int n) { return (n > 0) - (n < 0); }

// The run of digits at `from` without its leading zeros.
std::string_view number_at(std::string_view s, std::size_t from, std::size_t& end) {
  end = from;
  while (end < s.size() && s[end] == '0') ++end;
  const std::size_t first = end;
  while (end < s.size() && is_digit(s[end])) ++end;
  return s.substr(first, end - first);
}

}  // namespace

int natural_compare(std::string_view a, std::string_view b) {
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      // Two numbers: the longer is the larger; of the same length, their digits decide.
      const std::string_view x = number_at(a, i, i);
      const std::string_view y = number_at(b, j, j);
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      if (const int digits = x.compare(y); digits != 0) return sign(digits);
      continue;
    }
    if (a[i] != b[j]) {
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
    }
    ++i;
    ++j;
  }
  if (i < a.size()) return 1;
  if (j < b.size()) return -1;
  return sign(a.compare(b));
}

}  // namespace relance::core
