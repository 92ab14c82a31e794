#include "http/api.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <memory>
#include <optional>

#include "state/views_on_read.hpp"

namespace relance::http {
namespace {

namespace json = boost::json;

constexpr std::size_t problem_errors_max = 100;  // a batch of 10,000 bad events: a readable body

enum class Mode { structured, batch, binary };

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

// "application/cloudevents+json; charset=utf-8" -> "application/cloudevents+json".
std::string_view media_type(std::string_view content_type) {
  const auto semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return type;
}

bool is_json_text(std::string_view text) {
  json::error_code ec;
  json::stream_parser parser;
  parser.write(text.data(), text.size(), ec);
  if (!ec) parser.finish(ec);
  return !ec;
}

// parse_event_batch locates errors as "[3].data.amount"; the problem body wants index and field
// apart.
ProblemError split_error(const Error& error, std::int64_t default_index) {
  ProblemError out{default_index, error.field, error.message};
  const std::string& field = error.field;
  if (field.size() > 2 && field.front() == '[') {
    const auto close = field.find(']');
    if (close != std::string::npos && close > 1) {
      std::int64_t index = 0;
      bool digits = true;
      for (std::size_t i = 1; i < close; ++i) {
        if (!std::isdigit(static_cast<unsigned char>(field[i]))) {
          digits = false;
          break;
        }
        index = index * 10 + (field[i] - '0');
      }
      if (digits) {
        out.index = index;
        std::size_t rest = close + 1;
        if (rest < field.size() && field[rest] == '.') ++rest;
        out.field = field.substr(rest);
      }
    }
  }
  return out;
}

Response json_response(unsigned status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = "application/json";
  response.body = std::move(body);
  return response;
}

Response method_not_allowed(std::string_view allow) {
  Response response = problem(405, "method-not-allowed", "Method Not Allowed",
                              "this resource answers " + std::string(allow));
  response.allow = std::string(allow);
  return response;
}

}  // namespace

std::string_view route_label(Route route) {
  switch (route) {
    case Route::events_post:
      return "/v1/events";
    case Route::event_get:
      return "/v1/events/{source}/{id}";
    case Route::livez:
      return "/livez";
    case Route::readyz:
      return "/readyz";
    case Route::metrics:
      return "/metrics";
    case Route::receivable_get:
      return "/v1/receivables/{invoice_id}";
    case Route::customer_get:
      return "/v1/customers/{customer_id}";
    case Route::alerts_get:
      return "/v1/alerts";
    case Route::outbox_list:
      return "/v1/outbox";
    case Route::outbox_retry:
      return "/v1/outbox/{id}/retry";
    case Route::unmatched:
      return "unmatched";
  }
  return "unmatched";
}

Response problem(unsigned status, std::string_view slug, std::string_view title,
                 std::string_view detail, const std::vector<ProblemError>& errors) {
  json::object body;
  body["type"] = "urn:relance:problem:" + std::string(slug);
  body["title"] = title;
  body["status"] = status;
  body["detail"] = detail;
  if (!errors.empty()) {
    json::array list;
    for (const ProblemError& error : errors) {
      json::object item;
      if (error.index >= 0) item["index"] = error.index;
      item["field"] = error.field;
      item["message"] = error.message;
      list.emplace_back(std::move(item));
    }
    body["errors"] = std::move(list);
  }
  Response response;
  response.status = status;
  response.content_type = "application/problem+json";
  response.body = json::serialize(body);
  return response;
}

Api::Api(store::Store& store, ingest::Writer& writer, const state::ViewsOnRead& views,
         metrics::Registry& metrics, ApiLimits limits)
    : store_(store), writer_(writer), views_(views), metrics_(metrics), limits_(limits) {
  for (std::size_t r = 0; r < route_count; ++r) {
    durations_[r] = &metrics_.histogram("relance_http_request_duration_seconds",
                                        "Time from a request read whole to its answer, by route.",
                                        metrics::latency_buckets_seconds(),
                                        {{"route", std::string(route_label(Route(r)))}});
  }
  static constexpr std::array<std::string_view, 3> outcomes{"accepted", "duplicate", "rejected"};
  for (int t = 0; t <= core::event_type_count; ++t) {
    const std::string type = t < core::event_type_count
                                 ? std::string(core::event_type_name(core::EventType(t)))
                                 : std::string("unknown");
    for (std::size_t o = 0; o < outcomes.size(); ++o) {
      // An unknown type is only ever rejected.
      if (t == core::event_type_count && o != 2) continue;
      events_[t][o] = &metrics_.counter("relance_events_total",
                                        "Events received over HTTP, by type and outcome.",
                                        {{"type", type}, {"outcome", std::string(outcomes[o])}});
    }
  }
}

Route Api::route_of(std::string_view target) {
  if (target == "/v1/events") return Route::events_post;
  if (target == "/livez") return Route::livez;
  if (target == "/readyz") return Route::readyz;
  if (target == "/metrics") return Route::metrics;
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return Route::unmatched;
  const auto segments = url->segments();
  std::vector<std::string> parts(segments.begin(), segments.end());
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "events") return Route::events_post;
  if (parts.size() == 4 && parts[0] == "v1" && parts[1] == "events") return Route::event_get;
  if (parts.size() == 1 && parts[0] == "livez") return Route::livez;
  if (parts.size() == 1 && parts[0] == "readyz") return Route::readyz;
  if (parts.size() == 1 && parts[0] == "metrics") return Route::metrics;
  if (parts.size() == 3 && parts[0] == "v1" && parts[1] == "receivables") {
    return Route::receivable_get;
  }
  if (parts.size() == 3 && parts[0] == "v1" && parts[1] == "customers") {
    return Route::customer_get;
  }
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "alerts") return Route::alerts_get;
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "outbox") return Route::outbox_list;
  if (parts.size() == 4 && parts[0] == "v1" && parts[1] == "outbox" && parts[3] == "retry") {
    return Route::outbox_retry;
  }
  return Route::unmatched;
}

