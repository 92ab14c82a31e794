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
  ASSERT_TRUE(loaded.load(customers, receivables, {}, now).ok());
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
  const StoredBlobs stored = stored_blobs(engine);
  EXPECT_EQ(stored.records.size(), 2u);
  Engine loaded;
  ASSERT_TRUE(loaded.load(stored.customers, stored.receivables, stored.records, now).ok());
  EXPECT_EQ(stored_blobs(loaded), stored);
  EXPECT_FALSE(loaded.loaded_records_inline());
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
  Result<void> result = loaded.load({}, receivables, {}, now);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field, "receivables[0]");
  std::vector<std::string> twice = {blob, blob};
  Engine again;
  result = again.load({}, twice, {}, now);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("stored twice"), std::string::npos);
  std::vector<std::string> wrong = {std::string("\x09garbage")};
  Engine third;
  EXPECT_FALSE(third.load(wrong, {}, {}, now).ok());

  apply(payment("P", 3000, "2026-01-10", "C1", {{"A", money(3000)}}));
  const std::string record = engine.serialize_record(engine.record(0));
  for (const std::vector<std::string>& records :
       {std::vector<std::string>{record.substr(0, record.size() - 3)},
        std::vector<std::string>{record, record}, std::vector<std::string>{"\x07" + record}}) {
    Engine fourth;
    result = fourth.load({}, {}, records, now);
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error().field, records.size() == 2 ? "records[1]" : "records[0]");
  }
}

TEST_F(Serialization, a_blob_is_compact) {
  apply(invoice("INV-2026-0001", "C1", 10000, "2026-01-01", "2026-01-31", "INV-2026-0001"));
  EXPECT_LT(engine.serialize_receivable(receivable("INV-2026-0001")).size(), 100u);
}

// A customer's blob holds its profile, not its invoices (load() finds them in the receivable
// blobs) nor the aggregates they change (load() folds them again): an invoice leaves its
// customer's row as it was.
TEST_F(Serialization, an_invoice_leaves_its_customers_blob_as_it_was) {
  apply(invoice("INV-LONG-ID-0001", "C1", 10000, "2026-01-01", "2026-01-31"));
  const std::string one = engine.serialize_customer(customer("C1"));
  apply(invoice("INV-LONG-ID-0002", "C1", 10000, "2026-01-02", "2026-01-31"));
  apply(invoice("INV-LONG-ID-0003", "C1", 12000, "2026-01-03", "2026-01-31"));
  EXPECT_EQ(engine.serialize_customer(customer("C1")), one);
  EXPECT_EQ(customer("C1").exposure, (std::vector<CurrencyAmount>{{money(0).currency, 32000}}));
}

// Each record has a blob of its own: a payment writes its record's row, and leaves its
// customer's row as it was, however long the customer's history.
TEST_F(Serialization, a_payment_writes_its_own_record_and_leaves_its_customers_blob) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  const std::string blob = engine.serialize_customer(customer("C1"));
  for (int n = 1; n <= 3; ++n) {
    const std::string id = "P" + std::to_string(n);
    Changes changes = apply(payment(id, 1000, "2026-01-10", "C1", {{"A", money(1000)}}));
    ASSERT_EQ(changes.records.size(), 1u) << id;
    EXPECT_EQ(engine.record(changes.records[0]).key, id);
    EXPECT_EQ(engine.serialize_customer(customer("C1")), blob);
    // Its records changed (dunning reads its credits again), not its row.
    EXPECT_EQ(customer_ids(changes), std::vector<std::string>{"C1"});
    EXPECT_TRUE(changes.customer_rows.empty());
  }
  EXPECT_EQ(receivable("A").open, 7000);
}

// A record filed under the unassigned bucket moves to its customer when its invoice comes: its
// blob, which names the customer whose history holds it, is written again.
TEST_F(Serialization, a_record_that_moves_to_its_customer_is_written_again) {
  Changes early = apply(payment("P", 1000, "2026-01-10", std::nullopt, {{"A", money(1000)}}));
  ASSERT_EQ(early.records.size(), 1u);
  const std::uint32_t p = early.records[0];
  EXPECT_EQ(engine.record(p).customer, 0u);
  Changes changes = apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  EXPECT_EQ(changes.records, std::vector<std::uint32_t>{p});
  EXPECT_EQ(engine.customer(engine.record(p).customer).id, "C1");
  Engine loaded;
  const StoredBlobs stored = stored_blobs(engine);
  ASSERT_TRUE(loaded.load(stored.customers, stored.receivables, stored.records, now).ok());
  EXPECT_EQ(loaded.find_receivable("A")->open, 9000);
}

