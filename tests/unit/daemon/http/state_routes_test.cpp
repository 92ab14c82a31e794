// The read side of the engine over HTTP: events posted to a Daemon in-process are visible, once
// acknowledged, through GET /v1/receivables, /v1/customers and /v1/alerts.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <string>

#include "daemon.hpp"
#include "http_client.hpp"

namespace relance {
namespace {

namespace json = boost::json;
using testing::HttpClient;
using testing::HttpReply;

json::object envelope(const std::string& id, const char* type, json::object data) {
  return json::object{{"specversion", "1.0"},           {"id", id},
                      {"source", "erp/test"},           {"type", type},
                      {"time", "2026-03-02T09:15:00Z"}, {"data", std::move(data)}};
}

json::object money(const char* amount) { return {{"amount", amount}, {"currency", "EUR"}}; }

std::string customer(const std::string& id) {
  return json::serialize(envelope("cust-" + id, "customer.upserted",
                                  {{"customer_id", id},
                                   {"name", "Boulangerie " + id},
                                   {"emails", json::array{"compta@example.com"}}}));
}

// Due in 2030: open whatever day the test runs.
std::string invoice(const std::string& id, const std::string& customer_id, const char* amount) {
  return json::serialize(envelope("inv-" + id, "invoice.issued",
                                  {{"invoice_id", id},
                                   {"customer_id", customer_id},
                                   {"amount", money(amount)},
                                   {"issue_date", "2026-03-02"},
                                   {"due_date", "2030-04-01"},
                                   {"number", id}}));
}

std::string payment(const std::string& id, const std::string& customer_id, const char* amount,
                    const std::string& remittance) {
  return json::serialize(envelope("pay-" + id, "payment.received",
                                  {{"payment_id", id},
                                   {"amount", money(amount)},
                                   {"received_date", "2026-03-28"},
                                   {"customer_id", customer_id},
                                   {"remittance_info", remittance}}));
}

class StateRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/relance-state-http-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config_.http.listen_address = "127.0.0.1";
    config_.http.port = 0;
    config_.http.threads = 2;
    config_.store.sqlite_path = (dir_ / "relance.db").string();
    config_.log_level = config::LogLevel::warn;
    config_.dunning.enabled = false;  // no policies folder here; dunning has its own tests
    auto daemon = Daemon::start(config_);
    ASSERT_TRUE(daemon.ok()) << daemon.error().to_string();
    daemon_ = std::move(daemon).value();
    client_ = std::make_unique<HttpClient>(daemon_->http_port());
  }
  void TearDown() override {
    client_.reset();
    if (daemon_) daemon_->stop();
    daemon_.reset();
    std::filesystem::remove_all(dir_);
  }

  void post(const std::string& body) {
    const HttpReply reply = client_->post("/v1/events", "application/cloudevents+json", body);
    ASSERT_EQ(reply.status, 202u) << reply.body;
  }
  json::object get_json(const std::string& target, unsigned status = 200) {
    const HttpReply reply = client_->get(target);
    EXPECT_EQ(reply.status, status) << target << ": " << reply.body;
    EXPECT_EQ(reply.header("content-type"),
              status == 200 ? "application/json" : "application/problem+json");
    json::error_code ec;
    json::value value = json::parse(reply.body, ec);
    EXPECT_FALSE(ec) << reply.body;
    return !ec && value.is_object() ? value.as_object() : json::object{};
  }

