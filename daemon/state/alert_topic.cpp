#include "state/alert_topic.hpp"

#include <chrono>
#include <string>
#include <utility>

#include "outbox/payload.hpp"

namespace relance::state {

connectors::AlertNotice opened_notice(const store::AlertRow& row,
                                      std::vector<std::string> invoice_ids, std::string message) {
  connectors::AlertNotice notice;
  notice.alert_id = row.id;
  notice.kind = row.kind;
  notice.severity = row.severity;
  notice.status = "open";
  notice.customer_id = row.customer_id;
  notice.invoice_ids = std::move(invoice_ids);
  notice.message = std::move(message);
  notice.at = row.raised_at;
  return notice;
}

Result<void> enqueue_alert(store::Transaction& transaction, std::string_view sink,
                           const connectors::AlertNotice& notice) {
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(notice.at.time_since_epoch()).count();
  connectors::Delivery delivery;
  delivery.idempotency_key = std::string(outbox::alert_key_prefix) + notice.alert_id + ":" +
                             notice.status + ":" + std::to_string(micros);
  // One customer's alerts on one partition, in order; without a customer, the alert's own.
  delivery.customer_id = notice.customer_id.empty() ? notice.alert_id : notice.customer_id;
  delivery.content = notice;
  store::OutboxEntry entry;
  entry.idempotency_key = delivery.idempotency_key;
  entry.sink = std::string(sink);
  entry.customer_id = notice.customer_id;
  entry.invoice_ids = notice.invoice_ids;
  entry.payload = outbox::delivery_to_json(delivery);
  entry.due_at = notice.at;
  entry.created_at = notice.at;
  return transaction.enqueue(entry);
}

}  // namespace relance::state