metrics::Counter& Api::http_counter(Route route, unsigned status) {
  const auto r = static_cast<std::size_t>(route);
  const metrics::Labels labels{{"route", std::string(route_label(route))},
                               {"code", std::to_string(status)}};
  for (std::size_t i = 0; i < common_statuses_.size(); ++i) {
    if (common_statuses_[i] != status) continue;
    metrics::Counter* counter = http_counters_[r][i].load(std::memory_order_acquire);
    if (counter == nullptr) {
      // Two threads may race here; the registry returns the same instrument to both.
      counter = &metrics_.counter("relance_http_requests_total",
                                  "HTTP requests, by route and status.", labels);
      http_counters_[r][i].store(counter, std::memory_order_release);
    }
    return *counter;
  }
  return metrics_.counter("relance_http_requests_total", "HTTP requests, by route and status.",
                          labels);
}

void Api::record(Route route, unsigned status, std::chrono::steady_clock::time_point start) {
  http_counter(route, status).inc();
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  durations_[static_cast<std::size_t>(route)]->observe(elapsed.count());
}

Response Api::transport_error(std::string_view target, unsigned status, std::string_view title,
                              std::string_view detail) {
  Response response =
      problem(status, status == 413 ? "body-too-large" : "bad-request", title, detail);
  http_counter(route_of(target), status).inc();
  return response;
}

void Api::handle(Request request, Reply reply) {
  const auto start = std::chrono::steady_clock::now();
  const Route route = route_of(request.target);
  auto answer = [this, route, start, reply = std::move(reply)](Response response) {
    record(route, response.status, start);
    reply(std::move(response));
  };
  switch (route) {
    case Route::events_post:
      if (request.method != Method::post) return answer(method_not_allowed("POST"));
      return post_events(std::move(request), std::move(answer));
    case Route::event_get:
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      return answer(get_event(request.target));
    case Route::livez:
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      return answer(json_response(200, R"({"status":"live"})"));
    case Route::readyz:
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      return answer(readyz());
    case Route::metrics: {
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      Response response;
      response.content_type = "text/plain; version=0.0.4; charset=utf-8";
      response.body = metrics_.render();
      return answer(std::move(response));
    }
    case Route::receivable_get:
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      return answer(get_receivable(request.target));
    case Route::customer_get:
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      return answer(get_customer(request.target));
    case Route::alerts_get:
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      return answer(get_alerts(request.target));
    case Route::outbox_list:
      if (request.method != Method::get) return answer(method_not_allowed("GET"));
      return answer(get_outbox(request.target));
    case Route::outbox_retry:
      if (request.method != Method::post) return answer(method_not_allowed("POST"));
      return answer(retry_outbox(request.target));
    case Route::unmatched:
      return answer(problem(
          404, "not-found", "Not Found",
          "no resource at " + request.target + "; see schemas/openapi.yaml for the routes"));
  }
}

