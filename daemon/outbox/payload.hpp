#pragma once
// The outbox row's payload: a connectors::Delivery as JSON, written at enqueue and read back by
// the dispatcher, so that what is sent is exactly what was decided (a later template or policy
// change does not alter an action already queued).
//
// "customer_id" (optional) sits next to "idempotency_key" in both forms.
// {"idempotency_key": "...", "email": {"from", "reply_to", "to": [..], "cc": [..], "subject",
//  "text", "html", "date": RFC 3339}}
// {"idempotency_key": "...", "crm": {"kind": "task"|"note", "customer_id", "customer_name",
//  "crm_id", "subject", "body", "due_date": "YYYY-MM-DD" or null, "invoice_ids": [..]}}
// {"idempotency_key": "alert:...", "alert": {"id", "kind", "severity", "status": "open" |
//  "resolved", "customer_id", "invoice_ids": [..], "message", "at": RFC 3339}}

#include <string>
#include <string_view>

#include "connectors/sink.hpp"
#include "core/result.hpp"

namespace relance::outbox {

// The idempotency keys of alert notices (kafka.alerts_topic) start with this:
// "alert:<id>:<open|resolved>:<epoch micros>" (state/alert_topic.hpp). The recheck lets them go.
inline constexpr std::string_view alert_key_prefix = "alert:";

std::string delivery_to_json(const connectors::Delivery& delivery);
// Errors name the member ("crm.due_date") and what is wrong with it.
Result<connectors::Delivery> delivery_from_json(std::string_view json);

}  // namespace relance::outbox
