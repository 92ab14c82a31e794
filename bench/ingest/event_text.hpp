#pragma once
// The events both ingest benchmarks write: the HTTP load (ingest_load) posts them, the SQLite
// baseline (ingest_sqlite_baseline) inserts the same text, so the two move the same bytes.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace relance::bench {

inline constexpr std::string_view event_source = "erp/bench";

// 2026-03-01 plus `day` days, as YYYY-MM-DD.
inline std::string iso_date(unsigned day) {
  const std::chrono::year_month_day date{
      std::chrono::sys_days{std::chrono::year{2026} / std::chrono::March / 1} +
      std::chrono::days{day}};
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
  return text;
}

inline std::string event_id(std::string_view prefix, std::uint64_t n) {
  std::string id(prefix);
  id += '-';
  id += std::to_string(n);
  return id;
}

// An invoice.issued CloudEvent of about 330 bytes, unique by `id`; appended to `out`. Issued
// `day` days after 2026-03-01, due 30 days later.
inline void append_invoice_event(std::string& out, const std::string& id, std::uint64_t n,
                                 unsigned day = 0) {
  const std::string customer = std::to_string(n % 5000);
  const std::string euros = std::to_string(100 + n % 90000);
  const std::string issued = iso_date(day);
  out += R"({"specversion":"1.0","id":")";
  out += id;
  out += R"(","source":"erp/bench","type":"invoice.issued","time":")";
  out += issued;
  out += R"(T09:30:00Z","datacontenttype":"application/json","data":{"invoice_id":"INV-)";
  out += id;
  out += R"(","customer_id":"CUST-)";
  out += customer;
  out += R"(","amount":{"amount":")";
  out += euros;
  out += R"(.40","currency":"EUR"},"issue_date":")";
  out += issued;
  out += R"(","due_date":")";
  out += iso_date(day + 30);
  out += R"(",)";
  out += R"("number":"F2026-)";
  out += std::to_string(n);
  out += R"(","payment_terms":"30 days net"}})";
}

// A payment.received CloudEvent that pays in full the invoice append_invoice_event() wrote for
// `invoice_n`, naming its number in the remittance text as banks pass it on, on the invoice's
// issue day; appended to `out`.
inline void append_payment_event(std::string& out, const std::string& id, std::uint64_t invoice_n,
                                 unsigned day = 0) {
  const std::string paid = iso_date(day);
  out += R"({"specversion":"1.0","id":")";
  out += id;
  out += R"(","source":"erp/bench","type":"payment.received","time":")";
  out += paid;
  out += R"(T16:00:00Z","datacontenttype":"application/json","data":{"payment_id":"PAY-)";
  out += id;
  out += R"(","customer_id":"CUST-)";
  out += std::to_string(invoice_n % 5000);
  out += R"(","amount":{"amount":")";
  out += std::to_string(100 + invoice_n % 90000);
  out += R"(.40","currency":"EUR"},"received_date":")";
  out += paid;
  out += R"(","remittance_info":"VIR SEPA F2026-)";
  out += std::to_string(invoice_n);
  out += R"( ACME SARL"}})";
}

}  // namespace relance::bench