  std::filesystem::path dir_;
  config::Config config_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(StateRoutes, acknowledged_invoice_is_readable_as_a_receivable) {
  post(customer("C-1"));
  post(invoice("INV-1", "C-1", "1440.00"));
  const json::object receivable = get_json("/v1/receivables/INV-1");
  EXPECT_EQ(receivable.at("invoice_id"), "INV-1");
  EXPECT_EQ(receivable.at("customer_id"), "C-1");
  EXPECT_EQ(receivable.at("status"), "open");
  EXPECT_EQ(receivable.at("original_amount"), "1440.00");
  EXPECT_EQ(receivable.at("open_amount"), "1440.00");
  EXPECT_EQ(receivable.at("due_date"), "2030-04-01");
  EXPECT_TRUE(receivable.contains("timeline"));
  EXPECT_TRUE(receivable.contains("as_of"));

  // Partly paid, by the number in the remittance text.
  post(payment("P-1", "C-1", "440.00", "Facture INV-1"));
  const json::object after = get_json("/v1/receivables/INV-1");
  EXPECT_EQ(after.at("open_amount"), "1000.00");
  EXPECT_EQ(after.at("status"), "partially_paid");
}

TEST_F(StateRoutes, customer_is_served_with_its_receivables) {
  post(customer("C-1"));
  post(invoice("INV-2", "C-1", "100.00"));
  post(invoice("INV-1", "C-1", "50.00"));
  post(invoice("INV-9", "C-2", "70.00"));
  const json::object document = get_json("/v1/customers/C-1");
  EXPECT_EQ(document.at("customer_id"), "C-1") << json::serialize(document);
  const json::array& receivables = document.at("receivables").as_array();
  ASSERT_EQ(receivables.size(), 2u);
  EXPECT_EQ(receivables[0].at("invoice_id"), "INV-1");
  EXPECT_EQ(receivables[1].at("invoice_id"), "INV-2");
  // A customer known only from its invoices is served too.
  EXPECT_EQ(get_json("/v1/customers/C-2").at("receivables").as_array().size(), 1u);
}

TEST_F(StateRoutes, unknown_receivable_or_customer_is_404_problem) {
  const json::object missing = get_json("/v1/receivables/INV-404", 404);
  EXPECT_EQ(missing.at("status"), 404);
  EXPECT_NE(missing.at("detail").as_string().find("INV-404"), json::string::npos);
  EXPECT_EQ(get_json("/v1/customers/C-404", 404).at("status"), 404);
  EXPECT_EQ(get_json("/v1/customers/", 404).at("status"), 404);
}

TEST_F(StateRoutes, percent_encoded_ids_are_decoded) {
  post(invoice("FA/2026/00142", "odoo:res.partner:207", "10.00"));
  EXPECT_EQ(get_json("/v1/receivables/FA%2F2026%2F00142").at("invoice_id"), "FA/2026/00142");
  EXPECT_EQ(get_json("/v1/customers/odoo:res.partner:207").at("receivables").as_array().size(), 1u);
}

TEST_F(StateRoutes, alert_is_listed_open_then_resolved) {
  post(customer("C-1"));
  // Money naming an invoice the engine does not know yet.
  post(payment("P-1", "C-1", "120.00", "Invoice INV-7"));
  const json::object open = get_json("/v1/alerts?status=open");
  const json::array& alerts = open.at("alerts").as_array();
  ASSERT_EQ(alerts.size(), 1u) << json::serialize(open);
  EXPECT_EQ(alerts[0].at("status"), "open");
  EXPECT_EQ(alerts[0].at("customer_id"), "C-1");
  EXPECT_TRUE(alerts[0].as_object().contains("raised_at"));
  EXPECT_FALSE(alerts[0].as_object().contains("resolved_at"));
  const json::string id = alerts[0].at("id").as_string();

  post(invoice("INV-7", "C-1", "120.00"));
  EXPECT_TRUE(get_json("/v1/alerts?status=open").at("alerts").as_array().empty());
  const json::array resolved = get_json("/v1/alerts?status=resolved").at("alerts").as_array();
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0].at("id"), id);
  EXPECT_EQ(resolved[0].at("status"), "resolved");
  EXPECT_TRUE(resolved[0].as_object().contains("resolved_at"));
  EXPECT_EQ(get_json("/v1/alerts").at("alerts").as_array().size(), 1u);  // every status
  EXPECT_EQ(get_json("/v1/receivables/INV-7").at("status"), "paid");
}

TEST_F(StateRoutes, alerts_are_paged_by_id) {
  post(customer("C-1"));
  for (const char* p : {"P-1", "P-2", "P-3"}) {
    post(payment(p, "C-1", "1.23", std::string("nothing to match ") + p));
  }
  const json::object all = get_json("/v1/alerts?status=open");
  ASSERT_EQ(all.at("alerts").as_array().size(), 3u) << json::serialize(all);
  EXPECT_FALSE(all.contains("next_after"));

  std::vector<json::value> paged;
  std::string target = "/v1/alerts?status=open&limit=2";
  const json::object first = get_json(target);
  ASSERT_EQ(first.at("alerts").as_array().size(), 2u);
  const std::string cursor(first.at("next_after").as_string());
  EXPECT_EQ(cursor, std::string(first.at("alerts").as_array()[1].at("id").as_string()));
  const json::object second = get_json(target + "&after=" + cursor);
  ASSERT_EQ(second.at("alerts").as_array().size(), 1u);
  EXPECT_EQ(second.at("alerts").as_array()[0], all.at("alerts").as_array()[2]);
}

TEST_F(StateRoutes, bad_status_or_limit_is_400_problem) {
  const json::object bad = get_json("/v1/alerts?status=closed", 400);
  EXPECT_NE(bad.at("detail").as_string().find("closed"), json::string::npos);
  get_json("/v1/alerts?limit=0", 400);
  get_json("/v1/alerts?limit=abc", 400);
  get_json("/v1/alerts?limit=1001", 400);
}

TEST_F(StateRoutes, read_routes_answer_only_get) {
  const HttpReply reply = client_->post("/v1/receivables/INV-1", "application/json", "{}");
  EXPECT_EQ(reply.status, 405u);
  EXPECT_EQ(reply.header("allow"), "GET");
  EXPECT_EQ(client_->post("/v1/alerts", "application/json", "{}").status, 405u);
}

}  // namespace
}  // namespace relance
