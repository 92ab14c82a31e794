#include "connectors/crm/rest/rest_sink.hpp"

#include <boost/json.hpp>
#include <kainjow/mustache.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <variant>

#include "connectors/internal/curl.hpp"
#include "core/html.hpp"

namespace relance::connectors {
namespace {

namespace json = boost::json;
using Outcome = SinkAnswer::Outcome;

constexpr std::string_view hubspot_default_base = "https://api.hubapi.com";
constexpr std::string_view pipedrive_default_base = "https://api.pipedrive.com";

constexpr std::array<std::string_view, 11> template_values = {"kind",
                                                              "customer_id",
                                                              "customer_name",
                                                              "crm_id",
                                                              "subject",
                                                              "body",
                                                              "due_date",
                                                              "invoice_ids",
                                                              "idempotency_key",
                                                              "activity_timestamp",
                                                              "activity_timestamp_ms"};
constexpr std::array<std::string_view, 4> template_sections = {"has_crm_id", "has_due_date",
                                                               "is_task", "is_note"};

bool contains(auto const& list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

bool has_line_break(std::string_view text) {
  return text.find_first_of("\r\n") != std::string_view::npos;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

// Every tag must be a known variable or section, escaped: the renderer then cannot let a value
// break out of its JSON string or URL component. Delimiter changes and partials would hide tags
// from this check, so they are refused too.
Result<void> check_template(std::string_view text) {
  std::size_t position = 0;
  while ((position = text.find("{{", position)) != std::string_view::npos) {
    const std::size_t close = text.find("}}", position + 2);
    if (close == std::string_view::npos) return Error{"", "has an unclosed {{"};
    std::string_view tag = trim(text.substr(position + 2, close - position - 2));
    position = close + 2;
    if (tag.empty()) return Error{"", "has an empty tag {{}}"};
    const char sigil = tag.front();
    if (sigil == '!') continue;  // comment
    if (sigil == '{' || sigil == '&') {
      return Error{"", "uses an unescaped tag {{" + std::string(tag) +
                           "}}: values are always escaped, write {{name}}"};
    }
    if (sigil == '=' || sigil == '>' || sigil == '<') {
      return Error{"", "uses {{" + std::string(tag) +
                           "}}: delimiter changes and partials are not supported"};
    }
    if (sigil == '#' || sigil == '^' || sigil == '/') {
      const std::string_view name = trim(tag.substr(1));
      if (!contains(template_sections, name)) {
        return Error{"", "has an unknown section {{" + std::string(tag) +
                             "}} (known: has_crm_id, has_due_date, is_task, is_note)"};
      }
      continue;
    }
    if (!contains(template_values, tag)) {
      return Error{"", "has an unknown variable {{" + std::string(tag) +
                           "}} (known: kind, customer_id, customer_name, crm_id, subject, body, "
                           "due_date, invoice_ids, idempotency_key, activity_timestamp, "
                           "activity_timestamp_ms)"};
    }
  }
  return {};
}

std::string json_escape(const std::string& value) {
  std::string quoted = json::serialize(json::string(value));
  return quoted.substr(1, quoted.size() - 2);
}

// RFC 3986 unreserved characters stay, everything else is percent-encoded.
std::string url_escape(const std::string& value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[byte >> 4];
      out += hex[byte & 0x0f];
    }
  }
  return out;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += separator;
    out += items[i];
  }
  return out;
}

core::Timestamp activity_instant(const CrmActivity& activity, core::Timestamp now) {
  if (activity.kind == CrmActivity::Kind::task && activity.due_date) {
    return core::Timestamp(core::to_sys_days(*activity.due_date));
  }
  return std::chrono::floor<std::chrono::seconds>(now);
}

std::string activity_timestamp(const CrmActivity& activity, core::Timestamp now) {
  return core::format_timestamp(activity_instant(activity, now));
}

std::int64_t activity_timestamp_ms(const CrmActivity& activity, core::Timestamp now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             activity_instant(activity, now).time_since_epoch())
      .count();
}

std::string kind_name(CrmActivity::Kind kind) {
  return kind == CrmActivity::Kind::task ? "task" : "note";
}

