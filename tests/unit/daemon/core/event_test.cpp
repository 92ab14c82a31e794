#include "core/event.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <string>
#include <vector>

namespace relance::core {
namespace {

namespace json = boost::json;
using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Fixtures: one envelope per type with every field, and the list of its required fields.

struct TypeCase {
  std::string_view type;
  std::string_view data;                   // every field the canonical schema knows
  std::vector<std::string_view> required;  // paths below `data`, nested ones included
  std::vector<std::string_view> optional;  // members of `data` that may be left out
};

const std::vector<TypeCase>& type_cases() {
  static const std::vector<TypeCase> cases = {
      {"invoice.issued",
       R"({"invoice_id":"FA-2026-0042","customer_id":"CLI-0007",
           "amount":{"amount":"1440.00","currency":"EUR"},
           "issue_date":"2026-03-01","due_date":"2026-03-31","number":"FA-2026-0042",
           "payment_terms":"30 jours fin de mois","purchase_order":"BC-7781","version":3})",
       {"invoice_id", "customer_id", "amount", "amount.amount", "amount.currency", "issue_date",
        "due_date"},
       {"number", "payment_terms", "purchase_order", "version"}},
      {"invoice.updated",
       R"({"invoice_id":"FA-2026-0042","customer_id":"CLI-0007",
           "amount":{"amount":"1380.00","currency":"EUR"},
           "issue_date":"2026-03-01","due_date":"2026-04-15","number":"FA-2026-0042",
           "payment_terms":"45 jours","purchase_order":"BC-7781","version":4})",
       {"invoice_id", "customer_id", "amount", "amount.amount", "amount.currency", "issue_date",
        "due_date"},
       {"number", "payment_terms", "purchase_order", "version"}},
      {"invoice.cancelled",
       R"({"invoice_id":"FA-2026-0042","reason":"Facture émise en double","version":5})",
       {"invoice_id"},
       {"reason", "version"}},
      {"invoice.written_off",
       R"({"invoice_id":"FA-2025-0913","amount":{"amount":"12.40","currency":"EUR"},
           "reason":"Solde non recouvrable"})",
       {"invoice_id"},
       {"amount", "reason"}},
      {"credit_note.issued",
       R"({"credit_note_id":"AV-2026-0003","customer_id":"CLI-0007",
           "amount":{"amount":"60.00","currency":"EUR"},"issue_date":"2026-03-10",
           "invoice_id":"FA-2026-0042"})",
       {"credit_note_id", "customer_id", "amount", "amount.amount", "amount.currency",
        "issue_date"},
       {"invoice_id"}},
      {"payment.received",
       R"({"payment_id":"VIR-20260328-001","amount":{"amount":"1500.00","currency":"EUR"},
           "received_date":"2026-03-28","customer_id":"CLI-0007",
           "allocations":[{"invoice_id":"FA-2026-0042","amount":{"amount":"1440.00","currency":"EUR"}},
                          {"invoice_id":"FA-2026-0051","amount":{"amount":"60.00","currency":"EUR"}}],
           "remittance_info":"REGLEMENT FACT FA-2026-0042 FA-2026-0051",
           "structured_reference":"RF18539007547034","method":"sepa_credit_transfer"})",
       {"payment_id", "amount", "amount.amount", "amount.currency", "received_date",
        "allocations[0].invoice_id", "allocations[1].amount", "allocations[1].amount.currency"},
       {"customer_id", "allocations", "remittance_info", "structured_reference", "method"}},
      {"payment.reversed",
       R"({"payment_id":"CHQ-0099812","reversed_date":"2026-04-02","reason":"chèque impayé"})",
       {"payment_id", "reversed_date"},
       {"reason"}},
      {"dispute.opened",
       R"({"invoice_id":"FA-2026-0042","reason":"Marchandise livrée endommagée",
           "dispute_id":"LIT-0012","amount":{"amount":"240.00","currency":"EUR"}})",
       {"invoice_id", "reason"},
       {"dispute_id", "amount"}},
      {"dispute.resolved",
       R"({"invoice_id":"FA-2026-0042","dispute_id":"LIT-0012",
           "resolution":"Avoir de 240 EUR accordé"})",
       {"invoice_id"},
       {"dispute_id", "resolution"}},
      {"promise_to_pay.recorded",
       R"({"invoice_ids":["FA-2026-0042","FA-2026-0051"],"customer_id":"CLI-0007",
           "amount":{"amount":"1500.00","currency":"EUR"},"promised_date":"2026-04-10",
           "promise_id":"PRO-0031"})",
       {"amount", "amount.amount", "amount.currency", "promised_date"},
       {"promise_id"}},  // and one of invoice_ids, customer_id
      {"payment_plan.agreed",
       R"({"plan_id":"ECH-0004","invoice_ids":["FA-2026-0042"],
           "instalments":[{"due_date":"2026-04-30","amount":{"amount":"480.00","currency":"EUR"}},
                          {"due_date":"2026-05-31","amount":{"amount":"480.00","currency":"EUR"}},
                          {"due_date":"2026-06-30","amount":{"amount":"480.00","currency":"EUR"}}]})",
       {"plan_id", "invoice_ids", "instalments", "instalments[0].due_date", "instalments[2].amount",
        "instalments[1].amount.amount"},
       {}},
      {"customer.upserted",
       R"({"customer_id":"CLI-0007","name":"Boulangerie Martin SARL",
           "emails":["compta@boulangerie-martin.fr","s.martin@boulangerie-martin.fr"],
           "language":"fr","timezone":"Europe/Paris","segment":"tpe","crm_id":"hs-88120",
           "credit_limit":{"amount":"5000.00","currency":"EUR"}})",
       {"customer_id", "name"},
       {"emails", "language", "timezone", "segment", "crm_id", "credit_limit"}},
  };
  return cases;
}

