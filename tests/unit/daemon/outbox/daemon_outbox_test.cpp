// relanced end to end on the outbox: an action queued for an invoice still open is written by
// the email.file sink; one for an invoice paid since is dropped by the recheck; both show in
// GET /v1/outbox; a restart requeues what a crash left in `sending`.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "core/clock.hpp"
#include "daemon.hpp"
#include "outbox/payload.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "tests/unit/daemon/http/http_client.hpp"

namespace relance {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using testing::HttpClient;

std::string event(const std::string& id, const char* type, json::object data) {
  return json::serialize(json::object{{"specversion", "1.0"},
                                      {"id", id},
                                      {"source", "erp/test"},
                                      {"type", type},
                                      {"time", "2026-03-02T09:15:00Z"},
                                      {"data", std::move(data)}});
}

json::object money(const char* amount) { return {{"amount", amount}, {"currency", "EUR"}}; }

std::string invoice(const std::string& id) {
  return event("inv-" + id, "invoice.issued",
               {{"invoice_id", id},
                {"customer_id", "C-1"},
                {"amount", money("100.00")},
                {"issue_date", "2026-03-02"},
                {"due_date", "2030-04-01"},
                {"number", id}});
}

store::OutboxEntry email_action(const std::string& invoice_id) {
  connectors::EmailMessage email;
  email.from = "relances@example.fr";
  email.to = {"compta@client.fr"};
  email.subject = "Facture " + invoice_id;
  email.text = "Bonjour, la facture " + invoice_id + " arrive à échéance.";
  email.date = core::Timestamp(std::chrono::seconds(1'767'225'600));
  store::OutboxEntry entry;
  entry.idempotency_key = invoice_id + "/courtesy/2030-03-27";
  entry.sink = "email.file";
  entry.customer_id = "C-1";
  entry.invoice_ids = {invoice_id};
  entry.payload = outbox::delivery_to_json({entry.idempotency_key, email});
  entry.due_at = email.date;
  entry.created_at = email.date;
  return entry;
}

class DaemonOutbox : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/relance-outbox-daemon-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config_.http.listen_address = "127.0.0.1";
    config_.http.port = 0;
    config_.store.sqlite_path = (dir_ / "relance.db").string();
    config_.email.file_directory = (dir_ / "mail").string();
    config_.log_level = config::LogLevel::warn;
    config_.dunning.enabled = false;  // the test queues its own actions
    start();
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->stop();
    daemon_.reset();
    fs::remove_all(dir_);
  }
  void start() {
    auto daemon = Daemon::start(config_);
    ASSERT_TRUE(daemon.ok()) << daemon.error().to_string();
    daemon_ = std::move(daemon).value();
    client_ = std::make_unique<HttpClient>(daemon_->http_port());
  }

  // A second connection to the daemon's database, standing in for the writer's enqueue.
  void enqueue(const std::vector<store::OutboxEntry>& entries) {
    auto store = store::open_sqlite_store({config_.store.sqlite_path});
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    auto transaction = (*store)->begin().value();
    for (const auto& entry : entries) ASSERT_TRUE(transaction->enqueue(entry));
    ASSERT_TRUE(transaction->commit());
  }

  json::array actions(const std::string& status) {
    const auto reply = client_->get("/v1/outbox?status=" + status);
    EXPECT_EQ(reply.status, 200u) << reply.body;
    return json::parse(reply.body).at("actions").as_array();
  }

  // The dispatcher polls every second: wait for it, bounded.
  bool wait_for(const std::string& status, std::size_t count) {
    for (int i = 0; i < 100; ++i) {
      if (actions(status).size() == count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  void post(const std::string& body) {
    const auto reply = client_->post("/v1/events", "application/cloudevents+json", body);
    ASSERT_EQ(reply.status, 202u) << reply.body;
  }

  fs::path dir_;
  config::Config config_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(DaemonOutbox, open_invoice_is_mailed_and_paid_one_is_dropped) {
  post(invoice("F-1"));
  post(invoice("F-2"));
  post(event("pay-1", "payment.received",
             {{"payment_id", "P-1"},
              {"amount", money("100.00")},
              {"received_date", "2026-03-28"},
              {"customer_id", "C-1"},
              {"remittance_info", "Facture F-2"}}));
  ASSERT_EQ(json::parse(client_->get("/v1/receivables/F-2").body).at("status"), "paid");
  enqueue({email_action("F-1"), email_action("F-2")});

  ASSERT_TRUE(wait_for("delivered", 1)) << json::serialize(actions("pending"));
  ASSERT_TRUE(wait_for("dropped", 1));
  const json::object delivered = actions("delivered")[0].as_object();
  EXPECT_EQ(delivered.at("idempotency_key"), "F-1/courtesy/2030-03-27");
  const json::object dropped = actions("dropped")[0].as_object();
  EXPECT_EQ(dropped.at("idempotency_key"), "F-2/courtesy/2030-03-27");
  EXPECT_EQ(dropped.at("last_error"), "invoice F-2 is paid since the action was queued");
  std::vector<fs::path> mails;
  for (const auto& file : fs::directory_iterator(dir_ / "mail")) {
    if (file.path().extension() == ".eml") mails.push_back(file.path());
  }
  ASSERT_EQ(mails.size(), 1u);
  const auto metrics = client_->get("/metrics").body;
  EXPECT_NE(
      metrics.find(R"(relance_outbox_deliveries_total{sink="email.file",outcome="delivered"} 1)"),
      std::string::npos);
}

TEST_F(DaemonOutbox, restart_sends_again_what_a_crash_left_in_sending) {
  post(invoice("F-1"));
  daemon_->stop();
  daemon_.reset();
  enqueue({email_action("F-1")});
  {
    // The previous run claimed the row and died before recording the answer.
    auto store = store::open_sqlite_store({config_.store.sqlite_path});
    ASSERT_TRUE(store.ok());
    ASSERT_EQ((*store)->claim_outbox(core::SystemClock().now(), 10).value().size(), 1u);
  }
  start();
  ASSERT_TRUE(wait_for("delivered", 1)) << json::serialize(actions("sending"));
  EXPECT_EQ(actions("delivered")[0].at("attempts"), 1);
}

}  // namespace
}  // namespace relance
