#pragma once
// One thing wrong with a dunning configuration file (calendar, rates, policy, template), with
// where it is, so that an operator can fix the file.

#include <string>
#include <vector>

#include "core/result.hpp"

namespace relance::core::dunning {

struct Problem {
  std::string file;
  int line = 0;     // 1-based; 0 when the problem is not at one place
  std::string key;  // "policies.standard.steps[2].template"
  std::string message;
  // "config/policies/default.yaml:12: policies.standard.steps[2].template: ..."
  std::string to_string() const;
};

// All problems as one Error (one line each), for the Result-returning load functions.
Error to_error(const std::vector<Problem>& problems);

}  // namespace relance::core::dunning