// Customer blobs of formats 1 to 3 held the customer's records after its profile, each with what
// its fold derived (this one was written by the version before records had rows of their own:
// invoices A and B, payment P allocated 30.00 to A, payment Q unmatched). They still load, with
// their records, and say so: the writer then stores them again in the current formats.
TEST_F(Serialization, customer_blobs_that_hold_their_records_still_load) {
  now = at("2026-01-15");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-1"));
  apply(invoice("B", "C1", 5000, "2026-01-02", "2026-01-31", "F-2"));
  apply(payment("P", 3000, "2026-01-10", "C1", {{"A", money(3000)}}));
  apply(payment("Q", 999, "2026-01-11", "C1"));
  const std::string format_3(
      "\x03\x02\x43\x31\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x01\x01\xde\xbf\x02\x09"
      "\x70\x61\x79\x6d\x65\x6e\x74\x1f\x50\x0d\x65\x72\x70\x1f\x70\x61\x79\x6d\x65\x6e\x74"
      "\x2d\x50\x80\xc0\xf2\x99\xec\x81\xa4\x06\x01\x50\x02\x43\x31\x01\xf0\x2e\x03\x45\x55"
      "\x52\x00\x00\x01\x01\x41\x01\xf0\x2e\x00\x00\x00\x01\x01\x41\xf0\x2e\x00\x00\x00\x00"
      "\x00\x00\x00\x01\x00\x00\x00\x00\x01\x01\xe0\xbf\x02\x09\x70\x61\x79\x6d\x65\x6e\x74"
      "\x1f\x51\x0d\x65\x72\x70\x1f\x70\x61\x79\x6d\x65\x6e\x74\x2d\x51\x80\xc0\xad\xf7\xef"
      "\x86\xa4\x06\x01\x51\x02\x43\x31\x01\xce\x0f\x03\x45\x55\x52\x00\x00\x00\x00\x00\x00"
      "\x00\x00\x01\x00\xce\x0f\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00",
      165);
  const StoredBlobs stored = stored_blobs(engine);
  const std::vector<std::string> customers = {format_3};
  Engine loaded;
  ASSERT_TRUE(loaded.load(customers, stored.receivables, {}, now).ok());
  EXPECT_TRUE(loaded.loaded_records_inline());
  EXPECT_EQ(loaded.record_count(), 2u);
  EXPECT_EQ(stored_blobs(loaded), stored);
  EXPECT_EQ(loaded.alerts(), engine.alerts());
  EXPECT_EQ(loaded.find_receivable("A")->open, 7000);
}

// Blobs of format 1 listed the customer's invoice ids after its records, then its aggregates;
// format 2, the aggregates. Both still load, and give the state the blobs written now give.
TEST_F(Serialization, customer_blobs_of_formats_1_and_2_still_load) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-1"));
  apply(invoice("B", "C1", 5000, "2026-01-02", "2026-01-31", "F-2"));
  const std::string now_blob = engine.serialize_customer(customer("C1"));
  // No profile: format, "C1", known, name, no e-mail, language, time zone, segment, CRM id, no
  // credit limit, time, tiebreak.
  const std::string layout(
      "\x04\x02"
      "C1"
      "\0\0\0\0\0\0\0\0\0\0",
      14);
  ASSERT_EQ(now_blob, layout);
  const std::string no_records(1, '\0');
  // Exposure EUR 150.00 (currency as its 3 letters, amount zigzag-encoded), no unapplied cash,
  // days late 0, settled 0, promises kept 0 and broken 0.
  const std::string aggregates(
      "\x01\x03"
      "EUR"
      "\xb0\xea\x01\0\0\0\0\0",
      13);
  std::string format_2 = now_blob + no_records + aggregates;
  format_2[0] = 2;
  std::string format_1 = now_blob + no_records +
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
    ASSERT_TRUE(loaded.load(customers, receivables, {}, now).ok()) << int(old_blob[0]);
    EXPECT_EQ(loaded.serialize_customer(*loaded.find_customer("C1")), now_blob);
    EXPECT_EQ(loaded.find_customer("C1")->receivables.size(), 2u);
    EXPECT_EQ(loaded.find_customer("C1")->exposure, customer("C1").exposure);
    EXPECT_EQ(loaded.serialize_receivable(*loaded.find_receivable("B")), receivables[1]);
  }
  std::vector<std::string> unknown = {now_blob};
  unknown[0][0] = 5;
  Engine refused;
  EXPECT_FALSE(refused.load(unknown, receivables, {}, now).ok());
}

}  // namespace
}  // namespace relance::core::engine::testing