Response Api::readyz() {
  if (!writer_.running()) {
    return problem(503, "not-ready", "Service Unavailable", "the event writer is not running");
  }
  if (auto ping = store_.ping(); !ping) {
    return problem(503, "not-ready", "Service Unavailable",
                   "the store does not answer: " + ping.error().to_string());
  }
  if (readiness_check_) {
    if (auto reason = readiness_check_()) {
      return problem(503, "not-ready", "Service Unavailable", *reason);
    }
  }
  return json_response(200, R"({"status":"ready"})");
}

Response Api::get_event(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  RELANCE_ASSERT(url.has_value());  // route_of matched it
  const auto segments = url->segments();
  auto it = segments.begin();
  std::advance(it, 2);
  const std::string source = *it++;
  const std::string id = *it;
  auto found = store_.find_event(source, id);
  if (!found) {
    return problem(500, "store-error", "Internal Server Error",
                   "the store could not be read: " + found.error().to_string());
  }
  if (!found->has_value()) {
    return problem(404, "event-not-found", "Not Found",
                   "no event with source \"" + source + "\" and id \"" + id + "\"");
  }
  Response response;
  response.content_type = "application/cloudevents+json";
  response.body = std::move((*found)->json);
  return response;
}

namespace {

constexpr std::size_t alerts_page_default = 100;
constexpr std::size_t alerts_page_max = 1000;

// The last path segment, percent-decoded ("/v1/receivables/INV%2F42" -> "INV/42").
std::string last_segment(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  RELANCE_ASSERT(url.has_value());  // route_of matched it
  const auto segments = url->segments();
  return std::string(segments.back());
}

Response store_error(const Error& error) {
  return problem(500, "store-error", "Internal Server Error",
                 "the store could not be read: " + error.to_string());
}

}  // namespace

Response Api::get_receivable(std::string_view target) {
  const std::string id = last_segment(target);
  auto view = views_.receivable(id);
  if (!view) return store_error(view.error());
  if (!view->has_value()) {
    return problem(404, "receivable-not-found", "Not Found",
                   "no receivable with invoice_id \"" + id + "\"");
  }
  return json_response(200, std::move(**view));
}

Response Api::get_customer(std::string_view target) {
  const std::string id = last_segment(target);
  // "" is the engine's bucket of money whose customer is not known yet, not a customer.
  auto view = id.empty() ? Result<std::optional<std::string>>(std::optional<std::string>())
                         : views_.customer(id);
  if (!view) return store_error(view.error());
  if (!view->has_value()) {
    return problem(404, "customer-not-found", "Not Found",
                   "no customer with customer_id \"" + id + "\"");
  }
  return json_response(200, std::move(**view));
}

Response Api::get_alerts(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  RELANCE_ASSERT(url.has_value());
  std::optional<store::AlertStatus> status;
  std::string after;
  std::size_t limit = alerts_page_default;
  for (const auto& param : url->params()) {
    if (param.key == "status") {
      if (param.value == "open") {
        status = store::AlertStatus::open;
      } else if (param.value == "resolved") {
        status = store::AlertStatus::resolved;
      } else {
        return problem(400, "bad-parameter", "Bad Request",
                       "status: \"" + std::string(param.value) +
                           "\" is not an alert status; use open or resolved");
      }
    } else if (param.key == "after") {
      after = param.value;
    } else if (param.key == "limit") {
      std::size_t value = 0;
      bool valid = !param.value.empty() && param.value.size() <= 6;
      for (const char c : param.value) {
        valid = valid && std::isdigit(static_cast<unsigned char>(c));
        if (valid) value = value * 10 + static_cast<std::size_t>(c - '0');
      }
      if (!valid || value < 1 || value > alerts_page_max) {
        return problem(400, "bad-parameter", "Bad Request",
                       "limit: \"" + std::string(param.value) + "\" is not a number from 1 to " +
                           std::to_string(alerts_page_max));
      }
      limit = value;
    }
  }
  auto alerts = store_.list_alerts(status, after, limit);
  if (!alerts) return store_error(alerts.error());
  json::array list;
  list.reserve(alerts->size());
  for (const store::AlertRow& row : *alerts) {
    json::error_code ec;
    json::value document = json::parse(row.json, ec);
    json::object item = !ec && document.is_object() ? std::move(document.as_object())
                                                    : json::object{{"id", row.id}};
    item["id"] = row.id;
    item["kind"] = row.kind;
    item["severity"] = row.severity;
    item["customer_id"] = row.customer_id;
    item["status"] = row.status == store::AlertStatus::open ? "open" : "resolved";
    item["raised_at"] = core::format_timestamp(row.raised_at);
    if (row.resolved_at) item["resolved_at"] = core::format_timestamp(*row.resolved_at);
    list.emplace_back(std::move(item));
  }
  json::object body;
  // A full page may have a next one: its cursor is the last id.
  if (alerts->size() == limit) body["next_after"] = alerts->back().id;
  body["alerts"] = std::move(list);
  return json_response(200, json::serialize(body));
}

