// GET /v1/outbox and POST /v1/outbox/{id}/retry through the API's routes, on the fake store.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_store.hpp"
#include "http/api.hpp"
#include "outbox/payload.hpp"
#include "state/views_on_read.hpp"

namespace relance::http {
namespace {

namespace json = boost::json;
using store::OutboxStatus;

const core::Timestamp t0 = core::Timestamp(std::chrono::seconds(1'767'225'600));  // 2026-01-01

// The daemon's clock, injected: the API reads "now" from it, never from the system.
class FixedClock final : public core::Clock {
 public:
  core::Timestamp now() const override { return t0 + std::chrono::minutes(5); }
};

class OutboxRoutes : public ::testing::Test {
 protected:
  OutboxRoutes()
      : writer_(store_, ingest::WriterLimits{}, metrics_),
        views_(store_, {}, clock_),
        api_(store_, writer_, views_, metrics_, {}) {}
  ~OutboxRoutes() override { writer_.stop(); }

  // Enqueues `count` actions; the first `dead` of them end dead, the next one delivered.
  void fill(int count, int dead) {
    auto transaction = store_.begin().value();
    for (int i = 0; i < count; ++i) {
      store::OutboxEntry entry;
      entry.idempotency_key = "C-" + std::to_string(i) + "/step-1/2026-01-01";
      entry.sink = "crm.rest";
      entry.customer_id = "C-" + std::to_string(i);
      entry.invoice_ids = {"F-" + std::to_string(i)};
      connectors::CrmActivity task;
      task.customer_id = entry.customer_id;
      task.subject = "Relancer";
      entry.payload = outbox::delivery_to_json({entry.idempotency_key, task});
      entry.due_at = t0;
      entry.created_at = t0;
      ASSERT_TRUE(transaction->enqueue(entry));
    }
    ASSERT_TRUE(transaction->commit());
    const auto claimed = store_.claim_outbox(t0, static_cast<std::size_t>(dead + 1)).value();
    for (int i = 0; i < dead; ++i) {
      ASSERT_TRUE(*store_.mark_outbox_dead(claimed[i].id, "rejected: HTTP 400 bad owner", t0));
    }
    ASSERT_TRUE(*store_.mark_outbox_delivered(claimed[dead].id, t0));
  }

  Response call(Method method, std::string target) {
    std::optional<Response> got;
    Request request;
    request.method = method;
    request.target = std::move(target);
    api_.handle(std::move(request), [&got](Response response) { got = std::move(response); });
    RELANCE_ASSERT(got.has_value());  // these routes answer on the calling thread
    return std::move(*got);
  }

  static json::object body(const Response& response) {
    return json::parse(response.body).as_object();
  }

  store::testing::FakeStore store_;
  metrics::Registry metrics_;
  ingest::Writer writer_;
  FixedClock clock_;
  state::ViewsOnRead views_;
  Api api_;
};

TEST_F(OutboxRoutes, lists_dead_actions_with_what_is_needed_to_act_and_pages_by_id) {
  fill(5, 3);
  Response page = call(Method::get, "/v1/outbox?status=dead&limit=2");
  ASSERT_EQ(page.status, 200u) << page.body;
  EXPECT_EQ(page.content_type, "application/json");
  json::object first = body(page);
  const json::array& actions = first.at("actions").as_array();
  ASSERT_EQ(actions.size(), 2u);
  const json::object& action = actions[0].as_object();
  EXPECT_EQ(action.at("id").as_int64(), 1);
  EXPECT_EQ(action.at("status").as_string(), "dead");
  EXPECT_EQ(action.at("idempotency_key").as_string(), "C-0/step-1/2026-01-01");
  EXPECT_EQ(action.at("sink").as_string(), "crm.rest");
  EXPECT_EQ(action.at("customer_id").as_string(), "C-0");
  EXPECT_EQ(action.at("invoice_ids").as_array().at(0).as_string(), "F-0");
  EXPECT_EQ(action.at("attempts").as_int64(), 1);
  EXPECT_EQ(action.at("last_error").as_string(), "rejected: HTTP 400 bad owner");
  EXPECT_EQ(action.at("due_at").as_string(), "2026-01-01T00:00:00Z");
  EXPECT_EQ(action.at("delivery").at("crm").at("subject").as_string(), "Relancer");
  EXPECT_EQ(first.at("next_after").as_int64(), 2);

  page = call(Method::get, "/v1/outbox?status=dead&limit=2&after=2");
  ASSERT_EQ(page.status, 200u);
  const json::object second = body(page);
  ASSERT_EQ(second.at("actions").as_array().size(), 1u);
  EXPECT_EQ(second.at("actions").as_array()[0].at("id").as_int64(), 3);
  EXPECT_FALSE(second.contains("next_after"));

  EXPECT_EQ(body(call(Method::get, "/v1/outbox")).at("actions").as_array().size(), 5u);
  EXPECT_EQ(body(call(Method::get, "/v1/outbox?status=pending")).at("actions").as_array().size(),
            1u);
  EXPECT_EQ(body(call(Method::get, "/v1/outbox?status=delivered")).at("actions").as_array().size(),
            1u);
}

TEST_F(OutboxRoutes, bad_parameters_are_400_naming_the_parameter) {
  for (const char* target :
       {"/v1/outbox?status=lost", "/v1/outbox?limit=0", "/v1/outbox?limit=1001",
        "/v1/outbox?after=-1", "/v1/outbox?after=x"}) {
    const Response response = call(Method::get, target);
    EXPECT_EQ(response.status, 400u) << target;
    const std::string detail(body(response).at("detail").as_string());
    const std::string parameter =
        std::string(target).substr(11, std::string(target).find('=') - 11);
    EXPECT_EQ(detail.rfind(parameter + ":", 0), 0u) << detail;
  }
  EXPECT_EQ(call(Method::post, "/v1/outbox").status, 405u);
}

TEST_F(OutboxRoutes, retry_replays_a_dead_action_and_refuses_the_others) {
  fill(3, 1);
  Response response = call(Method::post, "/v1/outbox/1/retry");
  ASSERT_EQ(response.status, 200u) << response.body;
  const json::object action = body(response);
  EXPECT_EQ(action.at("status").as_string(), "pending");
  EXPECT_EQ(action.at("attempts").as_int64(), 0);
  const auto row = store_.find_outbox(1).value();
  EXPECT_EQ(row->status, OutboxStatus::pending);
  EXPECT_EQ(row->next_attempt_at, t0 + std::chrono::minutes(5));  // due now, by the clock
  EXPECT_EQ(store_.claim_outbox(row->next_attempt_at, 10).value().size(), 2u);

  response = call(Method::post, "/v1/outbox/1/retry");  // now sending
  EXPECT_EQ(response.status, 409u);
  EXPECT_EQ(body(response).at("detail").as_string(),
            "outbox action 1 is sending; only a dead action is replayed");
  EXPECT_EQ(call(Method::post, "/v1/outbox/2/retry").status, 409u);  // delivered
  response = call(Method::post, "/v1/outbox/99/retry");
  EXPECT_EQ(response.status, 404u);
  EXPECT_EQ(body(response).at("detail").as_string(), "no outbox action with id \"99\"");
  EXPECT_EQ(call(Method::post, "/v1/outbox/abc/retry").status, 404u);
  EXPECT_EQ(call(Method::get, "/v1/outbox/1/retry").status, 405u);
}

}  // namespace
}  // namespace relance::http
