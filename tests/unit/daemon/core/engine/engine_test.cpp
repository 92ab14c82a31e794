// Statuses, time, pauses, versions and customer aggregates.

#include "engine_fixture.hpp"

namespace relance::core::engine::testing {
namespace {

using Lifecycle = EngineTest;

Event dispute(const std::string& invoice_id, const char* when, bool open,
              std::optional<std::string> id = std::nullopt) {
  if (open) {
    return make_event(EventType::dispute_opened,
                      DisputeOpened{invoice_id, "goods damaged", id, std::nullopt},
                      "dispute-open-" + invoice_id + id.value_or(""), at(when));
  }
  return make_event(EventType::dispute_resolved, DisputeResolved{invoice_id, id, "credited"},
                    "dispute-resolved-" + invoice_id + id.value_or(""), at(when));
}

Event promise(const std::string& invoice_id, std::int64_t amount, const char* recorded,
              const char* promised) {
  PromiseToPayRecorded p;
  p.invoice_ids = {invoice_id};
  p.amount = money(amount);
  p.promised_date = day(promised);
  p.promise_id = "PR-" + invoice_id;
  return make_event(EventType::promise_to_pay_recorded, p, "promise-" + invoice_id, at(recorded));
}

TEST_F(Lifecycle, invoice_is_open_then_overdue_when_time_passes_its_due_date) {
  now = at("2026-01-05");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  EXPECT_EQ(receivable("A").status, Status::open);
  Changes changes = engine.advance(at("2026-01-31"));
  EXPECT_TRUE(changes.receivables.empty());
  changes = engine.advance(at("2026-02-01"));
  EXPECT_EQ(receivable("A").status, Status::overdue);
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"A"});
  // The customer's blob holds neither statuses nor aggregates: nothing of it to write.
  EXPECT_TRUE(changes.customers.empty());
  EXPECT_EQ(Engine::days_past_due(receivable("A"), day("2026-02-01")), 1);
  // Time never goes back.
  changes = engine.advance(at("2026-01-10"));
  EXPECT_EQ(receivable("A").status, Status::overdue);
}

// Decided: past its due date, a partly paid receivable shows `overdue` (what dunning acts on);
// the payment stays visible in its open amount and timeline. Before the due date it shows
// `partially_paid`.
TEST_F(Lifecycle, partially_paid_and_past_due_shows_overdue_with_its_open_amount) {
  now = at("2026-01-05");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31", "F-1"));
  apply(payment("P", 4000, "2026-01-10", "C1", {{"A", money(4000)}}));
  EXPECT_EQ(receivable("A").status, Status::partially_paid);
  Changes changes = engine.advance(at("2026-02-01"));
  EXPECT_EQ(receivable("A").status, Status::overdue);
  EXPECT_EQ(receivable("A").base_status, Status::partially_paid);
  EXPECT_EQ(receivable("A").open, 6000);
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"A"});
  // A payment after the due date that still leaves money open keeps it overdue.
  now = at("2026-02-03");
  apply(payment("Q", 1000, "2026-02-03", "C1", {{"A", money(1000)}}));
  EXPECT_EQ(receivable("A").status, Status::overdue);
  EXPECT_EQ(receivable("A").open, 5000);
}

// A new day touches only the receivables whose day came (a min-heap of boundaries), whatever
// else their customers hold; their customers' blobs do not change (views are computed on read).
TEST_F(Lifecycle, a_new_day_touches_only_the_receivables_whose_day_came) {
  now = at("2026-01-02");
  for (int i = 0; i < 50; ++i) {
    std::string id = "PAID" + std::to_string(i);
    apply(invoice(id, "C1", 1000, "2026-01-01", "2026-01-20"));
    apply(payment("P" + std::to_string(i), 1000, "2026-01-02", "C1", {{id, money(1000)}}));
  }
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(invoice("B", "C1", 10000, "2026-01-01", "2026-02-10"));
  apply(invoice("D", "C2", 10000, "2026-01-01", "2026-01-31"));
  apply(invoice("E", "C3", 10000, "2026-01-01", "2026-03-31"));
  apply(dispute("D", "2026-01-03", true));
  Changes changes = engine.advance(at("2026-02-01"));
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"A"});
  // D is disputed: its status holds; its customer's view (oldest overdue) moves on read.
  EXPECT_TRUE(changes.customers.empty());
  EXPECT_EQ(receivable("D").status, Status::disputed);
  EXPECT_EQ(receivable("B").status, Status::open);
  EXPECT_EQ(receivable("B").next_boundary, day("2026-02-11"));
  EXPECT_EQ(engine.oldest_overdue(customer("C2"), day("2026-02-01")), day("2026-01-31"));
  changes = engine.advance(at("2026-02-05"));
  EXPECT_TRUE(changes.receivables.empty());
  EXPECT_TRUE(changes.customers.empty());
  // Several days at once: every boundary passed on the way.
  changes = engine.advance(at("2026-04-02"));
  EXPECT_EQ(receivable_ids(changes), (std::vector<std::string>{"B", "E"}));
  EXPECT_EQ(receivable("B").status, Status::overdue);
  EXPECT_EQ(receivable("E").status, Status::overdue);
  EXPECT_FALSE(receivable("E").next_boundary.ok());
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(receivable("PAID" + std::to_string(i)).status, Status::paid);
  }
}

