#pragma once
// The `relanced` command line as a table of commands, separate from main() so that tests run
// it without starting a daemon. A new command is one entry in the table (command_line.cpp).

#include <functional>
#include <iosfwd>
#include <span>
#include <string>

#include "config/config.hpp"

namespace relance::cli {

// sysexits.h codes, which service managers and Vector-like tools use for these cases.
inline constexpr int exit_ok = 0;
inline constexpr int exit_usage = 64;   // EX_USAGE: unknown option, missing argument
inline constexpr int exit_config = 78;  // EX_CONFIG: the configuration file has problems

struct Io {
  std::ostream& out;
  std::ostream& err;
  // Runs the daemon until a signal and returns its exit code (relance::run_until_signal).
  std::function<int(const config::Config&)> run_daemon;
  // Where `${VAR}` values come from.
  config::Environment env = config::process_environment;
  // `relanced simulate ARGS` (relance::run_simulate, which needs the engine and the scheduler,
  // not linked here): the words after "simulate"; returns the exit code.
  std::function<int(std::span<const std::string> args, const Io& io)> simulate = {};
};

// Runs the command named by `args` (argv without the program name); returns the exit code.
int run(std::span<const std::string> args, const Io& io);

// The project version, as CMake knows it.
std::string version();

}  // namespace relance::cli
