#pragma once
// The events both ingest benchmarks write: the HTTP load (ingest_load) posts them, the SQLite
// baseline (ingest_sqlite_baseline) inserts the same text, so the two move the same bytes.

#include <cstdint>
#include <string>
#include <string_view>

namespace relance::bench {

inline constexpr std::string_view event_source = "erp/bench";

inline std::string event_id(std::string_view prefix, std::uint64_t n) {
  std::string id(prefix);
  id += '-';
  id += std::to_string(n);
  return id;
}

// An invoice.issued CloudEvent of about 330 bytes, unique by `id`; appended to `out`.
inline void append_invoice_event(std::string& out, const std::string& id, std::uint64_t n) {
  const std::string customer = std::to_string(n % 5000);
  const std::string euros = std::to_string(100 + n % 90000);
  out += R"({"specversion":"1.0","id":")";
  out += id;
  out += R"(","source":"erp/bench","type":"invoice.issued","time":"2026-03-01T09:30:00Z",)";
  out += R"("datacontenttype":"application/json","data":{"invoice_id":"INV-)";
  out += id;
  out += R"(","customer_id":"CUST-)";
  out += customer;
  out += R"(","amount":{"amount":")";
  out += euros;
  out += R"(.40","currency":"EUR"},"issue_date":"2026-03-01","due_date":"2026-03-31",)";
  out += R"("number":"F2026-)";
  out += std::to_string(n);
  out += R"(","payment_terms":"30 days net"}})";
}

}  // namespace relance::bench