std::string envelope(std::string_view type, std::string_view data) {
  return R"({"specversion":"1.0","id":"evt-0001","source":"erp/odoo","type":")" +
         std::string(type) + R"(","time":"2026-03-01T09:30:00+01:00","data":)" + std::string(data) +
         "}";
}

const TypeCase& type_case(std::string_view type) {
  for (const auto& c : type_cases()) {
    if (c.type == type) return c;
  }
  ADD_FAILURE() << "no fixture for " << type;
  return type_cases().front();
}

std::string full(std::string_view type) { return envelope(type, type_case(type).data); }

// Walks "data.allocations[1].amount" from the root; returns the parent object and the last key
// (or the parent array and the index).
struct Location {
  json::value* parent = nullptr;
  std::string key;
  std::size_t index = 0;
};

Location locate(json::value& root, std::string_view path) {
  json::value* current = &root;
  Location location;
  std::size_t at = 0;
  while (at < path.size()) {
    location.parent = current;
    if (path[at] == '.') ++at;
    if (path[at] == '[') {
      const std::size_t close = path.find(']', at);
      location.key.clear();
      location.index = std::stoul(std::string(path.substr(at + 1, close - at - 1)));
      current = &current->as_array().at(location.index);
      at = close + 1;
    } else {
      const std::size_t end = path.find_first_of(".[", at);
      location.key = std::string(path.substr(at, end - at));
      current = &current->as_object()[location.key];
      at = end == std::string_view::npos ? path.size() : end;
    }
  }
  return location;
}

std::string edited(std::string_view text, const std::function<void(json::value&)>& edit) {
  json::value root = json::parse(text);
  edit(root);
  return json::serialize(root);
}

std::string without(std::string_view text, std::string_view path) {
  return edited(text, [&](json::value& root) {
    Location location = locate(root, path);
    if (location.key.empty()) {
      auto& array = location.parent->as_array();
      array.erase(array.begin() + static_cast<std::ptrdiff_t>(location.index));
    } else {
      location.parent->as_object().erase(location.key);
    }
  });
}

std::string with(std::string_view text, std::string_view path, json::value value) {
  return edited(text, [&](json::value& root) {
    Location location = locate(root, path);
    if (location.key.empty()) {
      location.parent->as_array().at(location.index) = std::move(value);
    } else {
      location.parent->as_object()[location.key] = std::move(value);
    }
  });
}

json::value raw(std::string_view text) { return json::parse(text); }
// A built string as a JSON string value.
json::value text_value(const std::string& text) { return json::value(std::string_view(text)); }

Event parsed(std::string_view text) {
  auto event = parse_event(text);
  EXPECT_TRUE(event.ok()) << text << "\n-> " << (event.ok() ? "" : event.error().to_string());
  return event.ok() ? std::move(*event) : Event{};
}

Error refused(std::string_view text) {
  auto event = parse_event(text);
  EXPECT_FALSE(event.ok()) << text << " was accepted";
  return event.ok() ? Error{"<accepted>", ""} : event.error();
}

void expect_refused(std::string_view text, std::string_view field, std::string_view message) {
  const Error error = refused(text);
  EXPECT_EQ(error.field, field) << text << "\n-> " << error.to_string();
  EXPECT_THAT(error.message, HasSubstr(std::string(message))) << text;
}

Money eur(std::int64_t cents) { return Money{cents, *Currency::from_code("EUR")}; }
Date ymd(int y, unsigned m, unsigned d) {
  return Date{std::chrono::year(y), std::chrono::month(m), std::chrono::day(d)};
}

// ---------------------------------------------------------------------------------------------
// Every type, with all fields and with only the required ones.

TEST(EventTypes, names_round_trip_for_all_twelve_types) {
  ASSERT_EQ(type_cases().size(), static_cast<std::size_t>(event_type_count));
  for (int i = 0; i < event_type_count; ++i) {
    const auto type = static_cast<EventType>(i);
    EXPECT_EQ(event_type_from_name(event_type_name(type)), type);
  }
  EXPECT_FALSE(event_type_from_name("invoice.paid").has_value());
  EXPECT_FALSE(event_type_from_name("Invoice.Issued").has_value());
}

TEST(ParseEvent, every_type_parses_with_all_fields) {
  for (const auto& c : type_cases()) {
    SCOPED_TRACE(std::string(c.type));
    Event event = parsed(full(c.type));
    EXPECT_EQ(event_type_name(event.type), c.type);
    EXPECT_EQ(event.id, "evt-0001");
    EXPECT_EQ(event.source, "erp/odoo");
  }
}

TEST(ParseEvent, every_type_parses_with_only_required_fields) {
  for (const auto& c : type_cases()) {
    SCOPED_TRACE(std::string(c.type));
    std::string text = full(c.type);
    for (std::string_view field : c.optional) text = without(text, "data." + std::string(field));
    // A promise needs one of invoice_ids and customer_id; check each alone.
    if (c.type == "promise_to_pay.recorded") {
      const Event by_customer = parsed(without(text, "data.invoice_ids"));
      EXPECT_TRUE(std::get<PromiseToPayRecorded>(by_customer.data).invoice_ids.empty());
      EXPECT_EQ(std::get<PromiseToPayRecorded>(by_customer.data).customer_id, "CLI-0007");
      const Event by_invoices = parsed(without(text, "data.customer_id"));
      EXPECT_EQ(std::get<PromiseToPayRecorded>(by_invoices.data).customer_id, std::nullopt);
      EXPECT_EQ(std::get<PromiseToPayRecorded>(by_invoices.data).promise_id, std::nullopt);
      continue;
    }
    // Envelope options go too.
    text = without(text, "time");
    Event event = parsed(text);
    EXPECT_EQ(event_type_name(event.type), c.type);
    EXPECT_FALSE(event.time.has_value());
    EXPECT_FALSE(event.subject.has_value());
  }
}

