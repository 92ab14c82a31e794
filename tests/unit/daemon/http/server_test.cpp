// The HTTP API end to end: a Daemon in-process on port 0 with a temporary SQLite file, spoken to
// over loopback by a blocking client.

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

std::string customer_event(const std::string& id, const std::string& source = "erp/odoo") {
  json::object event{{"specversion", "1.0"},
                     {"id", id},
                     {"source", source},
                     {"type", "customer.upserted"},
                     {"time", "2026-03-01T09:30:00Z"},
                     {"datacontenttype", "application/json"},
                     {"data", json::object{{"customer_id", "C-" + id},
                                           {"name", "Boulangerie Martin"},
                                           {"emails", json::array{"compta@martin.example"}}}}};
  return json::serialize(event);
}

// A valid envelope whose data lacks the mandatory customer name.
std::string invalid_event(const std::string& id) {
  json::object event{{"specversion", "1.0"},
                     {"id", id},
                     {"source", "erp/odoo"},
                     {"type", "customer.upserted"},
                     {"data", json::object{{"customer_id", "C-1"}}}};
  return json::serialize(event);
}

class HttpApi : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/relance-http-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    config_.http.listen_address = "127.0.0.1";
    config_.http.port = 0;
    config_.http.threads = 2;
    config_.http.body_bytes_max = 64 * 1024;
    config_.http.request_timeout = std::chrono::milliseconds(400);
    config_.http.idle_timeout = std::chrono::milliseconds(5000);
    config_.store.sqlite_path = (dir_ / "sub" / "relance.db").string();
    config_.log_level = config::LogLevel::warn;
    config_.dunning.enabled = false;  // no policies folder here; dunning has its own tests
    config_.shutdown_timeout = std::chrono::milliseconds(5000);
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

  HttpReply post_event(const std::string& body) {
    return client_->post("/v1/events", "application/cloudevents+json", body);
  }

  std::filesystem::path dir_;
  config::Config config_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(HttpApi, new_event_gets_202_and_the_same_event_again_gets_200_duplicate) {
  const HttpReply first = post_event(customer_event("evt-1"));
  ASSERT_EQ(first.status, 202u) << first.body;
  EXPECT_EQ(json::parse(first.body),
            json::parse(R"({"events":[{"source":"erp/odoo","id":"evt-1","status":"accepted"}]})"));
  const HttpReply second = post_event(customer_event("evt-1"));
  ASSERT_EQ(second.status, 200u) << second.body;
  EXPECT_EQ(json::parse(second.body),
            json::parse(R"({"events":[{"source":"erp/odoo","id":"evt-1","status":"duplicate"}]})"));
}

TEST_F(HttpApi, malformed_json_gets_400_problem) {
  const HttpReply reply = post_event(R"({"specversion":"1.0","id":)");
  EXPECT_EQ(reply.status, 400u);
  EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  const json::object body = json::parse(reply.body).as_object();
  EXPECT_EQ(body.at("status"), 400);
  EXPECT_TRUE(body.contains("type"));
  EXPECT_TRUE(body.contains("title"));
  EXPECT_TRUE(body.contains("detail"));
}

TEST_F(HttpApi, unsupported_media_type_gets_415) {
  const HttpReply reply = client_->post("/v1/events", "text/plain", customer_event("evt-2"));
  EXPECT_EQ(reply.status, 415u);
  EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  // application/json without the ce- headers is not an event either.
  EXPECT_EQ(client_->post("/v1/events", "application/json", customer_event("evt-2")).status, 415u);
  EXPECT_EQ(client_->get("/v1/events/erp%2Fodoo/evt-2").status, 404u);
}

TEST_F(HttpApi, invalid_event_gets_422_naming_index_and_field) {
  const HttpReply reply = post_event(invalid_event("evt-3"));
  ASSERT_EQ(reply.status, 422u) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  const json::object body = json::parse(reply.body).as_object();
  EXPECT_EQ(body.at("status"), 422);
  const json::array& errors = body.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].at("index"), 0);
  EXPECT_EQ(errors[0].at("field"), "data.name") << reply.body;
  EXPECT_FALSE(errors[0].at("message").as_string().empty());
  EXPECT_EQ(client_->get("/v1/events/erp%2Fodoo/evt-3").status, 404u);
}

