#include "outbox/payload.hpp"

#include <boost/json.hpp>

#include <utility>
#include <vector>

#include "connectors/delivery_json.hpp"
#include "core/date.hpp"

namespace relance::outbox {

namespace json = boost::json;
using connectors::CrmActivity;
using connectors::Delivery;
using connectors::EmailMessage;

namespace {

// Reads the members of one object, naming each problem by its path.
class Reader {
 public:
  Reader(const json::object& object, std::string path) : object_(object), path_(std::move(path)) {}

  Result<std::string> string(std::string_view key, bool required = true) const {
    const json::value* value = object_.if_contains(key);
    if (!value) {
      if (!required) return std::string();
      return Error{field(key), "is missing"};
    }
    if (!value->is_string()) return Error{field(key), "is not a string"};
    return std::string(value->get_string());
  }

  Result<std::vector<std::string>> strings(std::string_view key) const {
    const json::value* value = object_.if_contains(key);
    if (!value) return std::vector<std::string>();
    if (!value->is_array()) return Error{field(key), "is not an array"};
    std::vector<std::string> values;
    for (const auto& element : value->get_array()) {
      if (!element.is_string()) return Error{field(key), "holds a value that is not a string"};
      values.emplace_back(element.get_string());
    }
    return values;
  }

  const json::value* find(std::string_view key) const { return object_.if_contains(key); }
  std::string field(std::string_view key) const { return path_ + "." + std::string(key); }

 private:
  const json::object& object_;
  std::string path_;
};

template <class T>
Result<void> take(Result<T> result, T& into) {
  if (!result) return result.error();
  into = std::move(*result);
  return {};
}

Result<EmailMessage> read_email(const Reader& in) {
  EmailMessage email;
  std::string date;
  for (auto read :
       {take(in.string("from"), email.from), take(in.string("reply_to", false), email.reply_to),
        take(in.strings("to"), email.to), take(in.strings("cc"), email.cc),
        take(in.string("subject"), email.subject), take(in.string("text"), email.text),
        take(in.string("html", false), email.html), take(in.string("date"), date)}) {
    if (!read) return read.error();
  }
  auto parsed = core::parse_timestamp(date);
  if (!parsed) return Error{in.field("date"), parsed.error().message};
  email.date = *parsed;
  return email;
}

Result<CrmActivity> read_crm(const Reader& in) {
  CrmActivity activity;
  std::string kind;
  for (auto read :
       {take(in.string("kind"), kind), take(in.string("customer_id"), activity.customer_id),
        take(in.string("customer_name", false), activity.customer_name),
        take(in.string("crm_id", false), activity.crm_id),
        take(in.string("subject"), activity.subject), take(in.string("body", false), activity.body),
        take(in.strings("invoice_ids"), activity.invoice_ids)}) {
    if (!read) return read.error();
  }
  if (kind == "task") {
    activity.kind = CrmActivity::Kind::task;
  } else if (kind == "note") {
    activity.kind = CrmActivity::Kind::note;
  } else {
    return Error{in.field("kind"), "is \"" + kind + "\", not task or note"};
  }
  if (const json::value* due = in.find("due_date"); due && !due->is_null()) {
    if (!due->is_string()) return Error{in.field("due_date"), "is not a string"};
    auto date = core::parse_date(std::string_view(due->get_string()));
    if (!date) return Error{in.field("due_date"), date.error().message};
    activity.due_date = *date;
  }
  return activity;
}

Result<connectors::AlertNotice> read_alert(const Reader& in) {
  connectors::AlertNotice alert;
  std::string at;
  for (auto read :
       {take(in.string("id"), alert.alert_id), take(in.string("kind"), alert.kind),
        take(in.string("severity", false), alert.severity), take(in.string("status"), alert.status),
        take(in.string("customer_id", false), alert.customer_id),
        take(in.strings("invoice_ids"), alert.invoice_ids),
        take(in.string("message", false), alert.message), take(in.string("at"), at)}) {
    if (!read) return read.error();
  }
  if (alert.status != "open" && alert.status != "resolved") {
    return Error{in.field("status"), "is \"" + alert.status + "\", not open or resolved"};
  }
  auto parsed = core::parse_timestamp(at);
  if (!parsed) return Error{in.field("at"), parsed.error().message};
  alert.at = *parsed;
  return alert;
}

}  // namespace

std::string delivery_to_json(const Delivery& delivery) {
  json::object out;
  out["idempotency_key"] = delivery.idempotency_key;
  if (!delivery.customer_id.empty()) out["customer_id"] = delivery.customer_id;
  connectors::put_delivery_content(out, delivery);
  return json::serialize(out);
}

Result<Delivery> delivery_from_json(std::string_view text) {
  boost::system::error_code failed;
  const json::value parsed = json::parse(text, failed);
  if (failed) return Error{"payload", "is not JSON: " + failed.message()};
  if (!parsed.is_object()) return Error{"payload", "is not a JSON object"};
  const json::object& object = parsed.get_object();
  Reader top(object, "payload");
  Delivery delivery;
  if (auto key = top.string("idempotency_key"); !key) {
    return key.error();
  } else {
    delivery.idempotency_key = std::move(*key);
  }
  if (auto customer = top.string("customer_id", false); !customer) {
    return customer.error();
  } else {
    delivery.customer_id = std::move(*customer);
  }
  const json::value* email = object.if_contains("email");
  const json::value* crm = object.if_contains("crm");
  const json::value* alert = object.if_contains("alert");
  if ((email != nullptr) + (crm != nullptr) + (alert != nullptr) != 1) {
    return Error{"payload", "needs exactly one of \"email\", \"crm\" and \"alert\""};
  }
  if (email) {
    if (!email->is_object()) return Error{"payload.email", "is not an object"};
    auto message = read_email(Reader(email->get_object(), "payload.email"));
    if (!message) return message.error();
    delivery.content = std::move(*message);
  } else if (crm) {
    if (!crm->is_object()) return Error{"payload.crm", "is not an object"};
    auto activity = read_crm(Reader(crm->get_object(), "payload.crm"));
    if (!activity) return activity.error();
    delivery.content = std::move(*activity);
  } else {
    if (!alert->is_object()) return Error{"payload.alert", "is not an object"};
    auto notice = read_alert(Reader(alert->get_object(), "payload.alert"));
    if (!notice) return notice.error();
    delivery.content = std::move(*notice);
  }
  return delivery;
}

}  // namespace relance::outbox
