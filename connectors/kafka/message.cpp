#include "connectors/kafka/message.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <string>

namespace relance::connectors::kafka {
namespace {

namespace json = boost::json;

constexpr std::string_view ce_prefix = "ce_";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// "application/json; charset=utf-8" -> "application/json".
std::string_view media_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return type;
}

bool is_json_media_type(std::string_view type) {
  if (iequals(type, "application/json") || iequals(type, "text/json")) return true;
  return type.size() > 5 && iequals(type.substr(type.size() - 5), "+json");
}

Result<core::Event> prefixed(Result<core::Event> parsed, std::string_view mode) {
  if (parsed) return parsed;
  return Error{parsed.error().field, std::string(mode) + " mode: " + parsed.error().message};
}

Result<core::Event> binary_event(std::string_view value, const std::vector<HeaderView>& headers,
                                 std::optional<std::string_view> content_type) {
  if (content_type && !is_json_media_type(media_type(*content_type))) {
    return Error{"content-type", "binary mode: data of type " + std::string(*content_type) +
                                     " is not JSON; canonical events carry JSON data"};
  }
  json::object envelope;
  for (const HeaderView& header : headers) {
    if (!header.name.starts_with(ce_prefix)) continue;
    const std::string attribute(header.name.substr(ce_prefix.size()));
    if (attribute.empty() || attribute == "data" || attribute == "datacontenttype") {
      return Error{std::string(header.name), "binary mode: not a CloudEvents attribute header"};
    }
    if (!header.value) {
      return Error{std::string(header.name), "binary mode: the header has no value"};
    }
    if (envelope.contains(attribute)) {
      return Error{std::string(header.name), "binary mode: the header appears twice"};
    }
    envelope[attribute] = json::string(*header.value);
  }
  json::error_code ec;
  json::value data = json::parse(value, ec);
  if (ec) {
    return Error{"data", "binary mode: the message value is not JSON: " + ec.message()};
  }
  envelope["datacontenttype"] = content_type ? json::string(*content_type) : "application/json";
  envelope["data"] = std::move(data);
  return prefixed(core::parse_event(json::serialize(envelope)), "binary");
}

}  // namespace

Result<core::Event> event_from_message(std::string_view value,
                                       const std::vector<HeaderView>& headers) {
  std::optional<std::string_view> content_type;
  bool has_specversion = false;
  for (const HeaderView& header : headers) {
    if (iequals(header.name, "content-type") && header.value) content_type = header.value;
    if (header.name == "ce_specversion") has_specversion = true;
  }
  // The binding: a content-type of application/cloudevents... means structured mode; else
  // ce_specversion means binary mode. A message with neither is read as structured, which is
  // what most producers that write JSON envelopes send.
  if (content_type) {
    const std::string_view type = media_type(*content_type);
    if (iequals(type, "application/cloudevents+json")) {
      return prefixed(core::parse_event(value), "structured");
    }
    if (type.size() >= 23 && iequals(type.substr(0, 23), "application/cloudevents")) {
      return Error{"content-type", "structured mode: " + std::string(type) +
                                       " is not supported; send one event per message as "
                                       "application/cloudevents+json"};
    }
  }
  if (has_specversion) return binary_event(value, headers, content_type);
  return prefixed(core::parse_event(value), "structured");
}

}  // namespace relance::connectors::kafka
