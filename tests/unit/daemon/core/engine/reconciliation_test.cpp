// Reconciliation of payments and credit notes, and the alerts it raises.

#include "engine_fixture.hpp"

namespace relance::core::engine::testing {
namespace {

using Reconciliation = EngineTest;

TEST_F(Reconciliation, partial_payments_that_add_up_pay_the_invoice) {
  apply(invoice("INV-1", "C1", 100000, "2026-01-01", "2026-01-31"));
  apply(payment("P1", 30000, "2026-01-10", "C1", {{"INV-1", money(30000)}}));
  EXPECT_EQ(receivable("INV-1").open, 70000);
  EXPECT_EQ(receivable("INV-1").status, Status::partially_paid);
  apply(payment("P2", 70000, "2026-01-20", "C1", {{"INV-1", money(70000)}}));
  EXPECT_EQ(receivable("INV-1").open, 0);
  EXPECT_EQ(receivable("INV-1").status, Status::paid);
  EXPECT_EQ(Engine::days_late(receivable("INV-1")), 0);
  EXPECT_TRUE(engine.alerts().empty());
}

TEST_F(Reconciliation, payment_covering_three_invoices_by_explicit_allocation) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(invoice("B", "C1", 20000, "2026-01-02", "2026-01-31"));
  apply(invoice("C", "C1", 30000, "2026-01-03", "2026-01-31"));
  apply(payment("P", 60000, "2026-01-15", "C1",
                {{"A", money(10000)}, {"B", money(20000)}, {"C", money(30000)}}));
  for (const char* id : {"A", "B", "C"}) {
    EXPECT_EQ(receivable(id).status, Status::paid) << id;
    EXPECT_EQ(receivable(id).open, 0) << id;
  }
  EXPECT_TRUE(customer("C1").unapplied.empty());
  EXPECT_TRUE(customer("C1").exposure.empty());
}

TEST_F(Reconciliation, payment_with_only_the_invoice_number_in_its_remittance_text) {
  apply(invoice("id-42", "C1", 50000, "2026-01-01", "2026-01-31", "INV-2026-0042"));
  apply(invoice("id-43", "C1", 50000, "2026-01-01", "2026-01-31", "INV-2026-0043"));
  // No customer, no allocation: only the text names the invoice.
  apply(payment("P", 50000, "2026-01-20", std::nullopt, {}, "Virement INV-2026-0042 merci"));
  EXPECT_EQ(receivable("id-42").status, Status::paid);
  EXPECT_EQ(receivable("id-43").open, 50000);
  EXPECT_TRUE(engine.alerts().empty());
}

TEST_F(Reconciliation, structured_rf_and_qr_references_match_the_invoice_number) {
  apply(invoice("I1", "C1", 1000, "2026-01-01", "2026-01-31", "539007547034"));
  apply(invoice("I2", "C1", 2000, "2026-01-01", "2026-01-31", "12345678901234567890"));
  PaymentReceived rf;
  rf.payment_id = "RF-PAY";
  rf.amount = money(1000);
  rf.received_date = day("2026-01-10");
  rf.customer_id = "C1";
  rf.structured_reference = "RF18 5390 0754 7034";
  apply(make_event(EventType::payment_received, rf, "rf"));
  EXPECT_EQ(receivable("I1").status, Status::paid);
  // A Swiss QR reference: 26 digits + mod-10 check digit; the digits carry the number.
  PaymentReceived qr;
  qr.payment_id = "QR-PAY";
  qr.amount = money(500);  // not the amount: only the reference can match
  qr.received_date = day("2026-01-11");
  qr.customer_id = "C1";
  qr.structured_reference = "00 00001 23456 78901 23456 78907";
  apply(make_event(EventType::payment_received, qr, "qr"));
  EXPECT_EQ(receivable("I2").open, 1500);
}

TEST_F(Reconciliation, two_open_invoices_of_the_same_amount_make_no_guess_and_raise_an_alert) {
  apply(invoice("A", "C1", 12000, "2026-01-01", "2026-01-31"));
  apply(invoice("B", "C1", 12000, "2026-01-02", "2026-01-31"));
  Changes changes = apply(payment("P", 12000, "2026-01-10", "C1"));
  EXPECT_EQ(receivable("A").open, 12000);
  EXPECT_EQ(receivable("B").open, 12000);
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_ambiguous);
  EXPECT_EQ(changes.raised[0].invoice_ids, (std::vector<std::string>{"A", "B"}));
  ASSERT_EQ(customer("C1").unapplied.size(), 1u);
  EXPECT_EQ(customer("C1").unapplied[0].amount, 12000);
  // The ERP sends the payment again with its allocation: it wins, the alert is resolved.
  Event allocated = payment("P", 12000, "2026-01-10", "C1", {{"B", money(12000)}});
  allocated.id = "payment-P-allocated";
  changes = apply(allocated);
  EXPECT_EQ(receivable("B").status, Status::paid);
  EXPECT_EQ(receivable("A").open, 12000);
  EXPECT_EQ(changes.resolved.size(), 1u);
  EXPECT_TRUE(engine.alerts().empty());
}

