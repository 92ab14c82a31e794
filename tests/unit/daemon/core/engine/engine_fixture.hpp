#pragma once
// Builders of canonical events for the engine's tests, and a fixture that applies them.

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/engine/engine.hpp"

namespace relance::core::engine::testing {

inline Date day(const char* text) { return parse_date(text).value(); }
inline Timestamp at(const char* date) {
  return Timestamp(std::chrono::sys_days(day(date)).time_since_epoch()) + std::chrono::hours(12);
}
inline Money money(std::int64_t minor, const char* currency = "EUR") {
  return Money{minor, Currency::from_code(currency).value()};
}

inline Event make_event(EventType type, EventData data, std::string id,
                        std::optional<Timestamp> time = std::nullopt) {
  Event event;
  event.id = std::move(id);
  event.source = "erp";
  event.type = type;
  event.time = time;
  event.data = std::move(data);
  return event;
}

inline Event invoice(const std::string& id, const std::string& customer, std::int64_t amount,
                     const char* issue, const char* due, std::string number = "",
                     const char* currency = "EUR") {
  InvoiceData d;
  d.invoice_id = id;
  d.customer_id = customer;
  d.amount = money(amount, currency);
  d.issue_date = day(issue);
  d.due_date = day(due);
  if (!number.empty()) d.number = number;
  return make_event(EventType::invoice_issued, d, "issued-" + id, at(issue));
}

inline Event payment(const std::string& id, std::int64_t amount, const char* date,
                     std::optional<std::string> customer = std::nullopt,
                     std::vector<Allocation> allocations = {},
                     std::optional<std::string> remittance = std::nullopt,
                     const char* currency = "EUR") {
  PaymentReceived d;
  d.payment_id = id;
  d.amount = money(amount, currency);
  d.received_date = day(date);
  d.customer_id = std::move(customer);
  d.allocations = std::move(allocations);
  d.remittance_info = std::move(remittance);
  return make_event(EventType::payment_received, d, "payment-" + id, at(date));
}

// Every blob the writer would have stored of `engine`'s state, each list in index order.
struct StoredBlobs {
  std::vector<std::string> customers, receivables, records;
  bool operator==(const StoredBlobs&) const = default;
};
inline StoredBlobs stored_blobs(const Engine& engine) {
  StoredBlobs stored;
  for (std::uint32_t c = 0; c < engine.customer_count(); ++c) {
    stored.customers.push_back(engine.serialize_customer(engine.customer(c)));
  }
  for (std::uint32_t r = 0; r < engine.receivable_count(); ++r) {
    stored.receivables.push_back(engine.serialize_receivable(engine.receivable(r)));
  }
  for (std::uint32_t rec = 0; rec < engine.record_count(); ++rec) {
    stored.records.push_back(engine.serialize_record(engine.record(rec)));
  }
  return stored;
}

class EngineTest : public ::testing::Test {
 protected:
  explicit EngineTest(EngineOptions options = {}) : engine(std::move(options)) {}

  Changes apply(const Event& event) { return engine.apply(event, now); }
  // The ids of what `changes` names, sorted.
  std::vector<std::string> receivable_ids(const Changes& changes) const {
    std::vector<std::string> ids;
    for (const std::uint32_t r : changes.receivables)
      ids.push_back(engine.receivable(r).invoice_id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  std::vector<std::string> customer_ids(const Changes& changes) const {
    std::vector<std::string> ids;
    for (const std::uint32_t c : changes.customers) ids.push_back(engine.customer(c).id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  const Receivable& receivable(const std::string& id) {
    const Receivable* r = engine.find_receivable(id);
    EXPECT_NE(r, nullptr) << id;
    return *r;
  }
  const Customer& customer(const std::string& id) {
    const Customer* c = engine.find_customer(id);
    EXPECT_NE(c, nullptr) << id;
    return *c;
  }
  std::vector<const Alert*> alerts_of(AlertKind kind) {
    std::vector<const Alert*> out;
    for (const Alert& a : engine.alerts()) {
      if (a.kind == kind) out.push_back(engine.find_alert(a.id));
    }
    return out;
  }

  Engine engine;
  Timestamp now = at("2026-01-01");
};

}  // namespace relance::core::engine::testing