// An invoice sorting before its customer's folded history re-folds the customer: the receivables
// that fold back to what they were are not reported (nothing to write), those the date changed
// are.
// An invoice sorting before payments that named the invoices they paid changes nothing they did:
// it is folded alone, not with the customer's whole history again.
TEST_F(Lifecycle, an_invoice_sorting_before_payments_that_named_their_invoices_is_folded_alone) {
  now = at("2026-01-10");
  apply(invoice("B", "C1", 10000, "2026-01-05", "2026-01-31", "F-2"));
  apply(invoice("C", "C1", 20000, "2026-01-05", "2026-03-31", "F-3"));
  apply(payment("P", 5000, "2026-01-08", "C1", {{"C", money(5000)}}));
  apply(payment("Q", 10000, "2026-01-09", "C1", {}, "invoice F-2"));  // by its number
  // Sorts first; of Q's amount, which does not matter: Q named its invoice.
  Changes changes = apply(invoice("A", "C1", 10000, "2026-01-02", "2026-02-28", "F-1"));
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"A"});
  EXPECT_TRUE(changes.customers.empty());  // no record's outcome moved
  EXPECT_EQ(receivable("C").open, 15000);
  EXPECT_EQ(receivable("B").status, Status::paid);
  EXPECT_EQ(receivable("A").open, 10000);
}

// A payment found by its amount alone could have been another invoice's had that invoice been
// there: an invoice sorting before it makes the customer be folded again.
TEST_F(Lifecycle, a_refold_reports_only_the_receivables_it_changed) {
  now = at("2026-01-10");
  apply(invoice("B", "C1", 10000, "2026-01-05", "2026-01-31"));
  apply(invoice("C", "C1", 20000, "2026-01-05", "2026-03-31"));
  apply(payment("P", 20000, "2026-01-08", "C1"));  // C's amount, and no other's
  Changes changes = apply(invoice("A", "C1", 30000, "2026-01-02", "2026-02-28"));  // sorts first
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"A"});
  EXPECT_EQ(customer_ids(changes), std::vector<std::string>{"C1"});
  EXPECT_EQ(receivable("C").status, Status::paid);

  // The same, on the day B falls due: B's status changed with the date, C's did not.
  now = at("2026-02-01");
  changes = apply(invoice("A0", "C1", 100, "2026-01-01", "2026-03-31"));
  EXPECT_EQ(receivable_ids(changes), (std::vector<std::string>{"A0", "B"}));
  EXPECT_EQ(receivable("B").status, Status::overdue);

  // A payment sorting first changes what the fold gives: everything it moved is reported.
  changes = apply(payment("P0", 100, "2025-12-31", "C1", {{"A0", money(100)}}));
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"A0"});
  EXPECT_EQ(receivable("A0").status, Status::paid);
}

// A customer is reported when it is new (its row appears), when a record (payment, credit
// note...) or what their fold derives changes, and when its profile does. Another invoice, even
// one sorting among the folded ones ("INV-10" after "INV-9"), leaves it as it was.
TEST_F(Lifecycle, a_customer_is_reported_when_its_blob_changes) {
  now = at("2026-01-10");
  Changes changes = apply(invoice("INV-9", "C1", 10000, "2026-01-05", "2026-01-31"));
  EXPECT_EQ(customer_ids(changes), std::vector<std::string>{"C1"});
  changes = apply(invoice("INV-11", "C1", 20000, "2026-01-05", "2026-01-31"));
  EXPECT_TRUE(changes.customers.empty());
  changes = apply(invoice("INV-10", "C1", 30000, "2026-01-05", "2026-01-31"));
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"INV-10"});
  EXPECT_TRUE(changes.customers.empty());
  changes = apply(payment("P", 30000, "2026-01-08", "C1", {}));  // its exact amount: INV-10
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"INV-10"});
  EXPECT_EQ(customer_ids(changes), std::vector<std::string>{"C1"});
  CustomerUpserted profile;
  profile.customer_id = "C1";
  profile.name = "Client 1";
  changes = apply(make_event(EventType::customer_upserted, profile, "c1", at("2026-01-10")));
  EXPECT_EQ(customer_ids(changes), std::vector<std::string>{"C1"});
}