TEST(ParseEvent, each_missing_required_field_is_named) {
  for (const auto& c : type_cases()) {
    for (std::string_view field : c.required) {
      const std::string path = "data." + std::string(field);
      SCOPED_TRACE(std::string(c.type) + " " + path);
      expect_refused(without(full(c.type), path), path, "is required");
    }
  }
}

TEST(ParseEvent, null_counts_as_absent) {
  Event event = parsed(with(full("invoice.issued"), "data.number", nullptr));
  EXPECT_FALSE(std::get<InvoiceData>(event.data).number.has_value());
  expect_refused(with(full("invoice.issued"), "data.invoice_id", nullptr), "data.invoice_id",
                 "is required");
  expect_refused(with(full("invoice.issued"), "data.amount.currency", nullptr),
                 "data.amount.currency", "is required");
}

TEST(ParseEvent, wrongly_typed_required_fields_are_named) {
  for (const auto& c : type_cases()) {
    for (std::string_view field : c.required) {
      const std::string path = "data." + std::string(field);
      SCOPED_TRACE(std::string(c.type) + " " + path);
      // true is never a valid value of any field.
      const Error error = refused(with(full(c.type), path, true));
      EXPECT_EQ(error.field, path) << error.to_string();
      EXPECT_THAT(error.message, HasSubstr("a JSON boolean"));
    }
  }
}

TEST(ParseEvent, invoice_fields_are_read) {
  Event event = parsed(full("invoice.issued"));
  EXPECT_EQ(event.type, EventType::invoice_issued);
  const auto& d = std::get<InvoiceData>(event.data);
  EXPECT_EQ(d.invoice_id, "FA-2026-0042");
  EXPECT_EQ(d.customer_id, "CLI-0007");
  EXPECT_EQ(d.amount, eur(144000));
  EXPECT_EQ(d.issue_date, ymd(2026, 3, 1));
  EXPECT_EQ(d.due_date, ymd(2026, 3, 31));
  EXPECT_EQ(d.number, "FA-2026-0042");
  EXPECT_EQ(d.payment_terms, "30 jours fin de mois");
  EXPECT_EQ(d.purchase_order, "BC-7781");
  EXPECT_EQ(d.version, 3);
  ASSERT_TRUE(event.time.has_value());
  EXPECT_EQ(format_timestamp(*event.time), "2026-03-01T08:30:00Z");
}

TEST(ParseEvent, payment_fields_are_read) {
  const auto d = std::get<PaymentReceived>(parsed(full("payment.received")).data);
  EXPECT_EQ(d.payment_id, "VIR-20260328-001");
  EXPECT_EQ(d.amount, eur(150000));
  EXPECT_EQ(d.received_date, ymd(2026, 3, 28));
  EXPECT_EQ(d.customer_id, "CLI-0007");
  ASSERT_EQ(d.allocations.size(), 2u);
  EXPECT_EQ(d.allocations[0].invoice_id, "FA-2026-0042");
  EXPECT_EQ(d.allocations[0].amount, eur(144000));
  EXPECT_EQ(d.allocations[1].invoice_id, "FA-2026-0051");
  EXPECT_EQ(d.allocations[1].amount, eur(6000));
  EXPECT_EQ(d.remittance_info, "REGLEMENT FACT FA-2026-0042 FA-2026-0051");
  EXPECT_EQ(d.structured_reference, "RF18539007547034");
  EXPECT_EQ(d.method, "sepa_credit_transfer");
}