TEST_F(HttpApi, body_over_the_limit_gets_413) {
  std::string big = customer_event("evt-4");
  big.insert(big.size() - 1, ",\"pad\":\"" + std::string(config_.http.body_bytes_max, 'x') + "\"");
  const HttpReply reply = post_event(big);
  EXPECT_EQ(reply.status, 413u);
  EXPECT_EQ(reply.header("content-type"), "application/problem+json");
  HttpClient fresh(daemon_->http_port());
  EXPECT_EQ(fresh.get("/v1/events/erp%2Fodoo/evt-4").status, 404u);
}

TEST_F(HttpApi, batch_with_one_bad_event_stores_nothing) {
  const std::string batch =
      "[" + customer_event("b-1") + "," + invalid_event("b-2") + "," + customer_event("b-3") + "]";
  const HttpReply reply = client_->post("/v1/events", "application/cloudevents-batch+json", batch);
  ASSERT_EQ(reply.status, 422u) << reply.body;
  const json::value problem = json::parse(reply.body);
  const json::array& errors = problem.at("errors").as_array();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].at("index"), 1);
  EXPECT_EQ(errors[0].at("field"), "data.name");
  for (const char* id : {"b-1", "b-2", "b-3"}) {
    EXPECT_EQ(client_->get(std::string("/v1/events/erp%2Fodoo/") + id).status, 404u) << id;
  }
}

TEST_F(HttpApi, valid_batch_is_stored_with_one_outcome_per_event) {
  const std::string batch = "[" + customer_event("v-1") + "," + customer_event("v-2") + "]";
  const HttpReply reply = client_->post("/v1/events", "application/cloudevents-batch+json", batch);
  ASSERT_EQ(reply.status, 202u) << reply.body;
  const json::value answer = json::parse(reply.body);
  const json::array& events = answer.at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].at("id"), "v-2");
  EXPECT_EQ(events[1].at("status"), "accepted");
  EXPECT_EQ(client_->get("/v1/events/erp%2Fodoo/v-1").status, 200u);
  EXPECT_EQ(client_->get("/v1/events/erp%2Fodoo/v-2").status, 200u);
}

TEST_F(HttpApi, stored_event_is_read_back_with_a_percent_encoded_source) {
  const std::string event = customer_event("INV 7/1", "erp/odoo");
  ASSERT_EQ(post_event(event).status, 202u);
  const HttpReply reply = client_->get("/v1/events/erp%2Fodoo/INV%207%2F1");
  ASSERT_EQ(reply.status, 200u) << reply.body;
  EXPECT_EQ(json::parse(reply.body), json::parse(event));
  const HttpReply missing = client_->get("/v1/events/erp%2Fodoo/INV-404");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.header("content-type"), "application/problem+json");
}

TEST_F(HttpApi, binary_mode_event_is_stored_like_a_structured_one) {
  const std::string data =
      R"({"customer_id":"C-9","name":"Garage Dupont","emails":["gd@example.org"]})";
  const HttpReply reply = client_->post("/v1/events", "application/json", data,
                                        {{"ce-id", "bin-1"},
                                         {"ce-source", "erp/sage"},
                                         {"ce-type", "customer.upserted"},
                                         {"ce-specversion", "1.0"},
                                         {"ce-time", "2026-03-01T09:30:00Z"},
                                         {"ce-subject", "C%2D9"}});
  ASSERT_EQ(reply.status, 202u) << reply.body;
  const HttpReply stored = client_->get("/v1/events/erp%2Fsage/bin-1");
  ASSERT_EQ(stored.status, 200u);
  const json::value envelope = json::parse(stored.body);
  EXPECT_EQ(envelope.at("type"), "customer.upserted");
  EXPECT_EQ(envelope.at("subject"), "C-9");  // header values are percent-decoded
  EXPECT_EQ(envelope.at("data"), json::parse(data));
  // Binary mode with a body that is not JSON.
  EXPECT_EQ(client_
                ->post("/v1/events", "application/json", "{oops",
                       {{"ce-id", "bin-2"},
                        {"ce-source", "erp/sage"},
                        {"ce-type", "customer.upserted"},
                        {"ce-specversion", "1.0"}})
                .status,
            400u);
}

