// check-config on the files dunning.* names: each problem with its file and line.

#include "config/dunning_files.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "config/command_line.hpp"

namespace relance::config {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

const fs::path source_dir = RELANCE_SOURCE_DIR;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
void write(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// A copy of the shipped policies, templates and rates in a folder of its own, to break.
class DunningFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("dunning_files_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    for (const char* folder : {"policies", "templates", "rates"}) {
      fs::copy(source_dir / "config" / folder, root_ / folder, fs::copy_options::recursive);
    }
    config_.dunning.policies_directory = (root_ / "policies").string();
    config_.dunning.templates_directory = (root_ / "templates").string();
    config_.dunning.rates_directory = (root_ / "rates").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::vector<std::string> problems() const {
    std::vector<std::string> out;
    for (const Problem& p : check_dunning_files(config_)) out.push_back(p.to_string());
    return out;
  }
  // Replaces the first `from` in a file with `to`; fails the test when absent.
  void edit(const fs::path& file, const std::string& from, const std::string& to) {
    std::string text = read(file);
    const std::size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from << " not in " << file;
    text.replace(at, from.size(), to);
    write(file, text);
  }
  // 1-based line of the first line holding `needle`.
  static int line_of(const fs::path& file, const std::string& needle) {
    std::istringstream in(read(file));
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
      if (line.find(needle) != std::string::npos) return n;
    }
    return 0;
  }

  fs::path root_;
  Config config_;
};

TEST_F(DunningFiles, shipped_policies_templates_and_rates_have_no_problem) {
  EXPECT_THAT(problems(), IsEmpty());
}

TEST_F(DunningFiles, policy_naming_an_unknown_template_is_reported_with_file_and_line) {
  const fs::path policy = root_ / "policies" / "default.yaml";
  edit(policy, "template: reminder", "template: remindr");
  const int line = line_of(policy, "template: remindr");
  ASSERT_GT(line, 0);
  EXPECT_THAT(problems(),
              ElementsAre(AllOf(StartsWith(policy.string() + ":" + std::to_string(line) + ": "),
                                HasSubstr("remindr"))));
}

TEST_F(DunningFiles, steps_out_of_order_are_reported_with_file_and_line) {
  const fs::path policy = root_ / "policies" / "default.yaml";
  edit(policy, "at: due+15d", "at: due+1d");  // second reminder before the first (due+3d)
  const std::vector<std::string> found = problems();
  ASSERT_FALSE(found.empty());
  EXPECT_THAT(found[0], StartsWith(policy.string() + ":"));
  EXPECT_THAT(found[0], HasSubstr("steps[2]"));
}

TEST_F(DunningFiles, broken_template_is_reported_with_its_file) {
  const fs::path subject = root_ / "templates" / "fr" / "reminder.subject.mustache";
  write(subject, "Relance : {{nombre_de_factures}} facture(s)\n");
  const std::vector<std::string> found = problems();
  ASSERT_FALSE(found.empty());
  EXPECT_THAT(found[0], AllOf(StartsWith(subject.string()), HasSubstr("nombre_de_factures")));
  // The policies are not checked against a set that did not load, and say so.
  EXPECT_THAT(found, Contains(HasSubstr("not checked: the templates they name did not load")));
}

TEST_F(DunningFiles, instalment_reminder_missing_in_a_language_is_reported_with_its_file) {
  // Payment plans remind instalments with this template whatever the policy: without the
  // English one, English-speaking customers would get the French text.
  for (const char* part : {"subject", "text", "html"}) {
    fs::remove(root_ / "templates" / "en" /
               (std::string("instalment_reminder.") + part + ".mustache"));
  }
  const fs::path missing = root_ / "templates" / "en" / "instalment_reminder.text.mustache";
  EXPECT_THAT(
      problems(),
      ElementsAre(AllOf(StartsWith(missing.string() + ": dunning.templates_directory: "),
                        HasSubstr("payment plans"), HasSubstr("writing en"), HasSubstr("in fr"))));

  // Missing in every language: the daemon would not start, check-config says so.
  for (const char* part : {"subject", "text", "html"}) {
    fs::remove(root_ / "templates" / "fr" /
               (std::string("instalment_reminder.") + part + ".mustache"));
  }
  EXPECT_THAT(problems(), ElementsAre(AllOf(HasSubstr("instalment_reminder"),
                                            HasSubstr("missing in every language"),
                                            HasSubstr("will not start"))));
}