TEST(ParseEvent, other_type_fields_are_read) {
  const auto cancelled = std::get<InvoiceCancelled>(parsed(full("invoice.cancelled")).data);
  EXPECT_EQ(cancelled.invoice_id, "FA-2026-0042");
  EXPECT_EQ(cancelled.reason, "Facture émise en double");
  EXPECT_EQ(cancelled.version, 5);

  const auto written_off = std::get<InvoiceWrittenOff>(parsed(full("invoice.written_off")).data);
  EXPECT_EQ(written_off.amount, eur(1240));
  EXPECT_EQ(written_off.reason, "Solde non recouvrable");

  const auto credit = std::get<CreditNoteIssued>(parsed(full("credit_note.issued")).data);
  EXPECT_EQ(credit.credit_note_id, "AV-2026-0003");
  EXPECT_EQ(credit.amount, eur(6000));
  EXPECT_EQ(credit.issue_date, ymd(2026, 3, 10));
  EXPECT_EQ(credit.invoice_id, "FA-2026-0042");

  const auto reversed = std::get<PaymentReversed>(parsed(full("payment.reversed")).data);
  EXPECT_EQ(reversed.payment_id, "CHQ-0099812");
  EXPECT_EQ(reversed.reversed_date, ymd(2026, 4, 2));
  EXPECT_EQ(reversed.reason, "chèque impayé");

  const auto opened = std::get<DisputeOpened>(parsed(full("dispute.opened")).data);
  EXPECT_EQ(opened.reason, "Marchandise livrée endommagée");
  EXPECT_EQ(opened.dispute_id, "LIT-0012");
  EXPECT_EQ(opened.amount, eur(24000));

  const auto resolved = std::get<DisputeResolved>(parsed(full("dispute.resolved")).data);
  EXPECT_EQ(resolved.resolution, "Avoir de 240 EUR accordé");

  const auto promise = std::get<PromiseToPayRecorded>(parsed(full("promise_to_pay.recorded")).data);
  EXPECT_EQ(promise.invoice_ids, (std::vector<std::string>{"FA-2026-0042", "FA-2026-0051"}));
  EXPECT_EQ(promise.customer_id, "CLI-0007");
  EXPECT_EQ(promise.amount, eur(150000));
  EXPECT_EQ(promise.promised_date, ymd(2026, 4, 10));
  EXPECT_EQ(promise.promise_id, "PRO-0031");

  const auto plan = std::get<PaymentPlanAgreed>(parsed(full("payment_plan.agreed")).data);
  EXPECT_EQ(plan.plan_id, "ECH-0004");
  EXPECT_EQ(plan.invoice_ids, std::vector<std::string>{"FA-2026-0042"});
  ASSERT_EQ(plan.instalments.size(), 3u);
  EXPECT_EQ(plan.instalments[2].due_date, ymd(2026, 6, 30));
  EXPECT_EQ(plan.instalments[2].amount, eur(48000));

  const auto customer = std::get<CustomerUpserted>(parsed(full("customer.upserted")).data);
  EXPECT_EQ(customer.name, "Boulangerie Martin SARL");
  EXPECT_EQ(customer.emails, (std::vector<std::string>{"compta@boulangerie-martin.fr",
                                                       "s.martin@boulangerie-martin.fr"}));
  EXPECT_EQ(customer.language, "fr");
  EXPECT_EQ(customer.timezone, "Europe/Paris");
  EXPECT_EQ(customer.segment, "tpe");
  EXPECT_EQ(customer.crm_id, "hs-88120");
  EXPECT_EQ(customer.credit_limit, eur(500000));
}

TEST(ParseEvent, invoice_updated_carries_invoice_data) {
  Event event = parsed(full("invoice.updated"));
  EXPECT_EQ(event.type, EventType::invoice_updated);
  EXPECT_EQ(std::get<InvoiceData>(event.data).version, 4);
}

// ---------------------------------------------------------------------------------------------
// Money inside events.

TEST(EventMoney, amount_as_a_json_number_is_refused) {
  expect_refused(with(full("invoice.issued"), "data.amount.amount", raw("1440.0")),
                 "data.amount.amount", "must be a decimal string");
  expect_refused(with(full("invoice.issued"), "data.amount.amount", 1440), "data.amount.amount",
                 "not a JSON number");
}

TEST(EventMoney, money_must_be_an_object) {
  expect_refused(with(full("invoice.issued"), "data.amount", "1440.00"), "data.amount",
                 "must be an object");
}

TEST(EventMoney, unknown_currency_is_named) {
  expect_refused(with(full("invoice.issued"), "data.amount.currency", "XYZ"),
                 "data.amount.currency", "XYZ is not an ISO 4217 currency");
  expect_refused(with(full("invoice.issued"), "data.amount.currency", "eur"),
                 "data.amount.currency", "three upper-case letters");
  expect_refused(with(full("invoice.issued"), "data.amount.currency", 978), "data.amount.currency",
                 "must be an ISO 4217 code string");
}

TEST(EventMoney, invalid_decimals_are_named) {
  expect_refused(with(full("invoice.issued"), "data.amount.amount", "1440.001"),
                 "data.amount.amount", "has 3 decimals; EUR has 2");
  expect_refused(with(with(full("invoice.issued"), "data.amount.currency", "JPY"),
                      "data.amount.amount", "1440.5"),
                 "data.amount.amount", "JPY has 0");
  expect_refused(with(full("invoice.issued"), "data.amount.amount", "1e3"), "data.amount.amount",
                 "exponent");
  expect_refused(with(full("invoice.issued"), "data.amount.amount", "92233720368547758.08"),
                 "data.amount.amount", "exceeds the largest amount in EUR");
}

TEST(EventMoney, three_decimal_currencies_are_exact) {
  Event event = parsed(with(with(full("invoice.issued"), "data.amount.currency", "TND"),
                            "data.amount.amount", "1250.375"));
  EXPECT_EQ(std::get<InvoiceData>(event.data).amount.minor_units, 1250375);
}

TEST(EventMoney, negative_and_zero_amounts_are_refused) {
  expect_refused(with(full("invoice.issued"), "data.amount.amount", "-1440.00"),
                 "data.amount.amount", "negative amount is not allowed");
  expect_refused(with(full("payment.received"), "data.amount.amount", "0.00"), "data.amount.amount",
                 "must be greater than zero");
  expect_refused(with(full("payment.received"), "data.allocations[1].amount.amount", "0"),
                 "data.allocations[1].amount.amount", "must be greater than zero");
}

TEST(EventMoney, a_zero_credit_limit_is_allowed) {
  Event event = parsed(with(full("customer.upserted"), "data.credit_limit.amount", "0"));
  EXPECT_EQ(std::get<CustomerUpserted>(event.data).credit_limit, eur(0));
  expect_refused(with(full("customer.upserted"), "data.credit_limit.amount", "-1"),
                 "data.credit_limit.amount", "negative");
}

// ---------------------------------------------------------------------------------------------
// Rules across fields.