TEST_F(Reconciliation, unique_exact_amount_matches_when_nothing_else_does) {
  apply(invoice("A", "C1", 12000, "2026-01-01", "2026-01-31"));
  apply(invoice("B", "C1", 15000, "2026-01-02", "2026-01-31"));
  apply(payment("P", 15000, "2026-01-10", "C1"));
  EXPECT_EQ(receivable("B").status, Status::paid);
  EXPECT_EQ(receivable("A").status, Status::open);
}

TEST_F(Reconciliation, credit_note_is_netted_against_its_invoice) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  CreditNoteIssued cn{"CN-1", "C1", money(2500), day("2026-01-05"), std::string("A")};
  apply(make_event(EventType::credit_note_issued, cn, "cn-1"));
  EXPECT_EQ(receivable("A").open, 7500);
  EXPECT_EQ(receivable("A").status, Status::partially_paid);
  ASSERT_EQ(receivable("A").timeline.size(), 1u);
  EXPECT_EQ(receivable("A").timeline[0].kind, EntryKind::credit_note);
  // The rest by a payment of exactly what is left.
  apply(payment("P", 7500, "2026-01-10", "C1"));
  EXPECT_EQ(receivable("A").status, Status::paid);
}

TEST_F(Reconciliation, credit_note_without_invoice_is_a_credit_balance) {
  CreditNoteIssued cn{"CN-2", "C1", money(900), day("2026-01-05"), std::nullopt};
  apply(make_event(EventType::credit_note_issued, cn, "cn-2"));
  ASSERT_EQ(customer("C1").unapplied.size(), 1u);
  EXPECT_EQ(customer("C1").unapplied[0].amount, 900);
  EXPECT_TRUE(engine.alerts().empty());
}

TEST_F(Reconciliation, unmatched_payment_waits_in_suspense_with_an_alert) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  Changes changes = apply(payment("P", 4321, "2026-01-10", "C1"));
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_unmatched);
  EXPECT_EQ(changes.raised[0].severity, Severity::warning);
  EXPECT_EQ(changes.raised[0].payment_id, "P");
  EXPECT_NE(changes.raised[0].message.find("43.21 EUR"), std::string::npos);
  EXPECT_EQ(receivable("A").open, 10000);
  ASSERT_EQ(customer("C1").unapplied.size(), 1u);
  EXPECT_EQ(customer("C1").unapplied[0].amount, 4321);
}

TEST_F(Reconciliation, payment_before_its_invoice_is_matched_when_the_invoice_arrives) {
  Changes changes = apply(payment("P", 10000, "2026-01-20", std::nullopt, {}, "INV-77"));
  ASSERT_EQ(changes.raised.size(), 1u);
  const std::string alert_id = changes.raised[0].id;
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_unmatched);
  changes = apply(invoice("id-77", "C1", 10000, "2026-01-01", "2026-01-31", "INV-77"));
  EXPECT_EQ(receivable("id-77").status, Status::paid);
  EXPECT_EQ(changes.resolved, std::vector<std::string>{alert_id});
  EXPECT_TRUE(engine.alerts().empty());
  // The payment moved from the unassigned bucket to its customer.
  EXPECT_TRUE(customer("").history.empty());
  EXPECT_TRUE(customer("C1").unapplied.empty());
}

TEST_F(Reconciliation, allocation_to_an_unknown_invoice_is_applied_when_it_arrives) {
  apply(payment("P", 5000, "2026-01-05", "C1", {{"LATE", money(5000)}}));
  EXPECT_EQ(alerts_of(AlertKind::payment_unmatched).size(), 1u);
  apply(invoice("LATE", "C1", 5000, "2026-01-10", "2026-02-10"));
  EXPECT_EQ(receivable("LATE").status, Status::paid);
  EXPECT_TRUE(engine.alerts().empty());
}

