#pragma once
// A failed fuzz check is a bug in the parser: say which property broke and stop, so that
// libFuzzer (or the corpus driver under ctest) records the input.

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define RELANCE_FUZZ_CHECK(condition, what)                                                     \
  do {                                                                                          \
    if (!(condition)) {                                                                         \
      std::fprintf(stderr, "fuzz check failed: %s (%s) at %s:%d\n", what, #condition, __FILE__, \
                   __LINE__);                                                                   \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)