std::string render(const std::string& text, const kainjow::mustache::data& data,
                   std::string (*escape)(const std::string&)) {
  kainjow::mustache::mustache view(text);
  view.set_custom_escape(escape);
  return view.render(data);
}

// The activity's body as HTML (HubSpot and Pipedrive store rich text), with the invoice ids
// appended so the CRM user sees what the action is about.
std::string html_body(const CrmActivity& activity) {
  std::string text = activity.body;
  if (!activity.invoice_ids.empty()) {
    text +=
        (text.empty() ? "" : "\n\n") + std::string("Invoices: ") + join(activity.invoice_ids, ", ");
  }
  return core::html_from_text(text);
}

// HubSpot CRM v3 objects API: POST /crm/v3/objects/tasks and /crm/v3/objects/notes with
// `properties` and `associations` (developers.hubspot.com, "Activities | Tasks" and "Notes").
// HUBSPOT_DEFINED association type ids: task->contact 204, task->company 192, note->contact 202,
// note->company 190.
Result<HttpRequest> hubspot_request(const RestSinkOptions& options, const CrmActivity& activity,
                                    core::Timestamp now) {
  const std::string base =
      options.base_url.empty() ? std::string(hubspot_default_base) : options.base_url;
  const bool task = activity.kind == CrmActivity::Kind::task;
  json::object properties;
  properties["hs_timestamp"] = activity_timestamp(activity, now);
  if (task) {
    properties["hs_task_subject"] = activity.subject;
    properties["hs_task_body"] = html_body(activity);
    properties["hs_task_status"] = "NOT_STARTED";
    properties["hs_task_type"] = "TODO";
  } else {
    const std::string subject =
        activity.subject.empty()
            ? std::string()
            : "<strong>" + core::html_from_text(activity.subject) + "</strong><br>";
    properties["hs_note_body"] = subject + html_body(activity);
  }
  json::object body;
  body["properties"] = std::move(properties);
  if (!activity.crm_id.empty()) {
    const bool company = options.hubspot_association == HubspotAssociation::company;
    const int type_id = task ? (company ? 192 : 204) : (company ? 190 : 202);
    json::object association;
    association["to"] = json::object{{"id", activity.crm_id}};
    association["types"] = json::array{
        json::object{{"associationCategory", "HUBSPOT_DEFINED"}, {"associationTypeId", type_id}}};
    body["associations"] = json::array{std::move(association)};
  }
  HttpRequest request;
  request.method = "POST";
  request.url = base + (task ? "/crm/v3/objects/tasks" : "/crm/v3/objects/notes");
  request.body = json::serialize(body);
  return request;
}

// Pipedrive API v1: POST /v1/activities (subject, type, due_date, note, org_id) and POST
// /v1/notes (content, org_id), authenticated by the api_token query parameter
// (developers.pipedrive.com, "Activities: Add an activity", "Notes: Add a note").
Result<HttpRequest> pipedrive_request(const RestSinkOptions& options, const CrmActivity& activity) {
  const std::string base =
      options.base_url.empty() ? std::string(pipedrive_default_base) : options.base_url;
  std::optional<std::int64_t> org_id;
  if (!activity.crm_id.empty()) {
    const bool digits = activity.crm_id.size() <= 18 &&
                        std::all_of(activity.crm_id.begin(), activity.crm_id.end(),
                                    [](unsigned char c) { return std::isdigit(c); });
    if (!digits) {
      return Error{"crm_id",
                   "\"" + activity.crm_id + "\" is not a Pipedrive organization id (a number)"};
    }
    org_id = std::stoll(activity.crm_id);
  }
  const bool task = activity.kind == CrmActivity::Kind::task;
  json::object body;
  if (task) {
    body["subject"] = activity.subject;
    body["type"] = options.pipedrive_activity_type;
    body["note"] = html_body(activity);
    if (activity.due_date) body["due_date"] = core::format_date(*activity.due_date);
  } else {
    if (!org_id) {
      return Error{"crm_id", "is empty: a Pipedrive note must be attached to an organization"};
    }
    const std::string subject = activity.subject.empty()
                                    ? std::string()
                                    : "<b>" + core::html_from_text(activity.subject) + "</b><br>";
    body["content"] = subject + html_body(activity);
  }
  if (org_id) body["org_id"] = *org_id;
  HttpRequest request;
  request.method = "POST";
  request.url =
      base + (task ? "/v1/activities" : "/v1/notes") + "?api_token=" + url_escape(options.token);
  request.body = json::serialize(body);
  return request;
}