TEST_F(HttpApi, livez_and_readyz_answer_200_while_running) {
  EXPECT_EQ(client_->get("/livez").status, 200u);
  const HttpReply ready = client_->get("/readyz");
  EXPECT_EQ(ready.status, 200u) << ready.body;
}

TEST_F(HttpApi, metrics_count_events_requests_and_latency) {
  ASSERT_EQ(post_event(customer_event("m-1")).status, 202u);
  ASSERT_EQ(post_event(customer_event("m-1")).status, 200u);
  ASSERT_EQ(post_event(invalid_event("m-2")).status, 422u);
  const HttpReply reply = client_->get("/metrics");
  ASSERT_EQ(reply.status, 200u);
  EXPECT_NE(reply.header("content-type").find("text/plain"), std::string::npos);
  const std::string& text = reply.body;
  EXPECT_NE(text.find(R"(relance_events_total{type="customer.upserted",outcome="accepted"} 1)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(relance_events_total{type="customer.upserted",outcome="duplicate"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(relance_events_total{type="customer.upserted",outcome="rejected"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(relance_http_requests_total{route="/v1/events",code="202"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(relance_http_requests_total{route="/v1/events",code="422"} 1)"),
            std::string::npos);
  EXPECT_NE(text.find(R"(relance_http_request_duration_seconds_count{route="/v1/events"} 3)"),
            std::string::npos);
}

TEST_F(HttpApi, unknown_path_gets_404_and_wrong_method_405_with_allow) {
  const HttpReply missing = client_->get("/v2/nothing");
  EXPECT_EQ(missing.status, 404u);
  EXPECT_EQ(missing.header("content-type"), "application/problem+json");
  const HttpReply wrong = client_->get("/v1/events");
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.header("allow"), "POST");
  EXPECT_EQ(wrong.header("content-type"), "application/problem+json");
  const HttpReply wrong_get = client_->request("DELETE", "/v1/events/erp%2Fodoo/x", "", {});
  EXPECT_EQ(wrong_get.status, 405u);
  EXPECT_EQ(wrong_get.header("allow"), "GET");
}

TEST_F(HttpApi, slow_client_is_cut_by_the_request_timeout) {
  const auto start = std::chrono::steady_clock::now();
  // Headers never finished: the server must not wait for them beyond request_timeout (400 ms).
  const auto exchange = testing::raw_exchange(daemon_->http_port(),
                                              "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Le",
                                              std::chrono::milliseconds(5000));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(exchange.closed_by_server);
  EXPECT_GE(elapsed, std::chrono::milliseconds(350));
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
}

TEST_F(HttpApi, pipelined_requests_are_answered_in_order) {
  const std::string body = customer_event("p-1");
  const std::string post =
      "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: "
      "application/cloudevents+json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  const std::string get = "GET /v1/events/erp%2Fodoo/p-1 HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string last = "GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const auto exchange = testing::raw_exchange(daemon_->http_port(), post + get + last,
                                              std::chrono::milliseconds(5000));
  EXPECT_TRUE(exchange.closed_by_server);
  const auto first = exchange.received.find("HTTP/1.1 202");
  const auto second = exchange.received.find("HTTP/1.1 200", first);
  const auto third = exchange.received.find("HTTP/1.1 200", second + 1);
  EXPECT_NE(first, std::string::npos) << exchange.received;
  EXPECT_NE(second, std::string::npos) << exchange.received;
  EXPECT_NE(third, std::string::npos) << exchange.received;
}

TEST_F(HttpApi, stop_answers_requests_then_refuses_connections) {
  ASSERT_EQ(post_event(customer_event("s-1")).status, 202u);
  const auto port = daemon_->http_port();
  daemon_->stop();
  EXPECT_THROW(HttpClient late(port), std::exception);
  // The committed event survives a restart on the same file.
  auto again = Daemon::start(config_);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  HttpClient client((*again)->http_port());
  EXPECT_EQ(client.get("/v1/events/erp%2Fodoo/s-1").status, 200u);
}

}  // namespace
}  // namespace relance
