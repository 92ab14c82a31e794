// The dispatcher delivering CRM tasks through the real crm.rest sink, from a real SQLite outbox,
// to a local HTTP server that answers 201, then 429 with Retry-After, then 500 three times,
// then 201: every task is created exactly once per idempotency key, and every retry waits for
// its backoff or the peer's Retry-After.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "connectors/crm/rest/rest_sink.hpp"
#include "outbox/dispatcher.hpp"
#include "outbox/payload.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "tests/integration/servers/server_process.hpp"

namespace relance::outbox {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using store::OutboxStatus;

const core::Timestamp t0 = core::Timestamp(std::chrono::sys_days(std::chrono::year(2026) / 3 / 12) +
                                           std::chrono::hours(8));

class ManualClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return now_; }
  core::Timestamp now_ = t0;
};

json::object answer(int status, std::string body = "", json::object headers = {}) {
  return json::object{{"status", status}, {"body", body}, {"headers", headers}};
}

connectors::CrmActivity task(const std::string& customer) {
  connectors::CrmActivity activity;
  activity.kind = connectors::CrmActivity::Kind::task;
  activity.customer_id = customer;
  activity.customer_name = "Client " + customer;
  activity.crm_id = "9001";
  activity.subject = "Relancer " + customer;
  activity.body = "FA-1 : 1 234,56 €";
  activity.due_date = std::chrono::year(2026) / 3 / 16;
  activity.invoice_ids = {"FA-1"};
  return activity;
}

class OutboxCrmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = testing::make_temp_dir("relance-outbox-crm");
    std::ofstream(fs::path(folder_) / "script.json") << json::serialize(json::array{
        answer(201, R"({"id": "t-1"})"),
        answer(429, "slow down", {{"Retry-After", "90"}}),
        answer(500, "boom"),
        answer(500, "boom"),
        answer(500, "boom"),
        answer(201, R"({"id": "t-2"})"),
    });
    auto server = testing::ServerProcess::start(
        {testing::python3_path(), testing::servers_dir() + "/http_server.py", "--folder", folder_},
        10s);
    ASSERT_TRUE(server.ok()) << "CRM test server did not start: " << server.error().to_string();
    server_ = std::move(server).value();
    auto opened = store::open_sqlite_store({folder_ + "/relance.db"});
    ASSERT_TRUE(opened.ok()) << opened.error().to_string();
    store_ = std::move(opened).value();
    connectors::RestSinkOptions options;
    options.task_request = connectors::RequestTemplate{
        "POST", "http://127.0.0.1:" + std::to_string(server_->port()) + "/tasks",
        R"({"title": "{{subject}}", "customer": "{{customer_id}}"})"};
    options.clock = &clock_;
    options.connect_timeout = 5s;
    options.total_timeout = 10s;
    auto sink = connectors::make_rest_sink(options);
    ASSERT_TRUE(sink.ok()) << sink.error().to_string();
    sink_ = std::move(sink).value();
  }
  void TearDown() override {
    dispatcher_.reset();
    store_.reset();
    if (server_) server_->stop();
    fs::remove_all(folder_);
  }

  void enqueue(const std::string& key, const std::string& customer) {
    store::OutboxEntry entry;
    entry.idempotency_key = key;
    entry.sink = "crm.rest";
    entry.customer_id = customer;
    entry.invoice_ids = {"FA-1"};
    entry.payload = delivery_to_json({key, task(customer)});
    entry.due_at = t0;
    entry.created_at = t0;
    auto transaction = store_->begin();
    ASSERT_TRUE(transaction.ok()) << transaction.error().to_string();
    ASSERT_TRUE((*transaction)->enqueue(entry).ok());
    ASSERT_TRUE((*transaction)->commit().ok());
  }

  std::vector<json::object> requests() const {
    std::vector<json::object> found;
    std::ifstream in(fs::path(folder_) / "requests.jsonl");
    for (std::string line; std::getline(in, line);) found.push_back(json::parse(line).as_object());
    return found;
  }

  std::size_t turn() {
    auto handled = dispatcher_->run_once();
    EXPECT_TRUE(handled.ok()) << handled.error().to_string();
    return handled.ok() ? *handled : 0;
  }

  ManualClock clock_;
  std::string folder_;
  std::unique_ptr<testing::ServerProcess> server_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<connectors::Sink> sink_;
  metrics::Registry metrics_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

