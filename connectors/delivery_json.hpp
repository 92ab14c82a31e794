#pragma once
// One JSON encoding of a delivery's content, for everything that writes one down: the outbox
// payload (daemon/outbox/payload.*) and the events of the Kafka sink.
//   "email": {"from", "reply_to", "to": [..], "cc": [..], "subject", "text", "html", "date"}
//   "crm": {"kind": "task"|"note", "customer_id", "customer_name", "crm_id", "subject", "body",
//           "due_date": "YYYY-MM-DD" or null, "invoice_ids": [..]}
//   "alert": {"id", "kind", "severity", "status": "open"|"resolved", "customer_id",
//             "invoice_ids": [..], "message", "at": RFC 3339}

#include <boost/json/object.hpp>

#include "connectors/sink.hpp"

namespace relance::connectors {

// Sets out["email"], out["crm"] or out["alert"] from the delivery's content.
void put_delivery_content(boost::json::object& out, const Delivery& delivery);

}  // namespace relance::connectors
