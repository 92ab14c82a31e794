#pragma once
// Events built in code for store and writer tests: the journal needs source, id, type and the
// JSON text, not a parsed envelope, so these do not go through parse_event.

#include <string>

#include "core/event.hpp"

namespace relance::store::testing {

// An invoice.issued envelope whose JSON is at least `json_bytes_min` long (padded in a data field).
inline core::Event make_event(const std::string& source, const std::string& id,
                              std::size_t json_bytes_min = 0) {
  core::Event event;
  event.source = source;
  event.id = id;
  event.type = core::EventType::invoice_issued;
  core::InvoiceData data;
  data.invoice_id = "INV-" + id;
  data.customer_id = "C-1";
  event.data = data;
  event.json = R"({"specversion":"1.0","id":")" + id + R"(","source":")" + source +
               R"(","type":"invoice.issued","data":{"invoice_id":"INV-)" + id +
               R"(","customer_id":"C-1","amount":{"amount":"120.00","currency":"EUR"},)" +
               R"("issue_date":"2026-01-05","due_date":"2026-02-04","note":")";
  const std::string tail = "\"}}";
  if (event.json.size() + tail.size() < json_bytes_min) {
    event.json.append(json_bytes_min - event.json.size() - tail.size(), 'x');
  }
  event.json += tail;
  return event;
}

}  // namespace relance::store::testing