TEST(EventRules, due_date_before_issue_date_is_refused) {
  expect_refused(with(full("invoice.issued"), "data.due_date", "2026-02-27"), "data.due_date",
                 "2026-02-27 is before issue_date 2026-03-01");
  Event same_day = parsed(with(full("invoice.issued"), "data.due_date", "2026-03-01"));
  EXPECT_EQ(std::get<InvoiceData>(same_day.data).due_date, ymd(2026, 3, 1));
}

TEST(EventRules, invalid_calendar_dates_are_named) {
  expect_refused(with(full("invoice.issued"), "data.due_date", "2026-02-30"), "data.due_date",
                 "2026-02-30 is not a date");
  expect_refused(with(full("invoice.issued"), "data.issue_date", "01/03/2026"), "data.issue_date",
                 "YYYY-MM-DD");
  expect_refused(with(full("payment_plan.agreed"), "data.instalments[1].due_date", "2026-06-31"),
                 "data.instalments[1].due_date", "is not a date");
  expect_refused(with(full("payment.reversed"), "data.reversed_date", 20260402),
                 "data.reversed_date", "must be a date string");
}

TEST(EventRules, allocations_may_not_exceed_the_payment) {
  expect_refused(with(full("payment.received"), "data.allocations[1].amount.amount", "60.01"),
                 "data.allocations[1].amount", "add up to more than the payment amount 1500.00");
  // Allocating less than the payment leaves the rest unallocated, which is fine.
  Event partial =
      parsed(with(full("payment.received"), "data.allocations[1].amount.amount", "59.99"));
  EXPECT_EQ(std::get<PaymentReceived>(partial.data).allocations[1].amount, eur(5999));
}

TEST(EventRules, allocations_are_in_the_payment_currency) {
  expect_refused(with(full("payment.received"), "data.allocations[0].amount.currency", "CHF"),
                 "data.allocations[0].amount.currency", "CHF differs from the payment's");
}

TEST(EventRules, allocation_items_must_be_objects) {
  expect_refused(with(full("payment.received"), "data.allocations[1]", "FA-2026-0051"),
                 "data.allocations[1]", "must be an object");
  expect_refused(with(full("payment.received"), "data.allocations", raw("{}")), "data.allocations",
                 "must be an array");
}

TEST(EventRules, a_promise_needs_invoices_or_a_customer) {
  const std::string neither =
      without(without(full("promise_to_pay.recorded"), "data.invoice_ids"), "data.customer_id");
  expect_refused(neither, "data.invoice_ids", "has neither");
  const Event by_invoices = parsed(without(full("promise_to_pay.recorded"), "data.customer_id"));
  EXPECT_EQ(std::get<PromiseToPayRecorded>(by_invoices.data).invoice_ids.size(), 2u);
}

TEST(EventRules, identifier_lists_refuse_duplicates_and_non_strings) {
  expect_refused(with(full("promise_to_pay.recorded"), "data.invoice_ids[1]", "FA-2026-0042"),
                 "data.invoice_ids[1]", "listed twice");
  expect_refused(with(full("payment_plan.agreed"), "data.invoice_ids[0]", 42),
                 "data.invoice_ids[0]", "must be a string");
  expect_refused(with(full("payment_plan.agreed"), "data.invoice_ids[0]", " FA-1"),
                 "data.invoice_ids[0]", "is not an identifier");
}

TEST(EventRules, payment_plans_need_invoices_and_ordered_instalments) {
  expect_refused(with(full("payment_plan.agreed"), "data.invoice_ids", json::array()),
                 "data.invoice_ids", "at least one invoice");
  expect_refused(with(full("payment_plan.agreed"), "data.instalments", json::array()),
                 "data.instalments", "at least one instalment");
  expect_refused(with(full("payment_plan.agreed"), "data.instalments[2].due_date", "2026-05-01"),
                 "data.instalments[2].due_date", "before the previous instalment's 2026-05-31");
  expect_refused(with(full("payment_plan.agreed"), "data.instalments[1].amount.currency", "USD"),
                 "data.instalments[1].amount.currency", "USD differs");
}

TEST(EventRules, customer_contact_fields_are_checked) {
  expect_refused(with(full("customer.upserted"), "data.emails[1]", "compta.boulangerie.fr"),
                 "data.emails[1]", "is not an email address");
  expect_refused(with(full("customer.upserted"), "data.emails[1]", "compta@boulangerie-martin.fr"),
                 "data.emails[1]", "listed twice");
  expect_refused(with(full("customer.upserted"), "data.emails", "compta@boulangerie-martin.fr"),
                 "data.emails", "must be an array");
  expect_refused(with(full("customer.upserted"), "data.language", "français"), "data.language",
                 "BCP 47");
  expect_refused(with(full("customer.upserted"), "data.timezone", "UTC+1:00"), "data.timezone",
                 "IANA time zone");
  EXPECT_EQ(std::get<CustomerUpserted>(
                parsed(with(full("customer.upserted"), "data.language", "en-GB")).data)
                .language,
            "en-GB");
  EXPECT_EQ(std::get<CustomerUpserted>(parsed(with(full("customer.upserted"), "data.timezone",
                                                   "America/Argentina/Buenos_Aires"))
                                           .data)
                .timezone,
            "America/Argentina/Buenos_Aires");
}