// A receivable whose boundary moved (a newer version with a later due date) is not woken at its
// old date.
TEST_F(Lifecycle, a_moved_due_date_moves_the_boundary) {
  now = at("2026-01-02");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  InvoiceData later;
  later.invoice_id = "A";
  later.customer_id = "C1";
  later.amount = money(10000);
  later.issue_date = day("2026-01-01");
  later.due_date = day("2026-02-28");
  later.version = 2;
  apply(make_event(EventType::invoice_updated, later, "updated-A", at("2026-01-02")));
  Changes changes = engine.advance(at("2026-02-01"));
  EXPECT_TRUE(changes.receivables.empty());
  EXPECT_EQ(receivable("A").status, Status::open);
  changes = engine.advance(at("2026-03-01"));
  EXPECT_EQ(receivable_ids(changes), std::vector<std::string>{"A"});
  EXPECT_EQ(receivable("A").status, Status::overdue);
}

TEST_F(Lifecycle, paid_late_records_days_late_in_the_customer_behaviour) {
  now = at("2026-03-01");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(invoice("B", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(payment("P", 10000, "2026-02-10", "C1", {{"A", money(10000)}}));
  apply(payment("Q", 10000, "2026-01-20", "C1", {{"B", money(10000)}}));
  EXPECT_EQ(Engine::days_late(receivable("A")), 10);
  EXPECT_EQ(Engine::days_late(receivable("B")), 0);
  EXPECT_EQ(customer("C1").settled_count, 2u);
  EXPECT_EQ(customer("C1").days_late_sum, 10);
}

TEST_F(Lifecycle, aging_buckets_and_oldest_overdue_per_customer) {
  now = at("2026-04-15");
  apply(invoice("NOTDUE", "C1", 100, "2026-04-01", "2026-05-01"));
  apply(invoice("D10", "C1", 200, "2026-03-01", "2026-04-05"));
  apply(invoice("D45", "C1", 300, "2026-02-01", "2026-03-01"));
  apply(invoice("D75", "C1", 400, "2026-01-01", "2026-01-30"));
  apply(invoice("D120", "C1", 500, "2025-12-01", "2025-12-16"));
  apply(invoice("USD", "C1", 700, "2026-04-01", "2026-04-10", "", "USD"));
  std::vector<AgingBuckets> aging = engine.aging(customer("C1"), day("2026-04-15"));
  ASSERT_EQ(aging.size(), 2u);
  EXPECT_EQ(aging[0].currency.code(), "EUR");
  EXPECT_EQ(aging[0], (AgingBuckets{aging[0].currency, {100, 200, 300, 400, 500}}));
  EXPECT_EQ(aging[1].buckets[1], 700);
  EXPECT_EQ(engine.oldest_overdue(customer("C1"), day("2026-04-15")), day("2025-12-16"));
  ASSERT_EQ(customer("C1").exposure.size(), 2u);
  EXPECT_EQ(customer("C1").exposure[0].amount, 1500);
  EXPECT_EQ(engine.aging(day("2026-04-15")), aging);
}

TEST_F(Lifecycle, dispute_opened_then_resolved_pauses_then_resumes) {
  now = at("2026-02-10");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  EXPECT_EQ(receivable("A").status, Status::overdue);
  apply(dispute("A", "2026-02-01", true, "D1"));
  EXPECT_EQ(receivable("A").status, Status::disputed);
  EXPECT_EQ(receivable("A").open_disputes, 1);
  apply(dispute("A", "2026-02-05", false, "D1"));
  EXPECT_EQ(receivable("A").open_disputes, 0);
  EXPECT_EQ(receivable("A").status, Status::overdue);
}

TEST_F(Lifecycle, promise_kept_when_paid_by_the_promised_date) {
  now = at("2026-02-10");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(promise("A", 10000, "2026-02-05", "2026-02-20"));
  EXPECT_EQ(receivable("A").status, Status::promised);
  now = at("2026-02-19");
  apply(payment("P", 10000, "2026-02-19", "C1", {{"A", money(10000)}}));
  EXPECT_EQ(receivable("A").status, Status::paid);
  EXPECT_EQ(customer("C1").promises_kept, 1u);
  EXPECT_EQ(customer("C1").promises_broken, 0u);
  engine.advance(at("2026-03-30"));
  EXPECT_EQ(customer("C1").promises_broken, 0u);
  EXPECT_TRUE(alerts_of(AlertKind::promise_broken).empty());
}

TEST_F(Lifecycle, promise_broken_resumes_dunning_after_the_grace) {
  now = at("2026-02-10");
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(promise("A", 10000, "2026-02-05", "2026-02-20"));
  EXPECT_EQ(receivable("A").status, Status::promised);
  engine.advance(at("2026-02-23"));  // promised date + 3 days of grace: still holds
  EXPECT_EQ(receivable("A").status, Status::promised);
  Changes changes = engine.advance(at("2026-02-24"));
  EXPECT_EQ(receivable("A").status, Status::overdue);
  EXPECT_EQ(customer("C1").promises_broken, 1u);
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::promise_broken);
  // Paying late does not make the promise kept, but the invoice is paid.
  apply(payment("P", 10000, "2026-02-25", "C1", {{"A", money(10000)}}));
  EXPECT_EQ(receivable("A").status, Status::paid);
  EXPECT_EQ(customer("C1").promises_kept, 0u);
}

TEST_F(Lifecycle, payment_plan_with_one_instalment_late) {
  now = at("2026-02-01");
  apply(invoice("A", "C1", 30000, "2026-01-01", "2026-01-31"));
  PaymentPlanAgreed plan;
  plan.plan_id = "PLAN-1";
  plan.invoice_ids = {"A"};
  plan.instalments = {{day("2026-02-15"), money(10000)},
                      {day("2026-03-15"), money(10000)},
                      {day("2026-04-15"), money(10000)}};
  apply(make_event(EventType::payment_plan_agreed, plan, "plan-1", at("2026-02-01")));
  EXPECT_EQ(receivable("A").status, Status::payment_plan);
  now = at("2026-02-14");
  apply(payment("P1", 10000, "2026-02-14", "C1", {{"A", money(10000)}}));
  engine.advance(at("2026-03-18"));  // second instalment due 03-15 + 3 days grace
  EXPECT_EQ(receivable("A").status, Status::payment_plan);
  Changes changes = engine.advance(at("2026-03-19"));
  EXPECT_EQ(receivable("A").status, Status::overdue);
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_plan_instalment_late);
  now = at("2026-03-20");
  changes = apply(payment("P2", 10000, "2026-03-20", "C1", {{"A", money(10000)}}));
  EXPECT_EQ(receivable("A").status, Status::payment_plan);
  EXPECT_EQ(changes.resolved.size(), 1u);
  apply(payment("P3", 10000, "2026-03-25", "C1", {{"A", money(10000)}}));
  EXPECT_EQ(receivable("A").status, Status::paid);
}