Result<HttpRequest> generic_request(const RestSinkOptions& options, const CrmActivity& activity,
                                    std::string_view key, core::Timestamp now) {
  const bool task = activity.kind == CrmActivity::Kind::task;
  const std::optional<RequestTemplate>& spec = task ? options.task_request : options.note_request;
  if (!spec) {
    return Error{"kind",
                 "this CRM sink has no request template for " + kind_name(activity.kind) + "s"};
  }
  kainjow::mustache::data data;
  data.set("kind", kind_name(activity.kind));
  data.set("customer_id", activity.customer_id);
  data.set("customer_name", activity.customer_name);
  data.set("crm_id", activity.crm_id);
  data.set("subject", activity.subject);
  data.set("body", activity.body);
  data.set("due_date", activity.due_date ? core::format_date(*activity.due_date) : std::string());
  data.set("invoice_ids", join(activity.invoice_ids, ", "));
  data.set("idempotency_key", std::string(key));
  data.set("activity_timestamp", activity_timestamp(activity, now));
  data.set("activity_timestamp_ms", std::to_string(activity_timestamp_ms(activity, now)));
  data.set("has_crm_id", !activity.crm_id.empty());
  data.set("has_due_date", activity.due_date.has_value());
  data.set("is_task", task);
  data.set("is_note", !task);
  HttpRequest request;
  request.method = spec->method;
  request.url = render(spec->url, data, &url_escape);
  request.body = render(spec->body, data, &json_escape);
  json::error_code error;
  (void)json::parse(request.body, error);
  if (error) {
    return Error{"body", "the " + kind_name(activity.kind) +
                             " body template did not render to JSON (" + error.message() + ")"};
  }
  return request;
}

Result<void> check_url_prefix(std::string_view url, std::string_view field) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Error{std::string(field), "must start with http:// or https://"};
  }
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) {
    return Error{std::string(field), "must not contain spaces or line breaks"};
  }
  return {};
}

Result<void> check_request_template(const RequestTemplate& spec, std::string_view field) {
  const std::string prefix(field);
  if (spec.method != "POST" && spec.method != "PUT" && spec.method != "PATCH") {
    return Error{prefix + ".method", "\"" + spec.method + "\" is not POST, PUT or PATCH"};
  }
  if (Result<void> checked = check_template(spec.url); !checked) {
    return checked.error().within(prefix + ".url");
  }
  if (Result<void> checked = check_template(spec.body); !checked) {
    return checked.error().within(prefix + ".body");
  }
  if (Result<void> checked = check_url_prefix(spec.url, prefix + ".url"); !checked) {
    return checked.error();
  }
  return {};
}

struct ResponseCapture {
  std::size_t body_bytes_max = 0;
  std::string body;
  bool body_truncated = false;
  std::string status_line;
  std::optional<std::string> retry_after;
};

size_t capture_body(char* data, size_t size, size_t count, void* user) {
  auto* capture = static_cast<ResponseCapture*>(user);
  const std::size_t n = size * count;
  const std::size_t room = capture->body_bytes_max - capture->body.size();
  capture->body.append(data, std::min(n, room));
  if (n > room) {
    // Stop reading: the status is known and the start of the body is enough for an operator.
    capture->body_truncated = true;
    return 0;
  }
  return n;
}

size_t capture_header(char* data, size_t size, size_t count, void* user) {
  auto* capture = static_cast<ResponseCapture*>(user);
  const std::string_view line = trim(std::string_view(data, size * count));
  if (line.rfind("HTTP/", 0) == 0) {
    // A new response (after a 100 Continue): forget the previous one's headers.
    capture->status_line = std::string(line.substr(0, 256));
    capture->retry_after.reset();
  } else if (const std::size_t colon = line.find(':'); colon != std::string_view::npos) {
    if (lower(trim(line.substr(0, colon))) == "retry-after") {
      capture->retry_after = std::string(trim(line.substr(colon + 1)).substr(0, 128));
    }
  }
  return size * count;
}

