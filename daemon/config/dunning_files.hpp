#pragma once
// The files that dunning.* points to (policies, templates, calendars, rate tables), checked the
// way the daemon will load them, for `relanced check-config`. Every problem of every file is
// reported, each with its file and line, rather than the first one the daemon would stop at.

#include <vector>

#include "config/config.hpp"

namespace relance::config {

// Empty when dunning.enabled is false or every file is valid. Relative folders are relative to
// the working directory, as for the daemon.
std::vector<Problem> check_dunning_files(const Config& config);

}  // namespace relance::config