TEST(EventRules, versions_are_non_negative_integers) {
  expect_refused(with(full("invoice.issued"), "data.version", -1), "data.version", ">= 0");
  expect_refused(with(full("invoice.issued"), "data.version", 3.5), "data.version",
                 "not a JSON number");
  expect_refused(with(full("invoice.issued"), "data.version", -2.0), "data.version", ">= 0");
  expect_refused(with(full("invoice.issued"), "data.version", 1e19), "data.version",
                 "larger than the largest version");
  // JSON has one number type: 3.0 is the integer 3 (and JSON Schema reads it so too).
  EXPECT_EQ(
      std::get<InvoiceData>(parsed(with(full("invoice.issued"), "data.version", 3.0)).data).version,
      3);
  expect_refused(with(full("invoice.issued"), "data.version", "3"), "data.version",
                 "not a JSON string");
  expect_refused(with(full("invoice.issued"), "data.version", raw("9223372036854775808")),
                 "data.version", "larger than the largest version");
  EXPECT_EQ(
      std::get<InvoiceData>(
          parsed(with(full("invoice.issued"), "data.version", raw("9223372036854775807"))).data)
          .version,
      INT64_MAX);
}

TEST(EventRules, text_limits_count_characters_not_bytes) {
  expect_refused(with(full("invoice.issued"), "data.invoice_id", text_value(std::string(257, 'A'))),
                 "data.invoice_id", "longer than 256 characters");
  // 256 two-byte characters are 512 bytes but 256 characters.
  std::string accented;
  for (int i = 0; i < 256; ++i) accented += "é";
  EXPECT_EQ(std::get<InvoiceData>(
                parsed(with(full("invoice.issued"), "data.invoice_id", text_value(accented))).data)
                .invoice_id,
            accented);
  expect_refused(with(full("customer.upserted"), "data.name", text_value(std::string(4097, 'n'))),
                 "data.name", "longer than 4096 characters");
}

TEST(EventRules, identifiers_refuse_control_characters_and_surrounding_spaces) {
  expect_refused(with(full("invoice.issued"), "data.invoice_id", "FA\n42"), "data.invoice_id",
                 "control characters");
  expect_refused(with(full("invoice.issued"), "data.customer_id", "CLI-0007 "), "data.customer_id",
                 "leading or trailing spaces");
  expect_refused(with(full("invoice.issued"), "data.invoice_id", ""), "data.invoice_id",
                 "must not be empty");
  // Free text may span lines.
  Event event = parsed(with(full("payment.received"), "data.remittance_info", "FA-42\nFA-51"));
  EXPECT_EQ(std::get<PaymentReceived>(event.data).remittance_info, "FA-42\nFA-51");
}

// ---------------------------------------------------------------------------------------------
// Unknown fields are kept.

