// crm.rest against a local HTTP server standing in for a CRM, started by the test on a free
// loopback port; it answers a scripted sequence and records every request.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "connectors/crm/rest/rest_sink.hpp"
#include "tests/integration/servers/server_process.hpp"

namespace relance::connectors {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using std::chrono::seconds;
using testing::ServerProcess;

class FixedClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return now_; }
  core::Timestamp now_ = core::Timestamp(std::chrono::sys_days(std::chrono::year(2026) / 3 / 12) +
                                         std::chrono::hours(8));
};

CrmActivity reminder_task() {
  CrmActivity activity;
  activity.kind = CrmActivity::Kind::task;
  activity.customer_id = "C-42";
  activity.customer_name = "Boulangerie Dupré";
  activity.crm_id = "9001";
  activity.subject = "Appeler Boulangerie Dupré : 2 469,12 € échus";
  activity.body = "FA-2026-0042 : 1 234,56 €\nFA-2026-0051 : 1 234,56 €";
  activity.due_date = std::chrono::year(2026) / 3 / 16;
  activity.invoice_ids = {"FA-2026-0042", "FA-2026-0051"};
  return activity;
}

class CrmRestSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { folder_ = testing::make_temp_dir("relance-crm"); }
  void TearDown() override {
    if (server_) server_->stop();
    fs::remove_all(folder_);
  }

  void start_server(const json::array& script) {
    std::ofstream(fs::path(folder_) / "script.json") << json::serialize(script);
    Result<std::unique_ptr<ServerProcess>> server = ServerProcess::start(
        {testing::python3_path(), testing::servers_dir() + "/http_server.py", "--folder", folder_},
        std::chrono::seconds(10));
    ASSERT_TRUE(server.ok()) << "CRM test server did not start: " << server.error().to_string();
    server_ = std::move(server).value();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  std::unique_ptr<Sink> make(RestSinkOptions options) {
    options.clock = &clock_;
    options.connect_timeout = std::chrono::seconds(5);
    options.total_timeout = std::chrono::seconds(10);
    Result<std::unique_ptr<Sink>> sink = make_rest_sink(options);
    EXPECT_TRUE(sink.ok()) << sink.error().to_string();
    return std::move(sink).value();
  }

  std::vector<json::object> requests() const {
    std::vector<json::object> found;
    std::ifstream in(fs::path(folder_) / "requests.jsonl");
    for (std::string line; std::getline(in, line);) found.push_back(json::parse(line).as_object());
    return found;
  }

  FixedClock clock_;
  std::string folder_;
  std::unique_ptr<ServerProcess> server_;
};

json::object answer(int status, std::string body = "", json::object headers = {}) {
  return json::object{{"status", status}, {"body", body}, {"headers", headers}};
}

TEST_F(CrmRestSinkTest, generic_sink_maps_each_answer_and_sends_key_and_auth_every_time) {
  start_server(json::array{
      answer(201, R"({"id": "t-1"})"),
      answer(429, "slow down", {{"Retry-After", "2"}}),
      answer(500, "boom"),
      answer(400, R"({"error": "unknown account 9001"})"),
      answer(503, "maintenance", {{"Retry-After", "Thu, 12 Mar 2026 08:00:30 GMT"}}),
      answer(408, "timeout"),
      answer(404, "no such route"),
  });
  RestSinkOptions options;
  options.task_request =
      RequestTemplate{"POST", base() + "/api/accounts/{{crm_id}}/tasks",
                      R"({"title": "{{subject}}", "notes": "{{body}}", "due": "{{due_date}}",)"
                      R"( "invoices": "{{invoice_ids}}", "customer": "{{customer_name}}"})"};
  options.auth = HttpAuth::basic;
  options.username = "relance";
  options.password = "p@ss";
  auto sink = make(options);
  const Delivery delivery{"cust-42/call/2026-03-16", reminder_task()};

  const SinkAnswer created = sink->deliver(delivery);
  EXPECT_EQ(created.outcome, SinkAnswer::Outcome::delivered) << created.detail;
  const SinkAnswer throttled = sink->deliver(delivery);
  EXPECT_EQ(throttled.outcome, SinkAnswer::Outcome::retry);
  EXPECT_EQ(throttled.retry_after, seconds(2));
  EXPECT_NE(throttled.detail.find("429"), std::string::npos);
  const SinkAnswer failed = sink->deliver(delivery);
  EXPECT_EQ(failed.outcome, SinkAnswer::Outcome::retry);
  EXPECT_EQ(failed.retry_after, std::nullopt);
  const SinkAnswer refused = sink->deliver(delivery);
  EXPECT_EQ(refused.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(refused.detail.find("400"), std::string::npos) << refused.detail;
  EXPECT_NE(refused.detail.find(R"({"error": "unknown account 9001"})"), std::string::npos)
      << refused.detail;
  const SinkAnswer maintenance = sink->deliver(delivery);
  EXPECT_EQ(maintenance.outcome, SinkAnswer::Outcome::retry);
  EXPECT_EQ(maintenance.retry_after, seconds(30));  // HTTP-date, 30 s after the clock
  EXPECT_EQ(sink->deliver(delivery).outcome, SinkAnswer::Outcome::retry);     // 408
  EXPECT_EQ(sink->deliver(delivery).outcome, SinkAnswer::Outcome::rejected);  // 404

  const std::vector<json::object> seen = requests();
  ASSERT_EQ(seen.size(), 7u);
  for (const json::object& request : seen) {
    EXPECT_EQ(request.at("method").as_string(), "POST");
    EXPECT_EQ(request.at("path").as_string(), "/api/accounts/9001/tasks");
    const json::object& headers = request.at("headers").as_object();
    EXPECT_EQ(headers.at("idempotency-key").as_string(), "cust-42/call/2026-03-16");
    EXPECT_EQ(headers.at("authorization").as_string(), "Basic cmVsYW5jZTpwQHNz");
    EXPECT_EQ(headers.at("content-type").as_string(), "application/json");
    const json::value body = json::parse(request.at("body").as_string());
    EXPECT_EQ(body.at("title").as_string(), reminder_task().subject);
    EXPECT_EQ(body.at("notes").as_string(), reminder_task().body);
    EXPECT_EQ(body.at("due").as_string(), "2026-03-16");
    EXPECT_EQ(body.at("invoices").as_string(), "FA-2026-0042, FA-2026-0051");
    EXPECT_EQ(body.at("customer").as_string(), "Boulangerie Dupré");
  }
}

TEST_F(CrmRestSinkTest, hubspot_preset_creates_a_task_with_bearer_token_and_association) {
  start_server(json::array{answer(201, R"({"id": "512"})")});
  RestSinkOptions options;
  options.preset = CrmPreset::hubspot;
  options.base_url = base();
  options.token = "pat-eu1-0000";
  const SinkAnswer result = make(options)->deliver(Delivery{"k-hub", reminder_task()});
  EXPECT_EQ(result.outcome, SinkAnswer::Outcome::delivered) << result.detail;
  const std::vector<json::object> seen = requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].at("path").as_string(), "/crm/v3/objects/tasks");
  const json::object& headers = seen[0].at("headers").as_object();
  EXPECT_EQ(headers.at("authorization").as_string(), "Bearer pat-eu1-0000");
  EXPECT_EQ(headers.at("idempotency-key").as_string(), "k-hub");
  const json::value body = json::parse(seen[0].at("body").as_string());
  EXPECT_EQ(body.at("properties").at("hs_task_subject").as_string(), reminder_task().subject);
  EXPECT_EQ(body.at("properties").at("hs_timestamp").as_string(), "2026-03-16T00:00:00Z");
  EXPECT_EQ(body.at("associations").at(0).at("to").at("id").as_string(), "9001");
  EXPECT_EQ(body.at("associations").at(0).at("types").at(0).at("associationTypeId").as_int64(),
            192);
}

