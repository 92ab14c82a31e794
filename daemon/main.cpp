// relanced: the command line (daemon/config/command_line.cpp) wired to the real daemon.

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "config/command_line.hpp"
#include "daemon.hpp"
#include "simulate_command.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    relance::cli::Io io{std::cout, std::cerr, &relance::run_until_signal};
    io.simulate = [](std::span<const std::string> words, const relance::cli::Io& with) {
      return relance::run_simulate(words, with.out, with.err, with.env);
    };
    return relance::cli::run(args, io);
  } catch (const std::exception& e) {
    // The edge of the program: nothing may escape main as an uncaught exception.
    std::cerr << "relanced: " << e.what() << "\n";
    return 70;  // EX_SOFTWARE
  }
}