TEST(UnknownFields, are_kept_in_the_event_json) {
  std::string text = with(full("invoice.issued"), "data.x_odoo_state", "posted");
  text = with(text, "data.x_lines", raw(R"([{"sku":"PAIN-01","qty":12}])"));
  text = with(text, "data.amount.x_rate", "1.0");
  text = with(text, "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  Event event = parsed(text);
  const json::value kept = json::parse(event.json);
  EXPECT_EQ(kept.at("data").at("x_odoo_state"), "posted");
  EXPECT_EQ(kept.at("data").at("x_lines").at(0).at("qty"), 12);
  EXPECT_EQ(kept.at("data").at("amount").at("x_rate"), "1.0");
  EXPECT_EQ(kept.at("traceparent"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(kept, json::parse(text));
}

TEST(UnknownFields, survive_a_round_trip_through_event_json) {
  for (const auto& c : type_cases()) {
    SCOPED_TRACE(std::string(c.type));
    const std::string text =
        with(full(c.type), "data.x_erp_ref", raw(R"({"model":"account.move"})"));
    Event first = parsed(text);
    Event second = parsed(first.json);
    EXPECT_EQ(second.json, first.json);
    EXPECT_EQ(json::parse(second.json).at("data").at("x_erp_ref").at("model"), "account.move");
  }
}

// ---------------------------------------------------------------------------------------------
// encode_event.

TEST(EncodeEvent, every_type_round_trips_through_parse_event) {
  for (const auto& c : type_cases()) {
    SCOPED_TRACE(std::string(c.type));
    Event event = parsed(full(c.type));
    event.json.clear();
    encode_event(event);
    Event back = parsed(event.json);
    EXPECT_EQ(back.type, event.type);
    EXPECT_EQ(back.id, event.id);
    EXPECT_EQ(back.time, event.time);
    // Encoding what was parsed from an encoding gives the same text: nothing is lost or added.
    Event again = back;
    encode_event(again);
    EXPECT_EQ(again.json, event.json);
    // And every field of the original data is there, with the same value.
    const json::value original = json::parse(c.data);
    const json::value encoded = json::parse(event.json).at("data");
    EXPECT_EQ(encoded, original);
  }
}

TEST(EncodeEvent, writes_money_with_the_currency_decimals) {
  Event event;
  event.id = "gen-1";
  event.source = "tests";
  event.type = EventType::credit_note_issued;
  event.data = CreditNoteIssued{"AV-1", "CLI-1", Money{5, *Currency::from_code("TND")},
                                ymd(2026, 1, 2), std::nullopt};
  encode_event(event);
  const json::value encoded = json::parse(event.json);
  EXPECT_EQ(encoded.at("data").at("amount").at("amount"), "0.005");
  EXPECT_EQ(encoded.at("data").at("amount").at("currency"), "TND");
  EXPECT_EQ(encoded.at("specversion"), "1.0");
  EXPECT_FALSE(encoded.as_object().contains("time"));
  EXPECT_FALSE(encoded.at("data").as_object().contains("invoice_id"));
}

// ---------------------------------------------------------------------------------------------
// The envelope.

TEST(Envelope, specversion_must_be_1_0) {
  expect_refused(without(full("invoice.issued"), "specversion"), "specversion", "is required");
  expect_refused(with(full("invoice.issued"), "specversion", "0.3"), "specversion",
                 "must be \"1.0\" (CloudEvents 1.0), not \"0.3\"");
  expect_refused(with(full("invoice.issued"), "specversion", raw("1.0")), "specversion",
                 "not a JSON number");
}

TEST(Envelope, id_and_source_are_required_and_not_empty) {
  expect_refused(without(full("invoice.issued"), "id"), "id", "is required");
  expect_refused(with(full("invoice.issued"), "id", ""), "id", "must not be empty");
  expect_refused(with(full("invoice.issued"), "id", 42), "id", "must be a string");
  expect_refused(without(full("invoice.issued"), "source"), "source", "is required");
  expect_refused(with(full("invoice.issued"), "source", ""), "source", "must not be empty");
  expect_refused(with(full("invoice.issued"), "source", text_value(std::string(1025, 's'))),
                 "source", "longer than 1024");
  // A source is a URI reference and may be long.
  EXPECT_EQ(parsed(with(full("invoice.issued"), "source", text_value(std::string(1024, 's'))))
                .source.size(),
            1024u);
}

TEST(Envelope, unknown_type_is_refused_with_the_known_ones_listed) {
  const Error error = refused(with(full("invoice.issued"), "type", "invoice.paid"));
  EXPECT_EQ(error.field, "type");
  EXPECT_THAT(error.message, HasSubstr("\"invoice.paid\" is not a canonical event type"));
  EXPECT_THAT(error.message, HasSubstr("payment_plan.agreed"));
  expect_refused(without(full("invoice.issued"), "type"), "type", "is required");
}

TEST(Envelope, data_must_match_the_type) {
  // A payment body under an invoice type is missing the invoice's fields.
  const std::string text = with(full("payment.received"), "type", "invoice.issued");
  expect_refused(text, "data.invoice_id", "is required");
}

TEST(Envelope, time_must_be_rfc_3339) {
  expect_refused(with(full("invoice.issued"), "time", "2026-03-01 09:30:00"), "time",
                 "not an RFC 3339 timestamp");
  expect_refused(with(full("invoice.issued"), "time", "2026-03-01T09:30:00"), "time",
                 "not an RFC 3339 timestamp");
  expect_refused(with(full("invoice.issued"), "time", "2026-02-30T09:30:00Z"), "time",
                 "2026-02-30 is not a date");
  expect_refused(with(full("invoice.issued"), "time", 1772357400), "time", "must be a string");
  Event event = parsed(with(full("invoice.issued"), "time", "2026-03-01T09:30:00.5Z"));
  EXPECT_EQ(format_timestamp(*event.time), "2026-03-01T09:30:00.500000Z");
}

TEST(Envelope, subject_and_json_content_type_are_accepted) {
  std::string text = with(full("invoice.issued"), "subject", "FA-2026-0042");
  text = with(text, "datacontenttype", "application/json; charset=utf-8");
  text = with(text, "dataschema", "https://relance.example/schemas/events/invoice.issued.json");
  EXPECT_EQ(parsed(text).subject, "FA-2026-0042");
}

TEST(Envelope, non_json_data_is_refused) {
  expect_refused(with(full("invoice.issued"), "datacontenttype", "application/xml"),
                 "datacontenttype", "must be \"application/json\"");
  expect_refused(with(full("invoice.issued"), "datacontenttype", "application/jsonx"),
                 "datacontenttype", "must be \"application/json\"");
  expect_refused(with(full("invoice.issued"), "data_base64", "e30="), "data_base64",
                 "binary data is not accepted");
}

TEST(Envelope, data_must_be_an_object) {
  expect_refused(without(full("invoice.issued"), "data"), "data", "is required");
  expect_refused(with(full("invoice.issued"), "data", raw("[]")), "data",
                 "must be a JSON object, not a JSON array");
  expect_refused(with(full("invoice.issued"), "data", "{}"), "data", "not a JSON string");
}

TEST(Envelope, the_first_envelope_error_is_reported) {
  const std::string text = with(without(full("invoice.issued"), "id"), "type", "nope");
  expect_refused(text, "id", "is required");
}

// ---------------------------------------------------------------------------------------------
// JSON text.

TEST(JsonText, malformed_json_is_refused_with_a_position) {
  expect_refused(R"({"specversion":"1.0",)", "", "not valid JSON");
  expect_refused("", "", "not valid JSON");
  expect_refused(full("invoice.issued") + " {}", "", "unexpected data after the value");
  const std::string trailing_comma = R"({"specversion":"1.0","id":"a",})";
  expect_refused(trailing_comma, "", "not valid JSON");
  expect_refused(R"({/* note */"specversion":"1.0"})", "", "not valid JSON");
}

TEST(JsonText, an_event_must_be_an_object) {
  expect_refused("[]", "", "an event must be a JSON object, not a JSON array");
  expect_refused("42", "", "not a JSON number");
  expect_refused("null", "", "not null");
}

TEST(JsonText, duplicate_keys_are_refused_at_any_depth) {
  const std::string text = full("invoice.issued");
  const std::string top = R"({"id":"evt-0002",)" + text.substr(1);
  expect_refused(top, "", "same key twice");
  std::string nested = text;
  nested.replace(nested.find(R"("currency":"EUR")"), 16, R"("currency":"EUR","currency":"USD")");
  expect_refused(nested, "", "same key twice");
}

TEST(JsonText, invalid_utf8_is_refused) {
  std::string text = with(full("invoice.issued"), "data.number", "FA-XXXX");
  text.replace(text.find("XXXX"), 4, "\xC3\x28\xFF\xFE");
  expect_refused(text, "", "not valid JSON");
}

TEST(JsonText, deep_nesting_is_refused) {
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  std::string text = with(full("invoice.issued"), "data.x_deep", "PLACEHOLDER");
  text.replace(text.find("\"PLACEHOLDER\""), 13, deep);
  expect_refused(text, "", "nests deeper than 32 levels");
}

TEST(JsonText, the_nesting_limit_is_the_same_alone_and_in_a_batch) {
  const auto nested = [](int depth) {
    std::string text = with(full("invoice.issued"), "data.x_deep", "PLACEHOLDER");
    text.replace(text.find("\"PLACEHOLDER\""), 13,
                 std::string(static_cast<std::size_t>(depth), '[') +
                     std::string(static_cast<std::size_t>(depth), ']'));
    return text;
  };
  int deepest = 0;
  while (parse_event(nested(deepest + 1)).ok()) ++deepest;
  // The envelope and data take two levels; the limit leaves room for real unknown fields.
  EXPECT_GE(deepest, 20);
  EXPECT_TRUE(parse_event_batch("[" + nested(deepest) + "]").ok());
  auto too_deep = parse_event_batch("[" + nested(deepest + 1) + "]");
  ASSERT_FALSE(too_deep.ok());
  EXPECT_THAT(too_deep.error().message, HasSubstr("nests deeper than 32 levels"));
}

TEST(JsonText, numbers_beyond_a_double_are_refused) {
  // Kept as they are, they would be written back as `Infinity`, which is not JSON.
  for (std::string_view number : {"1e400", "-1e400", "1E99999"}) {
    std::string text = with(full("invoice.issued"), "data.x_rate", 0);
    text.replace(text.find("\"x_rate\":0") + 9, 1, number);
    expect_refused(text, "", "number too large to hold");
  }
  Event tiny = parsed(with(full("invoice.issued"), "data.x_rate", raw("1e-400")));
  EXPECT_TRUE(parse_event(tiny.json).ok()) << tiny.json;
}

TEST(JsonText, escaped_text_is_decoded) {
  std::string escaped = full("invoice.issued");
  escaped.replace(escaped.find(R"("number":"FA-2026-0042")"), 23, R"("number":"FA-\u00e9\/1")");
  EXPECT_EQ(std::get<InvoiceData>(parsed(escaped).data).number, "FA-é/1");
}

// ---------------------------------------------------------------------------------------------
// Batches.

TEST(ParseEventBatch, parses_every_event_in_order) {
  const std::string batch = "[" + full("invoice.issued") + "," +
                            with(full("payment.received"), "id", "evt-0002") + "," +
                            with(full("customer.upserted"), "id", "evt-0003") + "]";
  auto events = parse_event_batch(batch);
  ASSERT_TRUE(events.ok()) << events.error().to_string();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].type, EventType::invoice_issued);
  EXPECT_EQ((*events)[1].type, EventType::payment_received);
  EXPECT_EQ((*events)[1].id, "evt-0002");
  EXPECT_EQ((*events)[2].type, EventType::customer_upserted);
  // Each event keeps its own envelope text.
  EXPECT_EQ((*events)[2].json, parsed(with(full("customer.upserted"), "id", "evt-0003")).json);
}

TEST(ParseEventBatch, names_the_index_of_the_first_bad_event) {
  const std::string batch = "[" + full("invoice.issued") + "," + full("payment.received") + "," +
                            with(full("invoice.issued"), "data.amount.currency", "XYZ") + "," +
                            without(full("invoice.issued"), "id") + "]";
  auto events = parse_event_batch(batch);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.error().field, "[2].data.amount.currency");
  EXPECT_EQ(events.error().to_string(),
            "[2].data.amount.currency: XYZ is not an ISO 4217 currency");
}

