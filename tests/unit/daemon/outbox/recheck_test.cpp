#include "outbox/recheck.hpp"

#include <gtest/gtest.h>

#include <map>

namespace relance::outbox {
namespace {

// Receivable documents by invoice id, as state::ViewsOnRead would compute them.
using Views = std::map<std::string, std::string, std::less<>>;

ReceivableView reader(const Views& views) {
  return [&views](std::string_view id) -> Result<std::optional<std::string>> {
    const auto found = views.find(id);
    if (found == views.end()) return std::optional<std::string>();
    return std::optional<std::string>(found->second);
  };
}

void put_receivable(Views& views, const std::string& id, const std::string& status) {
  views[id] = R"({"invoice_id":")" + id + R"(","status":")" + status + R"("})";
}

store::OutboxRow row_for(std::vector<std::string> invoice_ids) {
  store::OutboxRow row;
  row.idempotency_key = "C-1/step-1/2026-01-01";
  row.customer_id = "C-1";
  row.invoice_ids = std::move(invoice_ids);
  return row;
}

TEST(RecheckFromViews, sends_while_every_invoice_is_still_dunned) {
  Views store;
  put_receivable(store, "F-1", "overdue");
  put_receivable(store, "F-2", "partially_paid");
  put_receivable(store, "F-3", "open");
  const Recheck recheck = recheck_from_views(reader(store));
  auto verdict = recheck(row_for({"F-1", "F-2", "F-3"}));
  ASSERT_TRUE(verdict) << verdict.error().to_string();
  EXPECT_TRUE(verdict->send);
  EXPECT_TRUE(recheck(row_for({}))->send);  // a customer-level action names no invoice
}

TEST(RecheckFromViews, drops_when_an_invoice_was_paid_disputed_or_promised_since) {
  Views store;
  put_receivable(store, "F-1", "overdue");
  const Recheck recheck = recheck_from_views(reader(store));
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
  Views store;
  const Recheck recheck = recheck_from_views(reader(store));
  auto unknown = recheck(row_for({"F-9"}));
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->send);
  EXPECT_EQ(unknown->reason, "invoice F-9 is not known");
  store["F-3"] = "{}";
  auto broken = recheck(row_for({"F-3"}));
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().field, "receivable F-3");
}

TEST(RecheckFromViews, never_drops_an_alert_notice_whatever_its_invoices) {
  Views store;
  put_receivable(store, "F-1", "paid");
  const Recheck recheck = recheck_from_views(reader(store));
  // An alert about a paid invoice, and one about an invoice not known: both still go out.
  store::OutboxRow alert = row_for({"F-1", "F-9"});
  alert.idempotency_key = "alert:a1b2:resolved:1767225600000000";
  alert.sink = "kafka.alerts";
  auto verdict = recheck(alert);
  ASSERT_TRUE(verdict) << verdict.error().to_string();
  EXPECT_TRUE(verdict->send);
  // The same invoices on an action: dropped.
  EXPECT_FALSE(recheck(row_for({"F-1"}))->send);
}

}  // namespace
}  // namespace relance::outbox