TEST_F(Reconciliation, overpayment_leaves_a_credit_balance_and_an_alert) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-100"));
  Changes changes = apply(payment("P", 12500, "2026-01-10", "C1", {}, "F-100"));
  EXPECT_EQ(receivable("A").status, Status::paid);
  ASSERT_EQ(customer("C1").unapplied.size(), 1u);
  EXPECT_EQ(customer("C1").unapplied[0].amount, 2500);
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_over);
  EXPECT_EQ(changes.raised[0].amount, money(2500));
}

TEST_F(Reconciliation, explicit_over_allocation_makes_the_invoice_overpaid) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(payment("P", 11000, "2026-01-10", "C1", {{"A", money(11000)}}));
  EXPECT_EQ(receivable("A").status, Status::overpaid);
  EXPECT_EQ(receivable("A").open, -1000);
  EXPECT_EQ(alerts_of(AlertKind::payment_over).size(), 1u);
}

class ToleranceTest : public EngineTest {
 protected:
  ToleranceTest() : EngineTest(EngineOptions{{money(100)}}) {}
};

TEST_F(ToleranceTest, small_short_payment_is_closed_with_a_write_off_entry) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-1"));
  apply(payment("P", 9950, "2026-01-10", "C1", {}, "F-1"));
  const Receivable& r = receivable("A");
  EXPECT_EQ(r.status, Status::paid);
  EXPECT_EQ(r.open, 0);
  ASSERT_EQ(r.timeline.size(), 2u);
  EXPECT_EQ(r.timeline[1].kind, EntryKind::tolerance_write_off);
  EXPECT_EQ(r.timeline[1].amount, 50);
  EXPECT_TRUE(engine.alerts().empty());
}

TEST_F(ToleranceTest, short_payment_beyond_tolerance_raises_payment_short_until_paid) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-1"));
  Changes changes = apply(payment("P", 9000, "2026-01-10", "C1", {}, "F-1"));
  EXPECT_EQ(receivable("A").open, 1000);
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_short);
  changes = apply(payment("P2", 1000, "2026-01-12", "C1", {}, "F-1"));
  EXPECT_EQ(receivable("A").status, Status::paid);
  EXPECT_EQ(changes.resolved.size(), 1u);
}

TEST_F(Reconciliation, currency_mismatch_is_held_with_an_alert) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-9"));
  apply(payment("P", 10000, "2026-01-10", "C1", {}, "F-9", "USD"));
  EXPECT_EQ(receivable("A").open, 10000);
  ASSERT_EQ(alerts_of(AlertKind::payment_currency_mismatch).size(), 1u);
  ASSERT_EQ(customer("C1").unapplied.size(), 1u);
  EXPECT_EQ(customer("C1").unapplied[0].currency.code(), "USD");
}

TEST_F(Reconciliation, payment_on_a_cancelled_invoice_stays_on_the_account_with_an_alert) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(make_event(EventType::invoice_cancelled, InvoiceCancelled{"A", "wrong", std::nullopt},
                   "cancel-A", at("2026-01-05")));
  EXPECT_EQ(receivable("A").status, Status::cancelled);
  apply(payment("P", 10000, "2026-01-10", "C1", {{"A", money(10000)}}));
  EXPECT_EQ(receivable("A").status, Status::cancelled);
  ASSERT_EQ(alerts_of(AlertKind::payment_on_closed_receivable).size(), 1u);
  EXPECT_EQ(alerts_of(AlertKind::payment_on_closed_receivable)[0]->invoice_ids,
            std::vector<std::string>{"A"});
  EXPECT_EQ(customer("C1").unapplied.at(0).amount, 10000);
}

TEST_F(Reconciliation, cancelling_a_paid_invoice_releases_its_money_to_the_customer) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(payment("P", 10000, "2026-01-03", "C1", {{"A", money(10000)}}));
  apply(make_event(EventType::invoice_cancelled, InvoiceCancelled{"A", "", std::nullopt},
                   "cancel-A", at("2026-01-05")));
  EXPECT_EQ(receivable("A").status, Status::cancelled);
  EXPECT_EQ(receivable("A").open, 0);
  EXPECT_EQ(customer("C1").unapplied.at(0).amount, 10000);
}

