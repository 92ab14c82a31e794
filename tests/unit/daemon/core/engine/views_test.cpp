// The JSON documents the HTTP API serves.

#include <boost/json.hpp>

#include "core/engine/views.hpp"
#include "engine_fixture.hpp"

namespace relance::core::engine::testing {
namespace {

using Views = EngineTest;
namespace json = boost::json;

TEST_F(Views, receivable_view_has_amounts_as_decimals_status_and_timeline) {
  now = at("2026-02-10");
  apply(invoice("A", "C1", 123450, "2026-01-01", "2026-01-31", "F-1"));
  apply(payment("P", 23450, "2026-01-15", "C1", {{"A", money(23450)}}));
  json::object v = receivable_view(engine, receivable("A"), day("2026-02-10"));
  EXPECT_EQ(v.at("invoice_id"), "A");
  EXPECT_EQ(v.at("customer_id"), "C1");
  EXPECT_EQ(v.at("number"), "F-1");
  EXPECT_EQ(v.at("currency"), "EUR");
  EXPECT_EQ(v.at("original_amount"), "1234.50");
  EXPECT_EQ(v.at("open_amount"), "1000.00");
  EXPECT_EQ(v.at("status"), "overdue");
  EXPECT_EQ(v.at("days_past_due"), 10);
  EXPECT_EQ(v.at("dunning_level"), 0);
  ASSERT_EQ(v.at("payments").as_array().size(), 1u);
  EXPECT_EQ(v.at("payments").as_array()[0].at("amount"), "234.50");
  const json::array& timeline = v.at("timeline").as_array();
  ASSERT_EQ(timeline.size(), 2u);
  EXPECT_EQ(timeline[0].at("kind"), "issued");
  EXPECT_EQ(timeline[1].at("kind"), "payment");
  EXPECT_EQ(timeline[1].at("payment_id"), "P");
  apply(payment("Q", 100000, "2026-02-05", "C1", {{"A", money(100000)}}));
  v = receivable_view(engine, receivable("A"), day("2026-02-10"));
  EXPECT_EQ(v.at("days_late"), 5);
  EXPECT_FALSE(v.contains("days_past_due"));
}

TEST_F(Views, customer_view_has_exposure_aging_behaviour_and_invoices) {
  now = at("2026-03-15");
  CustomerUpserted c;
  c.customer_id = "C1";
  c.name = "ACME";
  c.emails = {"ap@acme.test"};
  c.credit_limit = money(500000);
  apply(make_event(EventType::customer_upserted, c, "c"));
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  apply(invoice("B", "C1", 20000, "2026-03-01", "2026-03-31"));
  apply(payment("P", 555, "2026-03-01", "C1"));
  json::object v = customer_view(engine, customer("C1"), day("2026-03-15"));
  EXPECT_EQ(v.at("profile").at("name"), "ACME");
  EXPECT_EQ(v.at("profile").at("credit_limit").at("amount"), "5000.00");
  EXPECT_EQ(v.at("exposure").as_array()[0].at("amount"), "300.00");
  EXPECT_EQ(v.at("unapplied").as_array()[0].at("amount"), "5.55");
  EXPECT_EQ(v.at("oldest_overdue_due_date"), "2026-01-31");
  EXPECT_EQ(v.at("aging").as_array()[0].at("31_60"), "100.00");
  EXPECT_EQ(v.at("aging").as_array()[0].at("not_due"), "200.00");
  EXPECT_EQ(v.at("invoice_ids"), (json::array{"A", "B"}));
  EXPECT_EQ(v.at("behaviour").at("promises_kept"), 0);
  EXPECT_EQ(v.at("unapplied_items").as_array()[0].at("reason"), "unmatched");
}

// Invoice ids the way an ERP numbers them, without zero padding: listed as people count, before
// and after a load (which sorts the receivables it reads).
TEST_F(Views, a_customer_lists_its_invoices_in_natural_order) {
  now = at("2026-03-15");
  for (const char* id : {"INV-10", "INV-9", "INV-100", "INV-11"}) {
    apply(invoice(id, "C1", 10000, "2026-03-01", "2026-03-31"));
  }
  const json::array expected{"INV-9", "INV-10", "INV-11", "INV-100"};
  EXPECT_EQ(customer_view(engine, customer("C1"), day("2026-03-15")).at("invoice_ids"), expected);
  std::vector<std::string> receivables;
  for (const char* id : {"INV-100", "INV-11", "INV-10", "INV-9"}) {
    receivables.push_back(engine.serialize_receivable(receivable(id)));
  }
  const std::vector<std::string> customers = {engine.serialize_customer(customer("C1"))};
  Engine loaded;
  ASSERT_TRUE(loaded.load(customers, receivables, {}, now).ok());
  EXPECT_EQ(customer_view(loaded, *loaded.find_customer("C1"), day("2026-03-15")).at("invoice_ids"),
            expected);
}

TEST_F(Views, alert_view_names_kind_severity_entities_and_sentence) {
  apply(invoice("A", "C1", 10000, "2026-01-01", "2026-01-31"));
  Changes changes = apply(payment("P", 4321, "2026-01-10", "C1"));
  ASSERT_EQ(changes.raised.size(), 1u);
  json::object v = alert_view(changes.raised[0]);
  EXPECT_EQ(v.at("kind"), "payment.unmatched");
  EXPECT_EQ(v.at("severity"), "warning");
  EXPECT_EQ(v.at("customer_id"), "C1");
  EXPECT_EQ(v.at("payment_id"), "P");
  EXPECT_EQ(v.at("amount"), "43.21");
  EXPECT_EQ(std::string(v.at("id").as_string()).substr(0, 3), "al_");
  EXPECT_FALSE(v.at("message").as_string().empty());
}

}  // namespace
}  // namespace relance::core::engine::testing
