#include "config/command_line.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <sstream>

namespace relance::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string good_file = RELANCE_SOURCE_DIR "/config/relance.yaml";
const std::string bad_file = RELANCE_SOURCE_DIR "/tests/unit/daemon/config/data/bad.yaml";

struct Outcome {
  int code;
  std::string out;
  std::string err;
  std::optional<config::Config> ran_with;  // set when the daemon would have started
};

Outcome run_with(std::vector<std::string> args) {
  std::ostringstream out, err;
  Outcome outcome{};
  Io io{out, err, [&](const config::Config& c) {
          outcome.ran_with = c;
          return 3;
        }};
  io.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  outcome.code = run(args, io);
  outcome.out = out.str();
  outcome.err = err.str();
  return outcome;
}

TEST(command_line, config_runs_the_daemon_on_the_loaded_file_and_returns_its_code) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--config", good_file}, {"--config=" + good_file}}) {
    const Outcome o = run_with(args);
    EXPECT_EQ(o.code, 3);
    ASSERT_TRUE(o.ran_with.has_value());
    EXPECT_TRUE(*o.ran_with == config::Config{});
    EXPECT_EQ(o.err, "");
  }
}

TEST(command_line, config_with_problems_exits_78_without_starting) {
  const Outcome o = run_with({"--config", bad_file});
  EXPECT_EQ(o.code, exit_config);
  EXPECT_FALSE(o.ran_with.has_value());
  EXPECT_THAT(o.err, HasSubstr(bad_file + ":4: http.port: 70000 is above the maximum 65535\n"));
}

TEST(command_line, check_config_prints_ok_on_stdout_for_a_valid_file) {
  // The shipped file's dunning folders (config/policies...) are relative to the repository.
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(RELANCE_SOURCE_DIR);
  const Outcome o = run_with({"check-config", good_file});
  std::filesystem::current_path(before);
  EXPECT_EQ(o.code, exit_ok);
  EXPECT_EQ(o.out, good_file + ": ok\n");
  EXPECT_EQ(o.err, "");
  EXPECT_FALSE(o.ran_with.has_value());
}

TEST(command_line, check_config_prints_every_problem_on_its_own_line) {
  const Outcome o = run_with({"check-config", bad_file});
  EXPECT_EQ(o.code, exit_config);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, bad_file + ":3: http.prot: unknown key; did you mean http.port?\n" + bad_file +
                       ":4: http.port: 70000 is above the maximum 65535\n" + bad_file +
                       ":5: http.request_timeout: '30' has no unit; add one, as in 30s or 30ms "
                       "(units are ns, us, ms, s, m, h)\n" +
                       bad_file + ":7: store.backend: 'mysql' is not one of sqlite, postgres\n" +
                       bad_file +
                       ":9: log.level: environment variable RELANCE_TEST_UNSET_LEVEL is not set; "
                       "set it, or give a default with ${RELANCE_TEST_UNSET_LEVEL:-default}\n");
}

TEST(command_line, help_lists_every_command) {
  const Outcome o = run_with({"--help"});
  EXPECT_EQ(o.code, exit_ok);
  for (const char* word :
       {"--config FILE", "check-config FILE", "config-keys", "--help", "--version"}) {
    EXPECT_THAT(o.out, HasSubstr(word));
  }
  EXPECT_EQ(run_with({"-h"}).out, o.out);
}

TEST(command_line, version_is_the_cmake_project_version) {
  const Outcome o = run_with({"--version"});
  EXPECT_EQ(o.code, exit_ok);
  EXPECT_EQ(o.out, std::string("relanced ") + RELANCE_EXPECTED_VERSION + "\n");
}

TEST(command_line, config_keys_lists_each_key_with_type_and_default) {
  const Outcome o = run_with({"config-keys"});
  EXPECT_EQ(o.code, exit_ok);
  EXPECT_THAT(o.out, HasSubstr("http.port  (integer 0..65535, default 8080)\n"));
  EXPECT_THAT(o.out, HasSubstr("shutdown_timeout  (duration 100ms..1h, default 10s)\n"));
}

TEST(command_line, usage_errors_exit_64_with_usage_on_stderr) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{},
                                             {"--conf", good_file},
                                             {"--config"},
                                             {"check-config"},
                                             {"--config", ""},
                                             {"check-config", good_file, "extra"},
                                             {"--version", "x"},
                                             {"run"}}) {
    const Outcome o = run_with(args);
    EXPECT_EQ(o.code, exit_usage) << ::testing::PrintToString(args);
    EXPECT_THAT(o.err, StartsWith("relanced: ")) << ::testing::PrintToString(args);
    EXPECT_THAT(o.err, HasSubstr("usage:\n")) << ::testing::PrintToString(args);
    EXPECT_EQ(o.out, "");
    EXPECT_FALSE(o.ran_with.has_value());
  }
}

}  // namespace
}  // namespace relance::cli
