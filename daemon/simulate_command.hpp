#pragma once
// `relanced simulate --config FILE --events FILE.jsonl --from DATE --to DATE`: what-if. Replays
// canonical events (one CloudEvents JSON envelope a line), each at its `time`, through the same
// engine, dunning glue and scheduler as the daemon, with a virtual clock that jumps from one
// event or due step to the next, and prints every action that would have been sent as a JSON
// line. Nothing is delivered and no store is opened.

#include <iosfwd>
#include <span>
#include <string>

#include "config/config.hpp"

namespace relance {

// `args` are the words after "simulate". Exit codes: 0; 64 bad arguments; 65 an event that does
// not parse (file and line named); 78 a configuration, policy, template or rate problem.
int run_simulate(std::span<const std::string> args, std::ostream& out, std::ostream& err,
                 const config::Environment& env = config::process_environment);

}  // namespace relance
