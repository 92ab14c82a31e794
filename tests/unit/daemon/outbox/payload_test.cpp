#include "outbox/payload.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace relance::outbox {
namespace {

using connectors::CrmActivity;
using connectors::Delivery;
using connectors::EmailMessage;

TEST(OutboxPayload, email_round_trips_with_every_field) {
  EmailMessage email;
  email.from = "Relances <relances@example.fr>";
  email.reply_to = "compta@example.fr";
  email.to = {"a@client.fr", "b@client.fr"};
  email.cc = {"c@client.fr"};
  email.subject = "Relance n°2 — facture F-1";
  email.text = "Bonjour,\nvotre facture \"F-1\" est échue.";
  email.html = "<p>Bonjour</p>";
  email.date = core::Timestamp(std::chrono::seconds(1'767'225'600) + std::chrono::microseconds(5));
  const Delivery delivery{"C-1/step-2/2026-01-01", email, "C-1"};
  auto back = delivery_from_json(delivery_to_json(delivery));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->idempotency_key, delivery.idempotency_key);
  EXPECT_EQ(back->customer_id, "C-1");
  const auto& got = std::get<EmailMessage>(back->content);
  EXPECT_EQ(got.from, email.from);
  EXPECT_EQ(got.reply_to, email.reply_to);
  EXPECT_EQ(got.to, email.to);
  EXPECT_EQ(got.cc, email.cc);
  EXPECT_EQ(got.subject, email.subject);
  EXPECT_EQ(got.text, email.text);
  EXPECT_EQ(got.html, email.html);
  EXPECT_EQ(got.date, email.date);
}

TEST(OutboxPayload, crm_activity_round_trips_with_and_without_due_date) {
  CrmActivity task;
  task.kind = CrmActivity::Kind::task;
  task.customer_id = "C-1";
  task.customer_name = "Dupont & Fils";
  task.crm_id = "hs-42";
  task.subject = "Call about F-1";
  task.body = "Overdue 20 days";
  task.due_date = core::Date(std::chrono::year(2026) / 3 / 2);
  task.invoice_ids = {"F-1", "F-2"};
  auto back = delivery_from_json(delivery_to_json({"k1", task}));
  ASSERT_TRUE(back) << back.error().to_string();
  const auto& got = std::get<CrmActivity>(back->content);
  EXPECT_EQ(got.kind, CrmActivity::Kind::task);
  EXPECT_EQ(got.customer_id, "C-1");
  EXPECT_EQ(got.customer_name, "Dupont & Fils");
  EXPECT_EQ(got.crm_id, "hs-42");
  EXPECT_EQ(got.subject, task.subject);
  EXPECT_EQ(got.body, task.body);
  EXPECT_EQ(got.due_date, task.due_date);
  EXPECT_EQ(got.invoice_ids, task.invoice_ids);

  CrmActivity note = task;
  note.kind = CrmActivity::Kind::note;
  note.due_date.reset();
  back = delivery_from_json(delivery_to_json({"k2", note}));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(std::get<CrmActivity>(back->content).kind, CrmActivity::Kind::note);
  EXPECT_FALSE(std::get<CrmActivity>(back->content).due_date.has_value());
}

TEST(OutboxPayload, errors_name_the_member_and_the_problem) {
  struct Case {
    const char* json;
    const char* field;
  };
  const Case cases[] = {
      {"[1]", "payload"},
      {"{nope", "payload"},
      {R"({"crm":{}})", "payload.idempotency_key"},
      {R"({"idempotency_key":"k"})", "payload"},
      {R"({"idempotency_key":"k","crm":{},"email":{}})", "payload"},
      {R"({"idempotency_key":"k","crm":{"kind":"call","customer_id":"C","subject":"s"}})",
       "payload.crm.kind"},
      {R"({"idempotency_key":"k","crm":{"kind":"task","customer_id":"C","subject":"s",)"
       R"("due_date":"2026-02-30"}})",
       "payload.crm.due_date"},
      {R"({"idempotency_key":"k","email":{"from":"a","to":"b","subject":"s","text":"t",)"
       R"("date":"2026-01-01T00:00:00Z"}})",
       "payload.email.to"},
      {R"({"idempotency_key":"k","email":{"from":"a","to":[],"subject":"s","text":"t",)"
       R"("date":"yesterday"}})",
       "payload.email.date"},
  };
  for (const auto& c : cases) {
    auto parsed = delivery_from_json(c.json);
    ASSERT_FALSE(parsed) << c.json;
    EXPECT_EQ(parsed.error().field, c.field) << c.json << ": " << parsed.error().to_string();
    EXPECT_FALSE(parsed.error().message.empty());
  }
}

TEST(OutboxPayload, alert_notice_round_trips_open_and_resolved) {
  connectors::AlertNotice alert;
  alert.alert_id = "a-7f3e";
  alert.kind = "payment.unmatched";
  alert.severity = "warning";
  alert.status = "open";
  alert.customer_id = "C-1";
  alert.invoice_ids = {"F-1", "F-2"};
  alert.message = "Paiement \"P-1\" de 120,00 EUR sans facture";
  alert.at = core::Timestamp(std::chrono::seconds(1'767'225'600) + std::chrono::microseconds(7));
  const Delivery delivery{"alert:a-7f3e:open:1767225600000007", alert, "C-1"};
  const std::string text = delivery_to_json(delivery);
  EXPECT_NE(text.find(R"("alert":{)"), std::string::npos) << text;
  auto back = delivery_from_json(text);
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(back->idempotency_key, delivery.idempotency_key);
  EXPECT_EQ(back->customer_id, "C-1");
  ASSERT_TRUE(std::holds_alternative<connectors::AlertNotice>(back->content));
  EXPECT_EQ(std::get<connectors::AlertNotice>(back->content), alert);

  // A resolve knows less: no severity, invoices nor message.
  connectors::AlertNotice resolved;
  resolved.alert_id = "a-7f3e";
  resolved.kind = "payment.unmatched";
  resolved.status = "resolved";
  resolved.customer_id = "C-1";
  resolved.at = alert.at + std::chrono::hours(2);
  back = delivery_from_json(delivery_to_json({"k", resolved, "C-1"}));
  ASSERT_TRUE(back) << back.error().to_string();
  EXPECT_EQ(std::get<connectors::AlertNotice>(back->content), resolved);
}

TEST(OutboxPayload, alert_errors_name_the_member) {
  auto bad_status = delivery_from_json(
      R"({"idempotency_key":"k","alert":{"id":"a","kind":"x","status":"closed","at":"2026-01-01T00:00:00Z"}})");
  ASSERT_FALSE(bad_status);
  EXPECT_EQ(bad_status.error().field, "payload.alert.status");
  EXPECT_NE(bad_status.error().message.find("closed"), std::string::npos);
  auto no_at = delivery_from_json(
      R"({"idempotency_key":"k","alert":{"id":"a","kind":"x","status":"open"}})");
  ASSERT_FALSE(no_at);
  EXPECT_EQ(no_at.error().field, "payload.alert.at");
  auto two = delivery_from_json(
      R"({"idempotency_key":"k","crm":{},"alert":{"id":"a","kind":"x","status":"open","at":"2026-01-01T00:00:00Z"}})");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().field, "payload");
}

}  // namespace
}  // namespace relance::outbox
