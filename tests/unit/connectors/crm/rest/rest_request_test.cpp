#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "connectors/crm/rest/rest_sink.hpp"

namespace relance::connectors {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

const core::Timestamp now =
    core::Timestamp(std::chrono::sys_days(std::chrono::year(2026) / 3 / 5) + std::chrono::hours(9));

CrmActivity task() {
  CrmActivity activity;
  activity.kind = CrmActivity::Kind::task;
  activity.customer_id = "C/42 é";
  activity.customer_name = "Boulangerie Dupré";
  activity.crm_id = "9001";
  activity.subject = "Appeler \"Dupré\" : facture échue";
  activity.body = "Montant dû : 1 234,56 €\nÉchéance dépassée <urgent>";
  activity.due_date = std::chrono::year(2026) / 3 / 10;
  activity.invoice_ids = {"FA-0042", "FA-0043"};
  return activity;
}

std::string header(const HttpRequest& request, const std::string& name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) return value;
  }
  return "<absent>";
}

RestSinkOptions generic() {
  RestSinkOptions options;
  options.task_request = RequestTemplate{
      "POST", "https://crm.example/api/customers/{{customer_id}}/tasks?due={{due_date}}",
      R"({"title": "{{subject}}", "text": "{{body}}", "invoices": "{{invoice_ids}}",
          "when": "{{activity_timestamp}}"{{#has_crm_id}}, "account": "{{crm_id}}"{{/has_crm_id}}})"};
  options.auth = HttpAuth::bearer;
  options.token = "secret-token";
  options.headers = {{"X-Tenant", "acme"}};
  return options;
}

TEST(CrmRequest, generic_template_escapes_values_for_json_and_url) {
  Result<HttpRequest> request = build_crm_request(generic(), Delivery{"key-1", task()}, now);
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  EXPECT_EQ(request->method, "POST");
  EXPECT_EQ(request->url, "https://crm.example/api/customers/C%2F42%20%C3%A9/tasks?due=2026-03-10");
  const json::object body = json::parse(request->body).as_object();
  EXPECT_EQ(body.at("title").as_string(), task().subject);
  EXPECT_EQ(body.at("text").as_string(), task().body);
  EXPECT_EQ(body.at("invoices").as_string(), "FA-0042, FA-0043");
  EXPECT_EQ(body.at("when").as_string(), "2026-03-10T00:00:00Z");
  EXPECT_EQ(body.at("account").as_string(), "9001");
  EXPECT_EQ(header(*request, "Idempotency-Key"), "key-1");
  EXPECT_EQ(header(*request, "Authorization"), "Bearer secret-token");
  EXPECT_EQ(header(*request, "X-Tenant"), "acme");
  EXPECT_EQ(header(*request, "Content-Type"), "application/json");
}

TEST(CrmRequest, value_cannot_change_the_shape_of_the_json_body) {
  CrmActivity activity = task();
  activity.subject = R"(x", "admin": true, "y": ")";
  activity.crm_id.clear();
  Result<HttpRequest> request = build_crm_request(generic(), Delivery{"k", activity}, now);
  ASSERT_TRUE(request.ok());
  const json::object body = json::parse(request->body).as_object();
  EXPECT_EQ(body.size(), 4u);  // title, text, invoices, when: no "admin", no "account"
  EXPECT_EQ(body.at("title").as_string(), activity.subject);
}

TEST(CrmRequest, unsafe_or_unknown_template_tags_are_configuration_errors) {
  for (const char* bad : {R"({"a": "{{{subject}}}"})", R"({"a": "{{&subject}}"})",
                          R"({"a": "{{amount}}"})", R"({{=<% %>=}})", R"({"a": "{{> x}}"})",
                          R"({"a": "{{subject"})", R"({{#secret}}{{/secret}})"}) {
    RestSinkOptions options = generic();
    options.task_request->body = bad;
    Result<std::unique_ptr<Sink>> sink = make_rest_sink(options);
    ASSERT_FALSE(sink.ok()) << bad;
    EXPECT_EQ(sink.error().field, "task_request.body") << bad;
  }
  RestSinkOptions options = generic();
  options.task_request->url = "ftp://crm.example/{{customer_id}}";
  EXPECT_EQ(make_rest_sink(options).error().field, "task_request.url");
  options = generic();
  options.task_request->method = "DELETE";
  EXPECT_EQ(make_rest_sink(options).error().field, "task_request.method");
  options = generic();
  options.headers = {{"X-Bad", "a\r\nInjected: yes"}};
  EXPECT_FALSE(make_rest_sink(options).ok());
}

TEST(CrmRequest, template_that_does_not_render_json_is_rejected_per_activity) {
  RestSinkOptions options = generic();
  options.task_request->body = R"({"title": {{subject}}})";
  Result<HttpRequest> request = build_crm_request(options, Delivery{"k", task()}, now);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.error().field, "body");
  // Notes have no template in this configuration.
  CrmActivity note = task();
  note.kind = CrmActivity::Kind::note;
  EXPECT_EQ(build_crm_request(generic(), Delivery{"k", note}, now).error().field, "kind");
}

TEST(CrmRequest, hubspot_task_is_associated_with_the_company) {
  RestSinkOptions options;
  options.preset = CrmPreset::hubspot;
  options.token = "pat-eu1-xyz";
  Result<HttpRequest> request = build_crm_request(options, Delivery{"k", task()}, now);
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  EXPECT_EQ(request->url, "https://api.hubapi.com/crm/v3/objects/tasks");
  EXPECT_EQ(header(*request, "Authorization"), "Bearer pat-eu1-xyz");
  const json::value body = json::parse(request->body);
  const json::object& properties = body.at("properties").as_object();
  EXPECT_EQ(properties.at("hs_task_subject").as_string(), task().subject);
  EXPECT_EQ(properties.at("hs_timestamp").as_string(), "2026-03-10T00:00:00Z");
  EXPECT_EQ(properties.at("hs_task_status").as_string(), "NOT_STARTED");
  EXPECT_EQ(properties.at("hs_task_body").as_string(),
            "Montant dû : 1 234,56 €<br>Échéance dépassée &lt;urgent&gt;<br><br>"
            "Invoices: FA-0042, FA-0043");
  const json::value& association = body.at("associations").at(0);
  EXPECT_EQ(association.at("to").at("id").as_string(), "9001");
  EXPECT_EQ(association.at("types").at(0).at("associationTypeId").as_int64(), 192);
}

TEST(CrmRequest, hubspot_note_to_a_contact_and_without_crm_id) {
  RestSinkOptions options;
  options.preset = CrmPreset::hubspot;
  options.token = "t";
  options.base_url = "http://127.0.0.1:8080";
  options.hubspot_association = HubspotAssociation::contact;
  CrmActivity note = task();
  note.kind = CrmActivity::Kind::note;
  Result<HttpRequest> request = build_crm_request(options, Delivery{"k", note}, now);
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->url, "http://127.0.0.1:8080/crm/v3/objects/notes");
  json::value body = json::parse(request->body);
  EXPECT_EQ(body.at("properties").at("hs_timestamp").as_string(), "2026-03-05T09:00:00Z");
  EXPECT_EQ(body.at("associations").at(0).at("types").at(0).at("associationTypeId").as_int64(),
            202);
  note.crm_id.clear();
  request = build_crm_request(options, Delivery{"k", note}, now);
  ASSERT_TRUE(request.ok());
  EXPECT_FALSE(json::parse(request->body).as_object().contains("associations"));
}

TEST(CrmRequest, pipedrive_activity_carries_org_id_and_api_token) {
  RestSinkOptions options;
  options.preset = CrmPreset::pipedrive;
  options.token = "abc/123";
  Result<HttpRequest> request = build_crm_request(options, Delivery{"k", task()}, now);
  ASSERT_TRUE(request.ok()) << request.error().to_string();
  EXPECT_EQ(request->url, "https://api.pipedrive.com/v1/activities?api_token=abc%2F123");
  EXPECT_EQ(header(*request, "Authorization"), "<absent>");
  const json::object body = json::parse(request->body).as_object();
  EXPECT_EQ(body.at("org_id").as_int64(), 9001);
  EXPECT_EQ(body.at("type").as_string(), "task");
  EXPECT_EQ(body.at("due_date").as_string(), "2026-03-10");
  EXPECT_EQ(body.at("subject").as_string(), task().subject);

  CrmActivity bad = task();
  bad.crm_id = "9001, \"x\": 1";
  EXPECT_EQ(build_crm_request(options, Delivery{"k", bad}, now).error().field, "crm_id");
  CrmActivity note = task();
  note.kind = CrmActivity::Kind::note;
  note.crm_id.clear();
  EXPECT_EQ(build_crm_request(options, Delivery{"k", note}, now).error().field, "crm_id");
}

TEST(CrmRequest, presets_need_a_token) {
  RestSinkOptions options;
  options.preset = CrmPreset::pipedrive;
  EXPECT_EQ(make_rest_sink(options).error().field, "token");
  options.preset = CrmPreset::hubspot;
  EXPECT_EQ(make_rest_sink(options).error().field, "token");
}

TEST(RetryAfter, seconds_and_http_dates_relative_to_the_clock) {
  EXPECT_EQ(parse_retry_after("2", now, seconds(3600)), seconds(2));
  EXPECT_EQ(parse_retry_after(" 120 ", now, seconds(60)), seconds(60));
  EXPECT_EQ(parse_retry_after("99999999999999", now, seconds(60)), seconds(60));
  EXPECT_EQ(parse_retry_after("Thu, 05 Mar 2026 09:01:30 GMT", now, seconds(3600)), seconds(90));
  EXPECT_EQ(parse_retry_after("Thursday, 05-Mar-26 09:00:10 GMT", now, seconds(3600)), seconds(10));
  EXPECT_EQ(parse_retry_after("Wed, 04 Mar 2026 09:00:00 GMT", now, seconds(3600)), seconds(0));
  EXPECT_EQ(parse_retry_after("soon", now, seconds(3600)), std::nullopt);
  EXPECT_EQ(parse_retry_after("", now, seconds(3600)), std::nullopt);
  EXPECT_EQ(parse_retry_after("-5", now, seconds(3600)), std::nullopt);
}

}  // namespace
}  // namespace relance::connectors
