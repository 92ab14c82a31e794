// `relanced simulate` on a small JSON-lines file (simulate_events.jsonl, its lines out of time
// order on purpose) under the shipped policy: the actions it prints are the ones the daemon's
// code decides, at the instants the calendar and the send window give.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/servers/relanced_process.hpp"
#include "tests/integration/servers/server_process.hpp"

namespace relance {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

const std::string source_dir = RELANCE_SOURCE_DIR;

// Runs relanced with `args`; stdout is captured, stderr goes to `err_file`.
testing::CommandOutput run_relanced(const std::string& args, const fs::path& err_file) {
  return testing::run_command(std::string(RELANCE_RELANCED_PATH) + " " + args + " 2>" +
                              err_file.string());
}

class Simulate : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("relance-simulate-test");
    config_ = dir_ / "relance.yaml";
    std::ofstream(config_) << "dunning:\n"
                           << "  policies_directory: " << source_dir << "/config/policies\n"
                           << "  templates_directory: " << source_dir << "/config/templates\n"
                           << "  rates_directory: " << source_dir << "/config/rates\n"
                           << "  company_name: Exemple SAS\n"
                           << "  company_email: compta@exemple.fr\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  std::vector<json::object> simulate(const std::string& from, const std::string& to) {
    const auto run = run_relanced("simulate --config " + config_.string() + " --events " +
                                      std::string(RELANCE_DUNNING_FIXTURES) +
                                      "/simulate_events.jsonl --from " + from + " --to " + to,
                                  dir_ / "stderr.txt");
    EXPECT_TRUE(run.exited_zero()) << "status " << run.status << ", stderr:\n"
                                   << testing::read_file(dir_ / "stderr.txt");
    std::vector<json::object> lines;
    std::istringstream out(run.out);
    for (std::string line; std::getline(out, line);) {
      json::error_code ec;
      json::value value = json::parse(line, ec);
      EXPECT_FALSE(ec) << line;
      if (!ec && value.is_object()) lines.push_back(value.as_object());
    }
    return lines;
  }

  fs::path dir_;
  fs::path config_;
};

std::string text(const json::object& line, const char* key) {
  const json::value* value = line.if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->get_string()) : "";
}
std::vector<std::string> invoices(const json::object& line) {
  std::vector<std::string> ids;
  for (const json::value& id : line.at("invoice_ids").as_array()) {
    ids.emplace_back(id.as_string());
  }
  return ids;
}

TEST_F(Simulate, prints_each_action_at_the_instant_the_policy_calendar_and_window_give) {
  const auto lines = simulate("2026-01-01", "2026-03-31");
  struct Expected {
    const char* at;
    const char* step;
    const char* channel;
    const char* template_name;
    std::vector<std::string> invoice_ids;
  };
  // Paris is UTC+1 until 29 March: the 09:00 window opening is 08:00 UTC.
  const std::vector<Expected> expected = {
      // INV-1 due Wednesday 4 February: courtesy due-5d, Friday 30 January.
      {"2026-01-30T08:00:00Z", "courtesy", "email", "courtesy", {"INV-1"}},
      // INV-2 due Monday 9 February: courtesy Wednesday 4 February (INV-1 is not overdue yet
      // that day, so the statement lists INV-2 alone).
      {"2026-02-04T08:00:00Z", "courtesy", "email", "courtesy", {"INV-2"}},
      // INV-2 was paid on the 5th. INV-1 due+3d is Saturday 7 February: Monday the 9th.
      {"2026-02-09T08:00:00Z", "first_reminder", "email", "reminder", {"INV-1"}},
      {"2026-02-19T08:00:00Z", "second_reminder", "email", "statement", {"INV-1"}},
      {"2026-03-06T08:00:00Z", "formal_notice", "email", "formal_notice", {"INV-1"}},
      // due+45d is Saturday 21 March: Monday the 23rd, a CRM task.
      {"2026-03-23T08:00:00Z", "escalation", "crm_task", "escalation_task", {"INV-1"}},
  };
  ASSERT_EQ(lines.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(json::serialize(lines[i]));
    EXPECT_EQ(text(lines[i], "at"), expected[i].at);
    EXPECT_EQ(text(lines[i], "customer_id"), "C-1");
    EXPECT_EQ(text(lines[i], "step"), expected[i].step);
    EXPECT_EQ(text(lines[i], "channel"), expected[i].channel);
    EXPECT_EQ(text(lines[i], "template"), expected[i].template_name);
    EXPECT_EQ(invoices(lines[i]), expected[i].invoice_ids);
    EXPECT_TRUE(text(lines[i], "idempotency_key").starts_with("dunning/C-1/"));
    // Without a CRM, the escalation is mailed to the company (dunning.company_email).
    EXPECT_EQ(text(lines[i], "sink"), "email.file");
  }
}

TEST_F(Simulate, prints_only_the_actions_of_the_period_but_replays_what_came_before) {
  const auto lines = simulate("2026-02-06", "2026-02-28");
  ASSERT_EQ(lines.size(), 2u);
  // The courtesy steps before the period happened (they are not sent again as skipped steps).
  EXPECT_EQ(text(lines[0], "step"), "first_reminder");
  EXPECT_EQ(text(lines[0], "at"), "2026-02-09T08:00:00Z");
  EXPECT_EQ(text(lines[1], "step"), "second_reminder");
}

TEST_F(Simulate, bad_arguments_and_bad_events_are_refused_with_their_place) {
  auto run = run_relanced("simulate --config " + config_.string() +
                              " --events /nonexistent.jsonl --from 2026-01-01 --to 2026-02-30",
                          dir_ / "stderr.txt");
  EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 64) << run.status;
  EXPECT_NE(testing::read_file(dir_ / "stderr.txt").find("--to"), std::string::npos)
      << testing::read_file(dir_ / "stderr.txt");

  std::ofstream(dir_ / "bad.jsonl") << "{\"specversion\":\"1.0\"}\n";
  run = run_relanced("simulate --config " + config_.string() + " --events " +
                         (dir_ / "bad.jsonl").string() + " --from 2026-01-01 --to 2026-02-28",
                     dir_ / "stderr.txt");
  EXPECT_TRUE(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 65) << run.status;
  EXPECT_NE(testing::read_file(dir_ / "stderr.txt").find("bad.jsonl:1"), std::string::npos)
      << testing::read_file(dir_ / "stderr.txt");
}

}  // namespace
}  // namespace relance
