#include "outbox/recheck.hpp"

#include <gtest/gtest.h>

#include "fake_store.hpp"

namespace relance::outbox {
namespace {

void put_receivable(store::Store& store, const std::string& id, const std::string& status) {
  auto transaction = store.begin().value();
  ASSERT_TRUE(
      transaction->put_state({store::StateKind::receivable, id, "C-1", "blob",
                              R"({"invoice_id":")" + id + R"(","status":")" + status + R"("})"}));
  ASSERT_TRUE(transaction->commit());
}

store::OutboxRow row_for(std::vector<std::string> invoice_ids) {
  store::OutboxRow row;
  row.idempotency_key = "C-1/step-1/2026-01-01";
  row.customer_id = "C-1";
  row.invoice_ids = std::move(invoice_ids);
  return row;
}

TEST(RecheckFromViews, sends_while_every_invoice_is_still_dunned) {
  store::testing::FakeStore store;
  put_receivable(store, "F-1", "overdue");
  put_receivable(store, "F-2", "partially_paid");
  put_receivable(store, "F-3", "open");
  const Recheck recheck = recheck_from_views(store);
  auto verdict = recheck(row_for({"F-1", "F-2", "F-3"}));
  ASSERT_TRUE(verdict) << verdict.error().to_string();
  EXPECT_TRUE(verdict->send);
  EXPECT_TRUE(recheck(row_for({}))->send);  // a customer-level action names no invoice
}

TEST(RecheckFromViews, drops_when_an_invoice_was_paid_disputed_or_promised_since) {
  store::testing::FakeStore store;
  put_receivable(store, "F-1", "overdue");
  const Recheck recheck = recheck_from_views(store);
  for (const char* status :
       {"paid", "overpaid", "disputed", "promised", "payment_plan", "cancelled", "written_off"}) {
    put_receivable(store, "F-2", status);
    auto verdict = recheck(row_for({"F-1", "F-2"}));
    ASSERT_TRUE(verdict) << verdict.error().to_string();
    EXPECT_FALSE(verdict->send) << status;
    EXPECT_EQ(verdict->reason,
              std::string("invoice F-2 is ") + status + " since the action was queued");
  }
}

TEST(RecheckFromViews, drops_an_unknown_invoice_and_fails_on_a_view_without_status) {
  store::testing::FakeStore store;
  const Recheck recheck = recheck_from_views(store);
  auto unknown = recheck(row_for({"F-9"}));
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->send);
  EXPECT_EQ(unknown->reason, "invoice F-9 is not known");
  auto transaction = store.begin().value();
  ASSERT_TRUE(transaction->put_state({store::StateKind::receivable, "F-3", "C-1", "b", "{}"}));
  ASSERT_TRUE(transaction->commit());
  auto broken = recheck(row_for({"F-3"}));
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().field, "receivable F-3");
}

}  // namespace
}  // namespace relance::outbox
