#include "config/command_line.hpp"

#include <array>
#include <ostream>
#include <string_view>
#include <vector>

#include "config/dunning_files.hpp"
#include "config/spec.hpp"

#ifndef RELANCE_VERSION
#error "RELANCE_VERSION must be defined by the build (daemon/config/CMakeLists.txt)"
#endif

namespace relance::cli {
namespace {

using Arguments = std::span<const std::string>;

int run_daemon(Arguments args, const Io& io);
int check_config(Arguments args, const Io& io);
int simulate(Arguments args, const Io& io);
int config_keys(Arguments args, const Io& io);
int help(Arguments args, const Io& io);
int print_version(Arguments args, const Io& io);

struct Command {
  std::string_view name;
  std::string_view alias;      // empty when none
  std::string_view arguments;  // shown in the usage; their count is checked
  std::size_t argument_count;
  std::string_view summary;
  int (*run)(Arguments args, const Io& io);
};

constexpr std::array commands{
    Command{"--config", "", "FILE", 1, "run the daemon on FILE until SIGTERM or SIGINT",
            run_daemon},
    Command{"check-config", "", "FILE", 1, "check FILE; print each problem on stderr",
            check_config},
    Command{"simulate", "", "--config FILE --events FILE.jsonl --from DATE --to DATE", 8,
            "replay events under the policies; print each action as a JSON line", simulate},
    Command{"config-keys", "", "", 0, "list every key of a FILE with type, default and meaning",
            config_keys},
    Command{"--help", "-h", "", 0, "show this help", help},
    Command{"--version", "", "", 0, "print the version", print_version},
};

void print_usage(std::ostream& stream) {
  stream << "usage:\n";
  std::size_t width = 0;
  for (const Command& command : commands) {
    width = std::max(width, command.name.size() + 1 + command.arguments.size());
  }
  for (const Command& command : commands) {
    std::string left(command.name);
    if (!command.arguments.empty()) left += " " + std::string(command.arguments);
    stream << "  relanced " << left << std::string(width - left.size() + 2, ' ') << command.summary
           << "\n";
  }
  stream << "\n"
            "FILE is a relance.yaml (see config/relance.yaml). Relative paths in it are relative\n"
            "to the working directory. Values may use ${VAR} and ${VAR:-default} from the\n"
            "environment; $${ is a literal ${.\n"
            "\n"
            "exit codes: 0 ok, 64 usage error, 78 the configuration has problems; with --config,\n"
            "the daemon's own code.\n";
}

int usage_error(const Io& io, const std::string& message) {
  io.err << "relanced: " << message << "\n";
  print_usage(io.err);
  return exit_usage;
}

// Prints the problems of a configuration on stderr, one a line; true when there were none.
bool report(const config::Loaded& loaded, const Io& io) {
  for (const config::Problem& problem : loaded.problems) io.err << problem.to_string() << "\n";
  return loaded.problems.empty();
}

int run_daemon(Arguments args, const Io& io) {
  const config::Loaded loaded = config::read_config_file(args[0], io.env);
  if (!report(loaded, io)) return exit_config;
  return io.run_daemon(loaded.config);
}

int check_config(Arguments args, const Io& io) {
  config::Loaded loaded = config::read_config_file(args[0], io.env);
  // The files dunning.* names are only looked at once the keys themselves are right.
  if (loaded.problems.empty()) loaded.problems = config::check_dunning_files(loaded.config);
  if (!report(loaded, io)) return exit_config;
  io.out << args[0] << ": ok\n";
  return exit_ok;
}

int simulate(Arguments args, const Io& io) {
  if (!io.simulate) {
    io.err << "relanced: simulate is not available in this program\n";
    return exit_usage;
  }
  return io.simulate(args, io);
}

int config_keys(Arguments, const Io& io) {
  for (const auto& field : config::spec::config_section()) {
    io.out << field.path << "  (" << field.type << ", default " << field.default_text << ")\n    "
           << field.description << "\n";
  }
  return exit_ok;
}

int help(Arguments, const Io& io) {
  io.out << "relanced " << version() << ": ERP-to-collection daemon\n\n";
  print_usage(io.out);
  return exit_ok;
}

int print_version(Arguments, const Io& io) {
  io.out << "relanced " << version() << "\n";
  return exit_ok;
}

}  // namespace

std::string version() { return RELANCE_VERSION; }

int run(std::span<const std::string> args, const Io& io) {
  if (args.empty()) return usage_error(io, "a command is needed");
  // "--config=FILE" is the same as "--config FILE".
  std::vector<std::string> words(args.begin(), args.end());
  if (words[0].starts_with("--") && words[0].find('=') != std::string::npos) {
    const std::size_t equals = words[0].find('=');
    words.insert(words.begin() + 1, words[0].substr(equals + 1));
    words[0].resize(equals);
  }
  for (const Command& command : commands) {
    if (words[0] != command.name && (command.alias.empty() || words[0] != command.alias)) {
      continue;
    }
    const std::size_t given = words.size() - 1;
    if (given < command.argument_count) {
      return usage_error(io,
                         std::string(command.name) + " needs " + std::string(command.arguments));
    }
    if (given > command.argument_count) {
      return usage_error(io, "unexpected argument '" + words[command.argument_count + 1] +
                                 "' after " + std::string(command.name));
    }
    for (std::size_t i = 1; i < words.size(); ++i) {
      if (words[i].empty())
        return usage_error(
            io, std::string(command.name) + " needs a non-empty " + std::string(command.arguments));
    }
    return command.run(Arguments(words).subspan(1), io);
  }
  return usage_error(io, "unknown command or option '" + words[0] + "'");
}

}  // namespace relance::cli