// Found by the replay property test (RELANCE_PROPERTY_SEED=99, 3000 sets): a plan whose invoice
// was cancelled meanwhile still has instalments; the day one is late must come to the live
// engine as it does to a load of the stored state.
TEST_F(Lifecycle, late_instalment_of_a_plan_whose_invoice_closed_raises_its_alert_on_time) {
  now = at("2026-02-01");
  apply(invoice("A", "C1", 30000, "2026-01-01", "2026-01-31"));
  PaymentPlanAgreed plan;
  plan.plan_id = "PLAN-1";
  plan.invoice_ids = {"A"};
  plan.instalments = {{day("2026-02-15"), money(15000)}, {day("2026-03-15"), money(15000)}};
  apply(make_event(EventType::payment_plan_agreed, plan, "plan-1", at("2026-02-01")));
  now = at("2026-02-05");
  apply(make_event(EventType::invoice_cancelled, InvoiceCancelled{"A", "error", std::nullopt},
                   "cancel-A", at("2026-02-05")));
  EXPECT_EQ(receivable("A").status, Status::cancelled);
  EXPECT_TRUE(engine.advance(at("2026-02-18")).raised.empty());
  Changes changes = engine.advance(at("2026-02-19"));  // 02-15 + 3 days of grace passed
  ASSERT_EQ(changes.raised.size(), 1u);
  EXPECT_EQ(changes.raised[0].kind, AlertKind::payment_plan_instalment_late);

  const StoredBlobs stored = stored_blobs(engine);
  Engine loaded;
  ASSERT_TRUE(
      loaded.load(stored.customers, stored.receivables, stored.records, at("2026-02-19")).ok());
  EXPECT_EQ(loaded.alerts(), engine.alerts());
}

