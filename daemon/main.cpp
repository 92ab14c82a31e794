// relanced: the command line (daemon/config/command_line.cpp) wired to the real daemon.

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "config/command_line.hpp"
#include "daemon.hpp"

int main(int argc, char** argv) {
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    return relance::cli::run(args,
                             relance::cli::Io{std::cout, std::cerr, &relance::run_until_signal});
  } catch (const std::exception& e) {
    // The edge of the program: nothing may escape main as an uncaught exception.
    std::cerr << "relanced: " << e.what() << "\n";
    return 70;  // EX_SOFTWARE
  }
}
