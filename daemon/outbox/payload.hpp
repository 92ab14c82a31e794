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

#include <string>
#include <string_view>

#include "connectors/sink.hpp"
#include "core/result.hpp"

namespace relance::outbox {

std::string delivery_to_json(const connectors::Delivery& delivery);
// Errors name the member ("crm.due_date") and what is wrong with it.
Result<connectors::Delivery> delivery_from_json(std::string_view json);

}  // namespace relance::outbox
