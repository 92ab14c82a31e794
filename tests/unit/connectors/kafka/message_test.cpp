// Kafka message -> canonical event, both CloudEvents modes of the Kafka binding.

#include "connectors/kafka/message.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace relance::connectors::kafka {
namespace {

using ::testing::HasSubstr;

const std::string data_json =
    R"({"invoice_id":"INV-7","customer_id":"C-1","amount":{"amount":"120.00","currency":"EUR"},)"
    R"("issue_date":"2026-01-05","due_date":"2026-02-04"})";

std::string envelope(const std::string& id) {
  return R"({"specversion":"1.0","id":")" + id +
         R"(","source":"erp/test","type":"invoice.issued","data":)" + data_json + "}";
}

std::vector<HeaderView> binary_headers(std::string_view type = "invoice.issued") {
  return {{"ce_specversion", "1.0"},
          {"ce_id", "evt-9"},
          {"ce_source", "erp/odoo"},
          {"ce_type", type},
          {"content-type", "application/json"}};
}

TEST(kafka_message, structured_value_without_headers_is_the_envelope) {
  const Result<core::Event> event = event_from_message(envelope("evt-1"), {});
  ASSERT_TRUE(event.ok()) << event.error().to_string();
  EXPECT_EQ(event->id, "evt-1");
  EXPECT_EQ(event->source, "erp/test");
  EXPECT_EQ(event->type, core::EventType::invoice_issued);
}

TEST(kafka_message, structured_content_type_wins_over_stray_ce_headers) {
  const Result<core::Event> event =
      event_from_message(envelope("evt-2"), {{"content-type",
                                              "application/cloudevents+json; "
                                              "charset=utf-8"},
                                             {"ce_specversion", "1.0"}});
  ASSERT_TRUE(event.ok()) << event.error().to_string();
  EXPECT_EQ(event->id, "evt-2");
}

TEST(kafka_message, binary_mode_builds_the_envelope_from_ce_headers_and_the_value) {
  const Result<core::Event> event = event_from_message(data_json, binary_headers());
  ASSERT_TRUE(event.ok()) << event.error().to_string();
  EXPECT_EQ(event->id, "evt-9");
  EXPECT_EQ(event->source, "erp/odoo");
  EXPECT_EQ(event->type, core::EventType::invoice_issued);
  const auto& invoice = std::get<core::InvoiceData>(event->data);
  EXPECT_EQ(invoice.invoice_id, "INV-7");
  EXPECT_EQ(invoice.amount.minor_units, 12000);
  // The journal keeps an envelope that parses back to the same event.
  const Result<core::Event> again = event_from_message(event->json, {});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(again->id, "evt-9");
}

TEST(kafka_message, binary_mode_errors_name_the_mode_and_the_attribute) {
  const Result<core::Event> unknown_type = event_from_message(data_json, binary_headers("nope"));
  ASSERT_FALSE(unknown_type.ok());
  EXPECT_THAT(unknown_type.error().to_string(), HasSubstr("binary mode"));
  EXPECT_THAT(unknown_type.error().to_string(), HasSubstr("type"));

  const Result<core::Event> not_json = event_from_message("{not json", binary_headers());
  ASSERT_FALSE(not_json.ok());
  EXPECT_EQ(not_json.error().field, "data");

  auto xml = binary_headers();
  xml.back().value = "application/xml";
  const Result<core::Event> wrong_type = event_from_message("<a/>", xml);
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_THAT(wrong_type.error().to_string(), HasSubstr("is not JSON"));

  auto twice = binary_headers();
  twice.push_back({"ce_id", "evt-10"});
  const Result<core::Event> duplicate = event_from_message(data_json, twice);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().field, "ce_id");

  auto null_header = binary_headers();
  null_header[2].value = std::nullopt;
  EXPECT_FALSE(event_from_message(data_json, null_header).ok());
}

TEST(kafka_message, invalid_structured_messages_are_refused_with_the_reason) {
  const Result<core::Event> garbage = event_from_message("not an event", {});
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.error().to_string(), HasSubstr("structured mode"));

  EXPECT_FALSE(event_from_message("", {}).ok());  // a tombstone
  const Result<core::Event> batch = event_from_message(
      "[" + envelope("a") + "]", {{"content-type", "application/cloudevents-batch+json"}});
  ASSERT_FALSE(batch.ok());
  EXPECT_THAT(batch.error().to_string(), HasSubstr("one event per message"));
}

}  // namespace
}  // namespace relance::connectors::kafka