TEST_F(Lifecycle, written_off_invoice_is_closed) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  InvoiceWrittenOff w{"A", money(4000), "agreed"};
  apply(make_event(EventType::invoice_written_off, w, "wo-1", at("2026-01-10")));
  EXPECT_EQ(receivable("A").open, 6000);
  apply(make_event(EventType::invoice_written_off, InvoiceWrittenOff{"A", std::nullopt, "bad"},
                   "wo-2", at("2026-01-11")));
  EXPECT_EQ(receivable("A").status, Status::written_off);
  EXPECT_TRUE(customer("C1").exposure.empty());
}

TEST_F(Lifecycle, newer_invoice_version_wins_whatever_the_order) {
  InvoiceData v2;
  v2.invoice_id = "A";
  v2.customer_id = "C1";
  v2.amount = money(8000);
  v2.issue_date = day("2026-01-01");
  v2.due_date = day("2026-02-28");
  v2.version = 2;
  InvoiceData v1 = v2;
  v1.amount = money(10000);
  v1.version = 1;
  apply(make_event(EventType::invoice_updated, v2, "v2", at("2026-01-02")));
  Changes changes = apply(make_event(EventType::invoice_updated, v1, "v1", at("2026-01-03")));
  EXPECT_EQ(changes.outcome, ApplyOutcome::duplicate);
  EXPECT_EQ(receivable("A").original, 8000);
  EXPECT_EQ(receivable("A").due_date, day("2026-02-28"));
}

TEST_F(Lifecycle, update_without_version_wins_by_time_and_refolds_payments) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(payment("P", 6000, "2026-01-10", "C1", {{"A", money(6000)}}));
  InvoiceData lower;
  lower.invoice_id = "A";
  lower.customer_id = "C1";
  lower.amount = money(6000);
  lower.issue_date = day("2026-01-01");
  lower.due_date = day("2026-01-31");
  apply(make_event(EventType::invoice_updated, lower, "upd", at("2026-01-15")));
  EXPECT_EQ(receivable("A").open, 0);
  EXPECT_EQ(receivable("A").status, Status::paid);
}

TEST_F(Lifecycle, the_same_event_twice_is_a_duplicate) {
  Event e = invoice("A", "C1", 10000, "2026-01-01", "2026-01-31");
  EXPECT_EQ(apply(e).outcome, ApplyOutcome::applied);
  EXPECT_EQ(apply(e).outcome, ApplyOutcome::duplicate);
  Event p = payment("P", 1000, "2026-01-10", "C1", {{"A", money(1000)}});
  EXPECT_EQ(apply(p).outcome, ApplyOutcome::applied);
  EXPECT_EQ(apply(p).outcome, ApplyOutcome::duplicate);
  EXPECT_EQ(receivable("A").open, 9000);
}

TEST_F(Lifecycle, dunning_level_is_kept_across_refolds) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  ASSERT_TRUE(engine.set_dunning_level("A", 2).ok());
  EXPECT_FALSE(engine.set_dunning_level("nope", 1).ok());
  apply(payment("P", 100, "2025-12-01", "C1", {{"A", money(100)}}));  // sorts first: refold
  EXPECT_EQ(receivable("A").dunning_level, 2);
}

TEST_F(Lifecycle, customer_profile_from_the_latest_upsert) {
  CustomerUpserted a;
  a.customer_id = "C1";
  a.name = "New name";
  a.language = "fr";
  CustomerUpserted b = a;
  b.name = "Old name";
  apply(make_event(EventType::customer_upserted, a, "a", at("2026-01-02")));
  EXPECT_EQ(apply(make_event(EventType::customer_upserted, b, "b", at("2026-01-01"))).outcome,
            ApplyOutcome::duplicate);
  EXPECT_EQ(customer("C1").profile.name, "New name");
  EXPECT_EQ(customer("C1").profile.language, "fr");
}

}  // namespace
}  // namespace relance::core::engine::testing
