// Blobs: byte-identical for equal states, loadable, and refused when corrupt.

#include "engine_fixture.hpp"

namespace relance::core::engine::testing {
namespace {

using Serialization = EngineTest;

// load() indexes the invoices again: two that share a number must still find each other when
// an event touches only one of them.
TEST_F(Serialization, a_conflict_of_numbers_survives_a_load) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-7"));
  apply(invoice("B", "C2", 20000, "2026-01-02", "2026-01-31", "F/7"));
  ASSERT_EQ(alerts_of(AlertKind::invoice_duplicate_number_conflict).size(), 1u);
  std::vector<std::string> customers = {engine.serialize_customer(customer("C1")),
                                        engine.serialize_customer(customer("C2"))};
  std::vector<std::string> receivables = {engine.serialize_receivable(receivable("A")),
                                          engine.serialize_receivable(receivable("B"))};
  Engine loaded;
  ASSERT_TRUE(loaded.load(customers, receivables, now).ok());
  EXPECT_EQ(loaded.alerts(), engine.alerts());
  Changes changes =
      loaded.apply(make_event(EventType::invoice_cancelled, InvoiceCancelled{"B", "", std::nullopt},
                              "cancel-B", at("2026-01-03")),
                   now);
  ASSERT_EQ(changes.resolved.size(), 1u);
  EXPECT_EQ(changes.resolved[0], engine.alerts().at(0).id);
}

TEST_F(Serialization, load_gives_back_the_same_blobs_and_resumes) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-1"));
  apply(invoice("B", "C1", 5000, "2026-01-02", "2026-01-31", "F-2"));
  apply(payment("P", 3000, "2026-01-10", "C1", {{"A", money(3000)}}));
  apply(payment("Q", 999, "2026-01-11", "C1"));  // unmatched: an alert
  ASSERT_TRUE(engine.set_dunning_level("B", 1).ok());
  std::vector<std::string> customers = {engine.serialize_customer(customer("C1"))};
  std::vector<std::string> receivables = {engine.serialize_receivable(receivable("A")),
                                          engine.serialize_receivable(receivable("B"))};
  Engine loaded;
  ASSERT_TRUE(loaded.load(customers, receivables, now).ok());
  EXPECT_EQ(loaded.serialize_customer(*loaded.find_customer("C1")), customers[0]);
  EXPECT_EQ(loaded.serialize_receivable(*loaded.find_receivable("A")), receivables[0]);
  EXPECT_EQ(loaded.serialize_receivable(*loaded.find_receivable("B")), receivables[1]);
  EXPECT_EQ(loaded.alerts(), engine.alerts());
  EXPECT_EQ(loaded.find_receivable("B")->dunning_level, 1);
  // It carries on: the rest of A, and a duplicate of P is still a duplicate.
  EXPECT_EQ(loaded.apply(payment("P", 3000, "2026-01-10", "C1", {{"A", money(3000)}}), now).outcome,
            ApplyOutcome::duplicate);
  loaded.apply(payment("R", 7000, "2026-01-12", "C1", {}, "F-1"), now);
  EXPECT_EQ(loaded.find_receivable("A")->status, Status::paid);
}

TEST_F(Serialization, corrupt_blobs_are_refused_with_the_position) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  std::string blob = engine.serialize_receivable(receivable("A"));
  std::vector<std::string> receivables = {blob.substr(0, 5)};
  Engine loaded;
  Result<void> result = loaded.load({}, receivables, now);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "receivables[0]");
  std::vector<std::string> twice = {blob, blob};
  Engine again;
  result = again.load({}, twice, now);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("stored twice"), std::string::npos);
  std::vector<std::string> wrong = {std::string("\x09garbage")};
  Engine third;
  EXPECT_FALSE(third.load(wrong, {}, now).ok());
}

TEST_F(Serialization, a_blob_is_compact) {
  apply(invoice("INV-2026-0001", "C1", 10000, "2026-01-01", "2026-01-31", "INV-2026-0001"));
  EXPECT_LT(engine.serialize_receivable(receivable("INV-2026-0001")).size(), 100u);
}

// A customer's blob holds its profile and records, not its invoices (load() finds them in the
// receivable blobs) nor the aggregates they change (load() folds them again): an invoice leaves
// its customer's row as it was.
TEST_F(Serialization, an_invoice_leaves_its_customers_blob_as_it_was) {
  apply(invoice("INV-LONG-ID-0001", "C1", 10000, "2026-01-01", "2026-01-31"));
  const std::string one = engine.serialize_customer(customer("C1"));
  apply(invoice("INV-LONG-ID-0002", "C1", 10000, "2026-01-02", "2026-01-31"));
  apply(invoice("INV-LONG-ID-0003", "C1", 12000, "2026-01-03", "2026-01-31"));
  EXPECT_EQ(engine.serialize_customer(customer("C1")), one);
  EXPECT_EQ(customer("C1").exposure, (std::vector<CurrencyAmount>{{money(0).currency, 32000}}));
}

// Blobs of format 1 listed the customer's invoice ids after its records, then its aggregates;
// format 2, the aggregates. Both still load, and give the state the blobs written now give.
TEST_F(Serialization, customer_blobs_of_formats_1_and_2_still_load) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-1"));
  apply(invoice("B", "C1", 5000, "2026-01-02", "2026-01-31", "F-2"));
  const std::string now_blob = engine.serialize_customer(customer("C1"));
  // No profile and no record: format, "C1", known, name, no e-mail, language, time zone,
  // segment, CRM id, no credit limit, time, tiebreak, 0 records.
  const std::string layout(
      "\x03\x02"
      "C1"
      "\0\0\0\0\0\0\0\0\0\0\0",
      15);
  ASSERT_EQ(now_blob, layout);
  // Exposure EUR 150.00 (currency as its 3 letters, amount zigzag-encoded), no unapplied cash,
  // days late 0, settled 0, promises kept 0 and broken 0.
  const std::string aggregates(
      "\x01\x03"
      "EUR"
      "\xb0\xea\x01\0\0\0\0\0",
      13);
  std::string format_2 = now_blob + aggregates;
  format_2[0] = 2;
  std::string format_1 = now_blob +
                         std::string(
                             "\x02\x01"
                             "A"
                             "\x01"
                             "B",
                             5) +
                         aggregates;
  format_1[0] = 1;
  std::vector<std::string> receivables = {engine.serialize_receivable(receivable("A")),
                                          engine.serialize_receivable(receivable("B"))};
  for (const std::string& old_blob : {format_1, format_2}) {
    std::vector<std::string> customers = {old_blob};
    Engine loaded;
    ASSERT_TRUE(loaded.load(customers, receivables, now).ok()) << int(old_blob[0]);
    EXPECT_EQ(loaded.serialize_customer(*loaded.find_customer("C1")), now_blob);
    EXPECT_EQ(loaded.find_customer("C1")->receivables.size(), 2u);
    EXPECT_EQ(loaded.find_customer("C1")->exposure, customer("C1").exposure);
    EXPECT_EQ(loaded.serialize_receivable(*loaded.find_receivable("B")), receivables[1]);
  }
  std::vector<std::string> unknown = {now_blob};
  unknown[0][0] = 4;
  Engine refused;
  EXPECT_FALSE(refused.load(unknown, receivables, now).ok());
}

}  // namespace
}  // namespace relance::core::engine::testing
