// What dunning reads of the engine: a customer's credits are its payments and credit notes with
// money not applied to an invoice.

#include "state/snapshot.hpp"

#include <gtest/gtest.h>

namespace relance::state {
namespace {

using core::dunning::CreditLine;
using core::engine::Engine;

core::Date day(const char* text) { return core::parse_date(text).value(); }
core::Timestamp noon(const char* date) {
  return core::Timestamp(std::chrono::sys_days(day(date)).time_since_epoch()) +
         std::chrono::hours(12);
}
core::Money eur(std::int64_t minor) {
  return core::Money{minor, core::Currency::from_code("EUR").value()};
}

core::Event event(core::EventType type, core::EventData data, std::string id, const char* date) {
  core::Event e;
  e.id = std::move(id);
  e.source = "erp";
  e.type = type;
  e.time = noon(date);
  e.data = std::move(data);
  return e;
}

void invoice(Engine& engine, const std::string& id, const std::string& customer,
             std::int64_t amount) {
  core::InvoiceData d;
  d.invoice_id = id;
  d.customer_id = customer;
  d.amount = eur(amount);
  d.issue_date = day("2026-02-01");
  d.due_date = day("2026-03-03");
  engine.apply(event(core::EventType::invoice_issued, d, "issued-" + id, "2026-02-01"),
               noon("2026-02-01"));
}

void payment(Engine& engine, const std::string& id, const std::string& customer,
             std::int64_t amount, std::vector<core::Allocation> allocations) {
  core::PaymentReceived d;
  d.payment_id = id;
  d.customer_id = customer;
  d.amount = eur(amount);
  d.received_date = day("2026-02-10");
  d.allocations = std::move(allocations);
  engine.apply(event(core::EventType::payment_received, d, "paid-" + id, "2026-02-10"),
               noon("2026-02-10"));
}

TEST(Snapshot, credits_are_the_money_a_customer_has_not_applied_yet) {
  Engine engine;
  invoice(engine, "A", "C1", 10000);
  core::CreditNoteIssued note;
  note.credit_note_id = "CN-1";
  note.customer_id = "C1";
  note.amount = eur(3000);
  note.issue_date = day("2026-02-05");
  engine.apply(event(core::EventType::credit_note_issued, note, "cn-1", "2026-02-05"),
               noon("2026-02-05"));                        // names no invoice: a credit balance
  payment(engine, "P-1", "C1", 5000, {{"A", eur(5000)}});  // applied
  payment(engine, "P-2", "C1", 1234, {});                  // matches nothing: in suspense
  const core::dunning::CustomerSnapshot one =
      customer_snapshot(engine, *engine.find_customer("C1"), {});
  EXPECT_EQ(one.credits,
            (std::vector<CreditLine>{
                {CreditLine::Kind::credit_note, "CN-1", day("2026-02-05"), eur(3000)},
                {CreditLine::Kind::unapplied_cash, "P-2", day("2026-02-10"), eur(1234)}}));

  // All its money applied: no credit, however many payments.
  invoice(engine, "B", "C2", 10000);
  for (int n = 0; n < 4; ++n) {
    payment(engine, "Q-" + std::to_string(n), "C2", 2500, {{"B", eur(2500)}});
  }
  EXPECT_TRUE(customer_snapshot(engine, *engine.find_customer("C2"), {}).credits.empty());
}

}  // namespace
}  // namespace relance::state