namespace {

constexpr std::size_t outbox_page_default = 100;
constexpr std::size_t outbox_page_max = 1000;

// A decimal number of at most 18 digits (an outbox id, a page size), or nullopt.
std::optional<std::int64_t> small_number(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

Response outbox_store_error(const Error& error) {
  return problem(500, "store-error", "Internal Server Error",
                 "the outbox could not be read or written: " + error.to_string());
}

json::object outbox_action(const store::OutboxRow& row) {
  json::object item;
  item["id"] = row.id;
  item["idempotency_key"] = row.idempotency_key;
  item["sink"] = row.sink;
  item["customer_id"] = row.customer_id;
  json::array invoices;
  for (const auto& id : row.invoice_ids) invoices.emplace_back(id);
  item["invoice_ids"] = std::move(invoices);
  item["status"] = store::outbox_status_name(row.status);
  item["attempts"] = row.attempts;
  item["due_at"] = core::format_timestamp(row.due_at);
  item["next_attempt_at"] = core::format_timestamp(row.next_attempt_at);
  item["last_error"] = row.last_error;
  item["created_at"] = core::format_timestamp(row.created_at);
  item["updated_at"] = core::format_timestamp(row.updated_at);
  json::error_code ec;
  json::value delivery = json::parse(row.payload, ec);
  item["delivery"] = ec ? json::value(row.payload) : std::move(delivery);
  return item;
}

}  // namespace

Response Api::get_outbox(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  RELANCE_ASSERT(url.has_value());  // route_of matched it
  std::optional<store::OutboxStatus> status;
  std::int64_t after = 0;
  std::size_t limit = outbox_page_default;
  for (const auto& param : url->params()) {
    if (param.key == "status") {
      status = store::parse_outbox_status(param.value);
      if (!status) {
        return problem(400, "bad-parameter", "Bad Request",
                       "status: \"" + std::string(param.value) +
                           "\" is not an outbox status; use pending, sending, delivered, "
                           "dropped or dead");
      }
    } else if (param.key == "after") {
      const auto value = small_number(param.value);
      if (!value) {
        return problem(400, "bad-parameter", "Bad Request",
                       "after: \"" + std::string(param.value) +
                           "\" is not an outbox id (the next_after of the previous page)");
      }
      after = *value;
    } else if (param.key == "limit") {
      const auto value = small_number(param.value);
      if (!value || *value < 1 || *value > static_cast<std::int64_t>(outbox_page_max)) {
        return problem(400, "bad-parameter", "Bad Request",
                       "limit: \"" + std::string(param.value) + "\" is not a number from 1 to " +
                           std::to_string(outbox_page_max));
      }
      limit = static_cast<std::size_t>(*value);
    }
  }
  auto rows = store_.list_outbox(status, after, limit);
  if (!rows) return outbox_store_error(rows.error());
  json::array actions;
  actions.reserve(rows->size());
  for (const store::OutboxRow& row : *rows) actions.emplace_back(outbox_action(row));
  json::object body;
  // A full page may have a next one: its cursor is the last id.
  if (rows->size() == limit) body["next_after"] = rows->back().id;
  body["actions"] = std::move(actions);
  return json_response(200, json::serialize(body));
}

Response Api::retry_outbox(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  RELANCE_ASSERT(url.has_value());  // route_of matched it
  const auto segments = url->segments();
  const std::string id_text(*std::next(segments.begin(), 2));
  const auto id = small_number(id_text);
  auto not_found = [&] {
    return problem(404, "outbox-action-not-found", "Not Found",
                   "no outbox action with id \"" + id_text + "\"");
  };
  if (!id) return not_found();
  auto retried = store_.retry_outbox(*id, views_.clock().now());
  if (!retried) return outbox_store_error(retried.error());
  if (*retried == store::OutboxRetryOutcome::unknown) return not_found();
  auto row = store_.find_outbox(*id);
  if (!row) return outbox_store_error(row.error());
  if (!row->has_value()) return not_found();
  if (*retried == store::OutboxRetryOutcome::not_dead) {
    return problem(409, "outbox-action-not-dead", "Conflict",
                   "outbox action " + id_text + " is " +
                       std::string(store::outbox_status_name((*row)->status)) +
                       "; only a dead action is replayed");
  }
  return json_response(200, json::serialize(outbox_action(**row)));
}

void Api::count_rejected(const Request& request) {
  // Error path only: the body is parsed once more to label what was refused.
  auto& unknown = *events_[core::event_type_count][2];
  auto count_name = [&](std::string_view name) {
    if (auto parsed = core::event_type_from_name(name)) {
      events_[static_cast<std::size_t>(*parsed)][2]->inc();
    } else {
      unknown.inc();
    }
  };
  for (const auto& [name, header] : request.ce_headers) {
    if (name == "type") return count_name(header);
  }
  json::error_code ec;
  const json::value value = json::parse(request.body, ec);
  auto count_one = [&](const json::value& envelope) {
    const json::object* object = envelope.if_object();
    const json::value* type = object != nullptr ? object->if_contains("type") : nullptr;
    const json::string* name = type != nullptr ? type->if_string() : nullptr;
    count_name(name != nullptr ? std::string_view(*name) : std::string_view());
  };
  if (ec) {
    unknown.inc();
  } else if (const json::array* array = value.if_array()) {
    for (const json::value& element : *array) count_one(element);
    if (array->empty()) unknown.inc();
  } else {
    count_one(value);
  }
}

void Api::post_events(Request request, Reply reply) {
  const std::string_view type = media_type(request.content_type);
  Mode mode;
  if (iequals(type, "application/cloudevents+json")) {
    mode = Mode::structured;
  } else if (iequals(type, "application/cloudevents-batch+json")) {
    mode = Mode::batch;
  } else if (iequals(type, "application/json") && !request.ce_headers.empty()) {
    mode = Mode::binary;
  } else {
    count_rejected(request);
    return reply(problem(
        415, "unsupported-media-type", "Unsupported Media Type",
        "send application/cloudevents+json (one event), application/cloudevents-batch+json (a "
        "JSON array of events), or application/json with ce-id, ce-source, ce-type and "
        "ce-specversion headers (binary mode); got \"" +
            request.content_type + "\""));
  }

  std::string envelope_text;  // binary mode: the envelope built from the headers and the body
  std::string_view text = request.body;
  if (mode == Mode::binary) {
    json::error_code ec;
    json::value data = json::parse(request.body, ec);
    if (ec) {
      count_rejected(request);
      return reply(
          problem(400, "malformed-json", "Bad Request", "the body is not JSON: " + ec.message()));
    }
    json::object envelope;
    for (const auto& [name, value] : request.ce_headers) {
      // The CloudEvents HTTP binding percent-encodes header values.
      auto encoded = boost::urls::make_pct_string_view(value);
      if (!encoded) {
        count_rejected(request);
        return reply(problem(400, "bad-header", "Bad Request",
                             "header ce-" + name + ": invalid percent-encoding"));
      }
      envelope[name] = encoded->decode();
    }
    envelope["datacontenttype"] = "application/json";
    envelope["data"] = std::move(data);
    envelope_text = json::serialize(envelope);
    text = envelope_text;
  }

  Result<std::vector<core::Event>> parsed = mode == Mode::batch
                                                ? core::parse_event_batch(text)
                                                : [&]() -> Result<std::vector<core::Event>> {
    auto one = core::parse_event(text);
    if (!one) return one.error();
    std::vector<core::Event> events;
    events.push_back(std::move(one).value());
    return events;
  }();

  if (!parsed) {
    count_rejected(request);
    if (!is_json_text(text)) {
      return reply(problem(400, "malformed-json", "Bad Request",
                           "the body is not JSON: " + parsed.error().to_string()));
    }
    std::vector<ProblemError> errors;
    if (mode == Mode::batch) {
      // Report every bad event, not only the first; the batch is refused as a whole.
      json::error_code ec;
      const json::value value = json::parse(text, ec);
      if (const json::array* array = value.if_array()) {
        for (std::size_t i = 0; i < array->size() && errors.size() < problem_errors_max; ++i) {
          auto one = core::parse_event(json::serialize((*array)[i]));
          if (!one) errors.push_back(split_error(one.error(), static_cast<std::int64_t>(i)));
        }
      }
      if (errors.empty()) errors.push_back(split_error(parsed.error(), -1));
    } else {
      errors.push_back(split_error(parsed.error(), 0));
    }
    const std::string detail =
        mode == Mode::batch
            ? "the batch was refused as a whole, nothing was stored: " + parsed.error().to_string()
            : "the event was refused: " + parsed.error().to_string();
    return reply(problem(422, "invalid-event", "Unprocessable Content", detail, errors));
  }

  std::vector<core::Event>& events = *parsed;
  if (events.empty()) return reply(json_response(200, R"({"events":[]})"));
  if (events.size() > limits_.request_events_max) {
    count_rejected(request);
    return reply(problem(413, "batch-too-large", "Content Too Large",
                         "a batch holds at most " + std::to_string(limits_.request_events_max) +
                             " events; this one holds " + std::to_string(events.size())));
  }

  // The answer is written here, on the connection's thread, up to each event's status: the
  // writer thread runs the callback below between two commits, so it only appends text.
  std::string answer_head = R"({"events":[)";
  std::vector<std::size_t> status_at;  // where each event's status goes in answer_head
  std::vector<core::EventType> types;
  status_at.reserve(events.size());
  types.reserve(events.size());
  for (const core::Event& event : events) {
    if (!types.empty()) answer_head += ',';
    answer_head += R"({"source":)";
    answer_head += json::serialize(json::string_view(event.source));
    answer_head += R"(,"id":)";
    answer_head += json::serialize(json::string_view(event.id));
    answer_head += R"(,"status":")";
    status_at.push_back(answer_head.size());
    types.push_back(event.type);
  }