TEST_F(DunningFiles, broken_rate_table_is_reported_with_file_and_line) {
  const fs::path ecb = root_ / "rates" / "ecb_main_refinancing.yaml";
  const std::string text = read(ecb);
  const std::size_t at = text.find("percent: \"");
  ASSERT_NE(at, std::string::npos);
  std::string broken = text;
  broken.replace(at, std::string("percent: \"").size(), "percent: \"x");
  write(ecb, broken);
  const int line = line_of(ecb, "percent: \"x");
  const std::vector<std::string> found = problems();
  ASSERT_EQ(found.size(), 1u) << ::testing::PrintToString(found);
  EXPECT_THAT(found[0], StartsWith(ecb.string() + ":" + std::to_string(line) + ": "));
}

TEST_F(DunningFiles, extra_calendar_is_checked_and_its_name_usable_by_policies) {
  fs::create_directories(root_ / "calendars");
  config_.dunning.calendars_directory = (root_ / "calendars").string();
  write(root_ / "calendars" / "be.yaml",
        "name: be\nholidays:\n  - {name: \"Fete nationale\", yearly: \"07-21\"}\n");
  edit(root_ / "policies" / "default.yaml", "calendar: fr", "calendar: be");
  EXPECT_THAT(problems(), IsEmpty());

  write(root_ / "calendars" / "be.yaml",
        "name: be\nholidays:\n  - {name: \"Fete nationale\", yearly: \"07-32\"}\n");
  const std::vector<std::string> found = problems();
  ASSERT_GE(found.size(), 2u) << ::testing::PrintToString(found);
  EXPECT_THAT(found[0], StartsWith((root_ / "calendars" / "be.yaml").string() + ":3: "));
  // The policy then names a calendar that does not exist.
  EXPECT_THAT(found, Contains(AllOf(HasSubstr("default.yaml"), HasSubstr("be"))));
}

TEST_F(DunningFiles, missing_folders_are_named) {
  config_.dunning.policies_directory = (root_ / "nowhere").string();
  EXPECT_THAT(problems(), ElementsAre(AllOf(StartsWith((root_ / "nowhere").string() + ": "),
                                            HasSubstr("dunning.policies_directory"))));
}

TEST_F(DunningFiles, nothing_is_read_when_dunning_is_disabled) {
  config_.dunning.enabled = false;
  config_.dunning.policies_directory = (root_ / "nowhere").string();
  EXPECT_THAT(problems(), IsEmpty());
}

TEST_F(DunningFiles, check_config_command_reports_the_files_and_exits_78) {
  edit(root_ / "policies" / "default.yaml", "template: reminder", "template: remindr");
  const fs::path file = root_ / "relance.yaml";
  write(file, "dunning:\n  policies_directory: " + config_.dunning.policies_directory +
                  "\n  templates_directory: " + config_.dunning.templates_directory +
                  "\n  rates_directory: " + config_.dunning.rates_directory + "\n");
  std::ostringstream out, err;
  cli::Io io{out, err, [](const Config&) { return 0; }};
  io.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  const std::vector<std::string> args{"check-config", file.string()};
  EXPECT_EQ(cli::run(args, io), cli::exit_config);
  EXPECT_EQ(out.str(), "");
  EXPECT_THAT(err.str(), AllOf(HasSubstr((root_ / "policies" / "default.yaml").string() + ":"),
                               HasSubstr("remindr")));
}

}  // namespace
}  // namespace relance::config