class RestSink final : public Sink {
 public:
  explicit RestSink(RestSinkOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = &system_clock_;
  }

  std::string_view name() const override { return "crm.rest"; }
  // Every request carries the Idempotency-Key header: the CRM (or a proxy in front of it)
  // drops a second copy.
  bool redelivery_safe() const override { return true; }

  SinkAnswer deliver(const Delivery& delivery) override {
    try {
      return deliver_or_throw(delivery);
    } catch (const std::exception& error) {
      // Only allocation failures can get here; a later attempt may have the memory.
      return {Outcome::retry, std::nullopt, std::string("internal error: ") + error.what()};
    }
  }

 private:
  SinkAnswer deliver_or_throw(const Delivery& delivery) {
    const core::Timestamp now = options_.clock->now();
    Result<HttpRequest> request = build_crm_request(options_, delivery, now);
    if (!request) {
      return {Outcome::rejected, std::nullopt,
              "request cannot be built: " + request.error().to_string()};
    }
    if (request->body.size() > options_.request_body_bytes_max) {
      return {Outcome::rejected, std::nullopt,
              "request body is " + std::to_string(request->body.size()) +
                  " bytes, above request_body_bytes_max " +
                  std::to_string(options_.request_body_bytes_max)};
    }
    internal::CurlEasy curl = internal::make_curl_easy();
    internal::CurlList headers;
    bool listed = curl != nullptr;
    for (const auto& [name, value] : request->headers) {
      listed = listed && headers.append(name + ": " + value);
    }
    // No "Expect: 100-continue" round trip: bodies are small.
    listed = listed && headers.append("Expect:");
    if (!listed) return {Outcome::retry, std::nullopt, "out of memory preparing the request"};

    ResponseCapture capture;
    capture.body_bytes_max = options_.response_body_bytes_max;
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, request->url.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    if (!options_.ca_file.empty())
      curl_easy_setopt(handle, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request->method.c_str());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request->body.data());
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request->body.size()));
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
    if (options_.preset == CrmPreset::generic && options_.auth == HttpAuth::basic) {
      curl_easy_setopt(handle, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(handle, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(handle, CURLOPT_PASSWORD, options_.password.c_str());
    }
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &capture_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &capture);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, &capture_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &capture);

    const CURLcode code = curl_easy_perform(handle);
    long status = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    const bool complete = code == CURLE_OK || (code == CURLE_WRITE_ERROR && capture.body_truncated);
    if (!complete || status == 0) {
      return {Outcome::retry, std::nullopt,
              "HTTP transport error: " + internal::curl_error_text(code, error_buffer)};
    }
    std::string detail =
        capture.status_line.empty() ? "HTTP " + std::to_string(status) : capture.status_line;
    if (!capture.body.empty()) detail += ": " + capture.body;
    if (capture.body_truncated) detail += " [body cut at response_body_bytes_max]";
    if (status >= 200 && status < 300) return {Outcome::delivered, std::nullopt, detail};
    if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
      std::optional<std::chrono::seconds> retry_after;
      if (capture.retry_after) {
        retry_after = parse_retry_after(*capture.retry_after, options_.clock->now(),
                                        options_.retry_after_max);
      }
      return {Outcome::retry, retry_after, detail};
    }
    return {Outcome::rejected, std::nullopt, detail};
  }

  RestSinkOptions options_;
  core::SystemClock system_clock_;
};

}  // namespace