TEST(ParseEventBatch, envelope_errors_and_non_objects_carry_the_index) {
  auto missing_id = parse_event_batch("[" + full("invoice.issued") + "," +
                                      without(full("invoice.issued"), "id") + "]");
  ASSERT_FALSE(missing_id.ok());
  EXPECT_EQ(missing_id.error().field, "[1].id");
  auto not_object = parse_event_batch("[" + full("invoice.issued") + ",\"evt\"]");
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.error().field, "[1]");
  EXPECT_THAT(not_object.error().message, HasSubstr("must be a JSON object"));
}

TEST(ParseEventBatch, refuses_non_arrays_and_empty_batches) {
  auto single = parse_event_batch(full("invoice.issued"));
  ASSERT_FALSE(single.ok());
  EXPECT_THAT(single.error().message, HasSubstr("must be a JSON array of events"));
  auto empty = parse_event_batch("[]");
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.error().message, HasSubstr("at least one event"));
  auto broken = parse_event_batch("[" + full("invoice.issued"));
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.error().message, HasSubstr("not valid JSON"));
}

TEST(ParseEventBatch, handles_batches_larger_than_the_stack_arena) {
  std::string batch = "[";
  for (int i = 0; i < 500; ++i) {
    if (i > 0) batch += ",";
    batch += with(full("payment.received"), "id", text_value("evt-" + std::to_string(i)));
  }
  batch += "]";
  auto events = parse_event_batch(batch);
  ASSERT_TRUE(events.ok()) << events.error().to_string();
  ASSERT_EQ(events->size(), 500u);
  EXPECT_EQ(events->back().id, "evt-499");
  EXPECT_EQ(std::get<PaymentReceived>(events->back().data).allocations.size(), 2u);
}

}  // namespace
}  // namespace relance::core
