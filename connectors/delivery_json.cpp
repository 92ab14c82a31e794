#include "connectors/delivery_json.hpp"

#include <boost/json.hpp>

#include <type_traits>

#include "core/date.hpp"

namespace relance::connectors {
namespace {

namespace json = boost::json;

json::array string_array(const std::vector<std::string>& values) {
  json::array array;
  array.reserve(values.size());
  for (const auto& value : values) array.emplace_back(value);
  return array;
}

}  // namespace

void put_delivery_content(json::object& out, const Delivery& delivery) {
  std::visit(
      [&](const auto& content) {
        using T = std::decay_t<decltype(content)>;
        json::object body;
        if constexpr (std::is_same_v<T, EmailMessage>) {
          body["from"] = content.from;
          body["reply_to"] = content.reply_to;
          body["to"] = string_array(content.to);
          body["cc"] = string_array(content.cc);
          body["subject"] = content.subject;
          body["text"] = content.text;
          body["html"] = content.html;
          body["date"] = core::format_timestamp(content.date);
          out["email"] = std::move(body);
        } else if constexpr (std::is_same_v<T, AlertNotice>) {
          body["id"] = content.alert_id;
          body["kind"] = content.kind;
          body["severity"] = content.severity;
          body["status"] = content.status;
          body["customer_id"] = content.customer_id;
          body["invoice_ids"] = string_array(content.invoice_ids);
          body["message"] = content.message;
          body["at"] = core::format_timestamp(content.at);
          out["alert"] = std::move(body);
        } else {
          static_assert(std::is_same_v<T, CrmActivity>);
          body["kind"] = content.kind == CrmActivity::Kind::task ? "task" : "note";
          body["customer_id"] = content.customer_id;
          body["customer_name"] = content.customer_name;
          body["crm_id"] = content.crm_id;
          body["subject"] = content.subject;
          body["body"] = content.body;
          if (content.due_date) {
            body["due_date"] = core::format_date(*content.due_date);
          } else {
            body["due_date"] = nullptr;
          }
          body["invoice_ids"] = string_array(content.invoice_ids);
          out["crm"] = std::move(body);
        }
      },
      delivery.content);
}

}  // namespace relance::connectors
