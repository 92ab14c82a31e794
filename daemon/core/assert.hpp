#pragma once
// Always-on invariant checks. A broken invariant is a bug: name it and stop, never carry on.

#include <cstdio>
#include <cstdlib>

namespace relance::detail {
[[noreturn]] inline void assertion_failed(const char* invariant, const char* file, int line) {
  std::fprintf(stderr, "relance: invariant broken: %s (%s:%d)\n", invariant, file, line);
  std::abort();
}
}  // namespace relance::detail

#define RELANCE_ASSERT(condition)                                                          \
  do {                                                                                     \
    if (!(condition)) ::relance::detail::assertion_failed(#condition, __FILE__, __LINE__); \
  } while (false)