TEST_F(CrmRestSinkTest, pipedrive_preset_creates_an_activity_with_api_token_and_org_id) {
  start_server(json::array{answer(201, R"({"success": true, "data": {"id": 77}})"),
                           answer(401, R"({"success": false, "error": "unauthorized"})")});
  RestSinkOptions options;
  options.preset = CrmPreset::pipedrive;
  options.base_url = base();
  options.token = "0123abcd";
  auto sink = make(options);
  EXPECT_EQ(sink->deliver(Delivery{"k-pd", reminder_task()}).outcome,
            SinkAnswer::Outcome::delivered);
  const SinkAnswer unauthorized = sink->deliver(Delivery{"k-pd", reminder_task()});
  EXPECT_EQ(unauthorized.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(unauthorized.detail.find("unauthorized"), std::string::npos);
  EXPECT_EQ(unauthorized.detail.find("0123abcd"), std::string::npos) << "token leaked in detail";
  const std::vector<json::object> seen = requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].at("path").as_string(), "/v1/activities?api_token=0123abcd");
  EXPECT_EQ(seen[0].at("headers").at("idempotency-key").as_string(), "k-pd");
  const json::value body = json::parse(seen[0].at("body").as_string());
  EXPECT_EQ(body.at("org_id").as_int64(), 9001);
  EXPECT_EQ(body.at("type").as_string(), "task");
  EXPECT_EQ(body.at("due_date").as_string(), "2026-03-16");
  EXPECT_EQ(body.at("subject").as_string(), reminder_task().subject);
}

TEST_F(CrmRestSinkTest, response_body_is_kept_only_up_to_the_limit) {
  start_server(json::array{answer(422, std::string(100'000, 'e'))});
  RestSinkOptions options;
  options.preset = CrmPreset::hubspot;
  options.base_url = base();
  options.token = "t";
  options.response_body_bytes_max = 100;
  const SinkAnswer result = make(options)->deliver(Delivery{"k", reminder_task()});
  EXPECT_EQ(result.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(result.detail.find("422"), std::string::npos);
  EXPECT_NE(result.detail.find(std::string(100, 'e')), std::string::npos);
  EXPECT_EQ(result.detail.find(std::string(101, 'e')), std::string::npos);
  EXPECT_LT(result.detail.size(), 300u);
}

TEST_F(CrmRestSinkTest, server_that_is_gone_is_a_transport_error_to_retry) {
  start_server(json::array{});
  RestSinkOptions options;
  options.preset = CrmPreset::hubspot;
  options.base_url = base();
  options.token = "t";
  auto sink = make(options);
  server_->stop();
  const SinkAnswer result = sink->deliver(Delivery{"k", reminder_task()});
  EXPECT_EQ(result.outcome, SinkAnswer::Outcome::retry);
  EXPECT_NE(result.detail.find("transport error"), std::string::npos) << result.detail;
}

}  // namespace
}  // namespace relance::connectors
