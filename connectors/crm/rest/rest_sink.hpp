#pragma once
// crm.rest: creates a task or a note in a CRM over a JSON HTTP API. Generic (method, URL and
// body templates filled from the CrmActivity) or a preset that knows one CRM's API (hubspot,
// pipedrive). Answers follow HTTP: 2xx delivered; 408, 429, 5xx and transport errors retry,
// honouring Retry-After; any other status rejected with status and body kept.
//
// Template variables (mustache, {{name}}): kind, customer_id, customer_name, crm_id, subject,
// body, due_date (YYYY-MM-DD or empty), invoice_ids ("INV-1, INV-2"), idempotency_key,
// activity_timestamp (RFC 3339: the due date at 00:00 UTC for a task that has one, else now),
// activity_timestamp_ms (the same in Unix milliseconds); sections {{#has_crm_id}},
// {{#has_due_date}}, {{#is_task}}, {{#is_note}}. Values are JSON-escaped in the body and
// percent-encoded in the URL; unescaped tags ({{{x}}}, {{&x}}) are refused so a value can never
// change the shape of a request.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/sink.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace relance::connectors {

enum class CrmPreset { generic, hubspot, pipedrive };
enum class HttpAuth { none, bearer, basic };

struct RequestTemplate {
  std::string method = "POST";  // POST, PUT or PATCH
  std::string url;              // mustache, http:// or https://
  std::string body;             // mustache, must render to JSON
};

// The HubSpot object a task or note is associated with when the activity has a crm_id.
enum class HubspotAssociation { company, contact };

struct RestSinkOptions {
  CrmPreset preset = CrmPreset::generic;
  // Presets: the API root. hubspot: https://api.hubapi.com, pipedrive: https://api.pipedrive.com
  // (or https://<company>.pipedrive.com/api). Empty: those defaults.
  std::string base_url;
  // Generic: one template per activity kind; a kind without one is rejected.
  std::optional<RequestTemplate> task_request;
  std::optional<RequestTemplate> note_request;
  std::vector<std::pair<std::string, std::string>> headers;  // sent as they are
  HttpAuth auth = HttpAuth::none;  // hubspot: bearer; pipedrive: api_token from `token`
  std::string token;               // bearer token, or Pipedrive api_token
  std::string username;            // basic
  std::string password;            // basic
  HubspotAssociation hubspot_association = HubspotAssociation::company;
  std::string pipedrive_activity_type = "task";
  std::string ca_file;  // PEM bundle to verify the server with; empty: system store
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};
  std::size_t request_body_bytes_max = 1024 * 1024;
  std::size_t response_body_bytes_max = 64 * 1024;  // kept for the operator, the rest dropped
  std::chrono::seconds retry_after_max{3600};       // a larger Retry-After is clamped
  // Reads "now" for Retry-After dates and activity timestamps; must outlive the sink. Null: the
  // system clock.
  const core::Clock* clock = nullptr;
};

Result<std::unique_ptr<Sink>> make_rest_sink(const RestSinkOptions& options);

// A request about to be sent; exposed so tests can check what a preset builds without a server.
struct HttpRequest {
  std::string method;
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The request the sink would send for `delivery` at `now` (templates or preset applied, auth and
// Idempotency-Key headers included); errors say why the activity cannot be sent.
Result<HttpRequest> build_crm_request(const RestSinkOptions& options, const Delivery& delivery,
                                      core::Timestamp now);

// Retry-After (RFC 9110 10.2.3): delay-seconds or an HTTP-date, relative to `now`; a date in the
// past gives 0, anything above `max` gives `max`; nothing when the value is neither.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value, core::Timestamp now,
                                                      std::chrono::seconds max);

}  // namespace relance::connectors