  auto shared_reply = std::make_shared<Reply>(std::move(reply));
  // Runs on the writer thread between two commits: it only decides the status and hands the
  // outcomes over; the body and the per-type counters are done on the connection's thread
  // (Response::complete_body), off the single writer.
  const ingest::Admission admission = destination_->submit(
      std::move(events),
      [this, answer_head = std::move(answer_head), status_at = std::move(status_at),
       types = std::move(types), shared_reply](ingest::WriteOutcome outcome) mutable {
        if (!outcome) {
          (*shared_reply)(problem(
              500, "commit-failed", "Internal Server Error",
              "the events could not be stored, send them again: " + outcome.error().to_string()));
          return;
        }
        std::vector<store::AppendOutcome> outcomes = std::move(*outcome);
        RELANCE_ASSERT(outcomes.size() == types.size());
        const bool any_appended = std::find(outcomes.begin(), outcomes.end(),
                                            store::AppendOutcome::appended) != outcomes.end();
        Response response = json_response(any_appended ? 202 : 200, std::string());
        // done() runs once: its captures move into the answer.
        response.complete_body = [this, answer_head = std::move(answer_head),
                                  status_at = std::move(status_at), types = std::move(types),
                                  outcomes = std::move(outcomes)](Response& answer) {
          std::string body;
          body.reserve(answer_head.size() + outcomes.size() * 12 + 2);
          std::size_t copied = 0;
          for (std::size_t i = 0; i < outcomes.size(); ++i) {
            const bool appended = outcomes[i] == store::AppendOutcome::appended;
            events_[static_cast<std::size_t>(types[i])][appended ? 0 : 1]->inc();
            body.append(answer_head, copied, status_at[i] - copied);
            copied = status_at[i];
            body += appended ? R"(accepted"})" : R"(duplicate"})";
          }
          body += "]}";
          answer.body = std::move(body);
        };
        (*shared_reply)(std::move(response));
      });
  if (admission == ingest::Admission::queued) return;
  Response busy = admission == ingest::Admission::queue_full
                      ? problem(503, "queue-full", "Service Unavailable",
                                "the event queue is full; retry after the delay in Retry-After")
                      : problem(503, "stopping", "Service Unavailable",
                                "the daemon is stopping; retry after the delay in Retry-After");
  busy.retry_after = admission == ingest::Admission::queue_full ? "1" : "5";
  (*shared_reply)(std::move(busy));
}

}  // namespace relance::http
