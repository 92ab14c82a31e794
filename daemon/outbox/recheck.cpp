#include "outbox/recheck.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <string_view>

#include "outbox/payload.hpp"

namespace relance::outbox {

namespace {

// The engine's statuses (core/engine/transitions.cpp) under which reminders still go out.
constexpr std::array<std::string_view, 3> dunned_statuses = {"open", "overdue", "partially_paid"};

}  // namespace

Recheck recheck_from_views(ReceivableView read_view) {
  return [read_view = std::move(read_view)](const store::OutboxRow& row) -> Result<Verdict> {
    // An alert notice reports a change that happened, paid invoice or not: never dropped.
    if (row.idempotency_key.starts_with(alert_key_prefix)) return Verdict::go();
    for (const std::string& invoice_id : row.invoice_ids) {
      auto view = read_view(invoice_id);
      if (!view) return view.error();
      if (!view->has_value()) return Verdict::drop("invoice " + invoice_id + " is not known");
      boost::system::error_code failed;
      const boost::json::value parsed = boost::json::parse(**view, failed);
      const boost::json::value* status =
          !failed && parsed.is_object() ? parsed.get_object().if_contains("status") : nullptr;
      if (status == nullptr || !status->is_string()) {
        return Error{"receivable " + invoice_id, "its stored view has no status"};
      }
      const std::string_view name(status->get_string());
      if (std::find(dunned_statuses.begin(), dunned_statuses.end(), name) ==
          dunned_statuses.end()) {
        return Verdict::drop("invoice " + invoice_id + " is " + std::string(name) +
                             " since the action was queued");
      }
    }
    return Verdict::go();
  };
}

}  // namespace relance::outbox
