#pragma once
// The Sink seam: delivers one action and answers delivered, retry later (after N s), or
// rejected. Answers follow HTTP's meaning: 2xx delivered; 408, 429, 5xx and transport errors
// retried (honouring Retry-After); any other 4xx rejected, with the peer's answer kept.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/date.hpp"

namespace relance::connectors {

struct EmailMessage {
  std::string from;
  std::string reply_to;
  std::vector<std::string> to;
  std::vector<std::string> cc;
  std::string subject;  // UTF-8; encoded per RFC 2047 by the sink
  std::string text;     // text/plain part, UTF-8
  std::string html;     // text/html part, UTF-8; empty: text only
  core::Timestamp date{};
};

struct CrmActivity {
  enum class Kind { task, note };
  Kind kind = Kind::task;
  std::string customer_id;
  std::string customer_name;
  std::string crm_id;  // the customer's id in the CRM, when known
  std::string subject;
  std::string body;
  std::optional<core::Date> due_date;  // tasks
  std::vector<std::string> invoice_ids;
};

// An alert for operators that opened (or changed) or was resolved: published on
// kafka.alerts_topic, through the outbox like the actions. Email and CRM sinks reject it.
struct AlertNotice {
  std::string alert_id;
  std::string kind;      // "payment.unmatched", "dunning.action_failed", ...
  std::string severity;  // "info", "warning", "critical"; empty when not known (a resolve)
  std::string status;    // "open" (raised, or its content changed) | "resolved"
  std::string customer_id;
  std::vector<std::string> invoice_ids;
  std::string message;
  core::Timestamp at{};  // when it was raised or resolved
  bool operator==(const AlertNotice&) const = default;
};

struct Delivery {
  // Deterministic (receivable or customer, step, due date): the same action always has the same
  // key, so a receiver can refuse a second copy. Also the seed of an email's Message-ID.
  std::string idempotency_key;
  std::variant<EmailMessage, CrmActivity, AlertNotice> content;
  // Whose action this is: the Kafka sink's message key (one partition, in order, per customer).
  // Last and defaulted, so that Delivery{key, content} still reads as before.
  std::string customer_id = {};
};

struct SinkAnswer {
  enum class Outcome { delivered, retry, rejected };
  Outcome outcome = Outcome::delivered;
  std::optional<std::chrono::seconds> retry_after;  // from the peer (Retry-After), when given
  std::string detail;  // the peer's answer: status line and body, or the transport error
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string_view name() const = 0;
  // Blocking; every I/O inside has a deadline.
  virtual SinkAnswer deliver(const Delivery& delivery) = 0;
  // Whether delivering the same Delivery twice leaves the receiver as after one delivery (the
  // receiver drops a second copy by its idempotency key, or the sink overwrites it). A send cut
  // by a crash is requeued only for such a sink; otherwise it is parked for an operator, since
  // it may have gone out. Defaults to false: at most once unless a sink says otherwise.
  virtual bool redelivery_safe() const { return false; }
};

}  // namespace relance::connectors