TEST_F(Reconciliation, reversal_after_full_payment_reopens_the_invoice_and_alerts) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(payment("P", 10000, "2026-01-10", "C1", {{"A", money(10000)}}));
  ASSERT_EQ(receivable("A").status, Status::paid);
  Changes changes = apply(make_event(
      EventType::payment_reversed, PaymentReversed{"P", day("2026-01-15"), "chargeback"}, "rev-P"));
  EXPECT_EQ(receivable("A").open, 10000);
  EXPECT_EQ(receivable("A").status, Status::open);
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_reversed);
  EXPECT_EQ(changes.raised[0].severity, Severity::critical);
  EXPECT_EQ(changes.raised[0].invoice_ids, std::vector<std::string>{"A"});
  // Paid again: the reversal alert is no longer true.
  changes = apply(payment("P2", 10000, "2026-01-20", "C1", {{"A", money(10000)}}));
  EXPECT_EQ(changes.resolved.size(), 1u);
}

TEST_F(Reconciliation, same_number_with_a_different_amount_is_a_conflict) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-7"));
  Changes changes = apply(invoice("B", "C2", 20000, "2026-01-02", "2026-01-31", "F-7"));
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::invoice_duplicate_number_conflict);
  EXPECT_EQ(changes.raised[0].invoice_ids, (std::vector<std::string>{"A", "B"}));
  // Cancelling one of them ends the conflict.
  changes = apply(make_event(EventType::invoice_cancelled, InvoiceCancelled{"B", "", std::nullopt},
                             "cancel-B", at("2026-01-03")));
  EXPECT_EQ(changes.resolved.size(), 1u);
}

// The engine skips the number-index lookup for invoices whose number was never shared
// (Receivable::number_shared): a number that becomes shared through an update must still be seen
// from the other invoice, when a payment or a cancellation touches only that one.
TEST_F(Reconciliation, a_number_shared_through_an_update_is_checked_from_both_invoices) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-7"));
  apply(invoice("B", "C2", 20000, "2026-01-02", "2026-01-31", "F-8"));
  EXPECT_TRUE(alerts_of(AlertKind::invoice_duplicate_number_conflict).empty());
  Event update = invoice("B", "C2", 20000, "2026-01-02", "2026-01-31", "f 7");
  update.type = EventType::invoice_updated;
  update.id = "updated-B";
  Changes changes = apply(update);
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::invoice_duplicate_number_conflict);
  EXPECT_EQ(changes.raised[0].invoice_ids, (std::vector<std::string>{"A", "B"}));
  // C1 evaluated in full (its profile changed): A still reports the pair.
  CustomerUpserted profile;
  profile.customer_id = "C1";
  profile.name = "ACME";
  changes = apply(make_event(EventType::customer_upserted, profile, "cust-C1"));
  EXPECT_TRUE(changes.resolved.empty());
  EXPECT_EQ(alerts_of(AlertKind::invoice_duplicate_number_conflict).size(), 1u);
  // A payment on A alone: the conflict stays, unchanged.
  changes = apply(payment("P", 10000, "2026-01-10", "C1", {{"A", money(10000)}}));
  EXPECT_TRUE(changes.resolved.empty());
  EXPECT_EQ(alerts_of(AlertKind::invoice_duplicate_number_conflict).size(), 1u);
  // Cancelling A ends it, though only A was touched.
  changes = apply(make_event(EventType::invoice_cancelled, InvoiceCancelled{"A", "", std::nullopt},
                             "cancel-A", at("2026-01-11")));
  EXPECT_EQ(changes.resolved.size(), 1u);
  EXPECT_TRUE(alerts_of(AlertKind::invoice_duplicate_number_conflict).empty());
}

TEST_F(Reconciliation, exposure_above_the_credit_limit_raises_an_alert) {
  CustomerUpserted c;
  c.customer_id = "C1";
  c.name = "ACME";
  c.credit_limit = money(15000);
  apply(make_event(EventType::customer_upserted, c, "cust-1"));
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  EXPECT_TRUE(alerts_of(AlertKind::credit_limit_exceeded).empty());
  Changes changes = apply(invoice("B", "C1", 10000, "2026-01-02", "2026-01-31"));
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::credit_limit_exceeded);
  changes = apply(payment("P", 10000, "2026-01-05", "C1", {{"A", money(10000)}}));
  EXPECT_EQ(changes.resolved.size(), 1u);
}

}  // namespace
}  // namespace relance::core::engine::testing