TEST_F(OutboxCrmTest, each_task_is_created_exactly_once_through_429_and_500s) {
  enqueue("C-1/call/2026-03-16", "C-1");
  enqueue("C-2/call/2026-03-16", "C-2");
  enqueue("C-1/call/2026-03-16", "C-1");  // the same action decided again: a no-op
  DispatcherOptions options;
  options.backoff_base = 10s;
  options.backoff_max = 1h;
  options.attempts_max = 8;
  options.circuit_failures = 10;
  options.jitter = [] { return 1.0; };
  dispatcher_ = std::make_unique<Dispatcher>(
      *store_, clock_, std::map<std::string, connectors::Sink*>{{"crm.rest", sink_.get()}}, nullptr,
      options, &metrics_);
  ASSERT_EQ(dispatcher_->recover()->requeued, 0);

  // C-1: 201. C-2: 429 with Retry-After: 90, longer than the first backoff (10 s).
  ASSERT_EQ(turn(), 2u);
  auto rows = *store_->list_outbox(std::nullopt, 0, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].status, OutboxStatus::delivered);
  EXPECT_EQ(rows[1].status, OutboxStatus::pending);
  EXPECT_EQ(rows[1].next_attempt_at, t0 + 90s);
  EXPECT_NE(rows[1].last_error.find("429"), std::string::npos) << rows[1].last_error;

  // Then 500 three times, each after a longer backoff: 20 s, 40 s, 80 s.
  const std::int64_t c2 = rows[1].id;
  std::vector<core::Timestamp> attempts_at = {t0};
  for (int i = 0; i < 4; ++i) {
    const auto row = **store_->find_outbox(c2);
    ASSERT_EQ(row.status, OutboxStatus::pending) << row.last_error;
    clock_.now_ = row.next_attempt_at - 1s;
    EXPECT_EQ(turn(), 0u) << "sent before its time";
    clock_.now_ = row.next_attempt_at;
    attempts_at.push_back(clock_.now_);
    ASSERT_EQ(turn(), 1u);
  }
  const auto done = **store_->find_outbox(c2);
  EXPECT_EQ(done.status, OutboxStatus::delivered) << done.last_error;
  EXPECT_EQ(done.attempts, 5);
  EXPECT_EQ(attempts_at,
            (std::vector<core::Timestamp>{t0, t0 + 90s, t0 + 110s, t0 + 150s, t0 + 230s}));
  EXPECT_EQ(turn(), 0u);

  // What the CRM saw: C-1 once, C-2 five times, always with its own key; one 2xx per key.
  const auto seen = requests();
  ASSERT_EQ(seen.size(), 6u);
  std::map<std::string, int> per_key;
  for (const auto& request : seen) {
    const std::string key(request.at("headers").at("idempotency-key").as_string());
    ++per_key[key];
    const json::value body = json::parse(request.at("body").as_string());
    EXPECT_EQ(key.substr(0, 4), std::string(body.at("customer").as_string()) + "/");
  }
  EXPECT_EQ(per_key,
            (std::map<std::string, int>{{"C-1/call/2026-03-16", 1}, {"C-2/call/2026-03-16", 5}}));
  EXPECT_EQ(seen.front().at("headers").at("idempotency-key").as_string(), "C-1/call/2026-03-16");
  EXPECT_EQ(seen.back().at("headers").at("idempotency-key").as_string(), "C-2/call/2026-03-16");
  const auto depth = *store_->outbox_depth();
  EXPECT_EQ(depth[OutboxStatus::delivered], 2);
  EXPECT_EQ(depth[OutboxStatus::pending] + depth[OutboxStatus::sending] + depth[OutboxStatus::dead],
            0);
}

}  // namespace
}  // namespace relance::outbox