Result<HttpRequest> build_crm_request(const RestSinkOptions& options, const Delivery& delivery,
                                      core::Timestamp now) {
  const auto* activity = std::get_if<CrmActivity>(&delivery.content);
  if (activity == nullptr)
    return Error{"content", "crm.rest delivers CRM activities only, not emails or alerts"};
  if (delivery.idempotency_key.empty() || has_line_break(delivery.idempotency_key)) {
    return Error{"idempotency_key", "is empty or has a line break"};
  }
  Result<HttpRequest> request = Error{};
  switch (options.preset) {
    case CrmPreset::generic:
      request = generic_request(options, *activity, delivery.idempotency_key, now);
      break;
    case CrmPreset::hubspot:
      request = hubspot_request(options, *activity, now);
      break;
    case CrmPreset::pipedrive:
      request = pipedrive_request(options, *activity);
      break;
  }
  if (!request) return request;
  request->headers.emplace_back("Content-Type", "application/json");
  request->headers.emplace_back("Accept", "application/json");
  request->headers.emplace_back("Idempotency-Key", delivery.idempotency_key);
  const bool bearer = options.preset == CrmPreset::hubspot ||
                      (options.preset == CrmPreset::generic && options.auth == HttpAuth::bearer);
  if (bearer) request->headers.emplace_back("Authorization", "Bearer " + options.token);
  for (const auto& header : options.headers) request->headers.push_back(header);
  if (Result<void> checked = check_url_prefix(request->url, "url"); !checked) {
    return checked.error();
  }
  return request;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, core::Timestamp now,
                                                      std::chrono::seconds max) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (value.size() > 9) return max;
    return std::min(std::chrono::seconds(std::stoll(std::string(value))), max);
  }
  const time_t date = curl_getdate(std::string(value).c_str(), nullptr);
  if (date == -1) return std::nullopt;
  const auto delay =
      std::chrono::seconds(date) - std::chrono::floor<std::chrono::seconds>(now).time_since_epoch();
  return std::clamp(delay, std::chrono::seconds::zero(), max);
}

Result<std::unique_ptr<Sink>> make_rest_sink(const RestSinkOptions& options) {
  switch (options.preset) {
    case CrmPreset::generic:
      if (!options.task_request && !options.note_request) {
        return Error{"task_request", "a generic CRM sink needs a task or a note request template"};
      }
      if (options.task_request) {
        if (Result<void> checked = check_request_template(*options.task_request, "task_request");
            !checked) {
          return checked.error();
        }
      }
      if (options.note_request) {
        if (Result<void> checked = check_request_template(*options.note_request, "note_request");
            !checked) {
          return checked.error();
        }
      }
      if (options.auth == HttpAuth::bearer && options.token.empty()) {
        return Error{"token", "is empty but auth is bearer"};
      }
      if (options.auth == HttpAuth::basic && options.username.empty()) {
        return Error{"username", "is empty but auth is basic"};
      }
      break;
    case CrmPreset::hubspot:
    case CrmPreset::pipedrive:
      if (options.task_request || options.note_request) {
        return Error{"preset",
                     "a preset builds its own requests: remove task_request/note_request"};
      }
      if (options.token.empty()) {
        return Error{"token", options.preset == CrmPreset::hubspot
                                  ? "is empty: HubSpot needs a private app access token"
                                  : "is empty: Pipedrive needs an api_token"};
      }
      if (!options.base_url.empty()) {
        if (Result<void> checked = check_url_prefix(options.base_url, "base_url"); !checked) {
          return checked.error();
        }
      }
      if (options.preset == CrmPreset::pipedrive && options.pipedrive_activity_type.empty()) {
        return Error{"pipedrive_activity_type", "is empty"};
      }
      break;
  }
  for (const std::string* secret : {&options.token, &options.username, &options.password}) {
    if (has_line_break(*secret)) return Error{"token", "credentials must not contain line breaks"};
  }
  for (const auto& [name, value] : options.headers) {
    const bool token_name =
        !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
          return std::isalnum(c) ||
                 std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
        });
    if (!token_name) return Error{"headers", "\"" + name + "\" is not a header name"};
    if (has_line_break(value)) return Error{"headers." + name, "must not contain a line break"};
  }
  if (options.connect_timeout <= std::chrono::milliseconds::zero()) {
    return Error{"connect_timeout", "must be above 0"};
  }
  if (options.total_timeout < options.connect_timeout) {
    return Error{"total_timeout", "must be at least connect_timeout"};
  }
  if (options.request_body_bytes_max == 0 || options.response_body_bytes_max == 0) {
    return Error{"response_body_bytes_max", "body limits must be above 0"};
  }
  return std::unique_ptr<Sink>(std::make_unique<RestSink>(options));
}

}  // namespace relance::connectors
