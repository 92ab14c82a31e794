#include "sinks.hpp"

#include "connectors/kafka/sink.hpp"
#include "connectors/registry.hpp"
#include "state/alert_topic.hpp"

namespace relance {

connectors::FileSinkOptions file_sink_options(const config::EmailConfig& email) {
  connectors::FileSinkOptions options;
  options.directory = email.file_directory;
  options.message_id_domain = email.message_id_domain;
  return options;
}

connectors::SmtpSinkOptions smtp_sink_options(const config::EmailConfig& email) {
  const config::SmtpConfig& smtp = email.smtp;
  connectors::SmtpSinkOptions options;
  // relance.yaml writes IPv6 addresses bare; an smtp:// URL needs them in brackets.
  options.host = smtp.host.find(':') != std::string::npos ? "[" + smtp.host + "]" : smtp.host;
  options.port = smtp.port;
  switch (smtp.tls) {
    case config::SmtpTls::none:
      options.tls = connectors::SmtpTls::none;
      break;
    case config::SmtpTls::starttls_opportunistic:
      options.tls = connectors::SmtpTls::starttls_opportunistic;
      break;
    case config::SmtpTls::starttls_required:
      options.tls = connectors::SmtpTls::starttls_required;
      break;
    case config::SmtpTls::implicit:
      options.tls = connectors::SmtpTls::implicit;
      break;
  }
  options.username = smtp.username;
  options.password = smtp.password;
  options.plaintext_auth =
      smtp.plaintext_auth ? connectors::PlaintextAuth::allowed : connectors::PlaintextAuth::refused;
  options.ca_file = smtp.ca_file;
  options.helo_domain = smtp.helo_domain;
  options.envelope_from = smtp.envelope_from;
  options.message_id_domain = email.message_id_domain;
  options.connect_timeout = smtp.connect_timeout;
  options.total_timeout = smtp.total_timeout;
  return options;
}

connectors::RestSinkOptions rest_sink_options(const config::CrmConfig& crm,
                                              const core::Clock& clock) {
  connectors::RestSinkOptions options;
  switch (crm.preset) {
    case config::CrmPreset::generic:
      options.preset = connectors::CrmPreset::generic;
      break;
    case config::CrmPreset::hubspot:
      options.preset = connectors::CrmPreset::hubspot;
      break;
    case config::CrmPreset::pipedrive:
      options.preset = connectors::CrmPreset::pipedrive;
      break;
  }
  options.base_url = crm.base_url;
  if (!crm.task_url.empty() || !crm.task_body.empty()) {
    options.task_request = connectors::RequestTemplate{"POST", crm.task_url, crm.task_body};
  }
  if (!crm.note_url.empty() || !crm.note_body.empty()) {
    options.note_request = connectors::RequestTemplate{"POST", crm.note_url, crm.note_body};
  }
  options.headers.assign(crm.headers.begin(), crm.headers.end());
  switch (crm.auth) {
    case config::CrmAuth::none:
      options.auth = connectors::HttpAuth::none;
      break;
    case config::CrmAuth::bearer:
      options.auth = connectors::HttpAuth::bearer;
      break;
    case config::CrmAuth::basic:
      options.auth = connectors::HttpAuth::basic;
      break;
  }
  // HubSpot authenticates with a bearer token whatever crm.auth says (see RestSinkOptions).
  if (crm.preset == config::CrmPreset::hubspot) options.auth = connectors::HttpAuth::bearer;
  options.token = crm.token;
  options.username = crm.username;
  options.password = crm.password;
  options.ca_file = crm.ca_file;
  options.total_timeout = crm.total_timeout;
  options.connect_timeout = std::min(options.connect_timeout, crm.total_timeout);
  options.clock = &clock;
  return options;
}

outbox::DispatcherOptions dispatcher_options(const config::DispatcherConfig& dispatcher) {
  outbox::DispatcherOptions options;
  options.batch_max = dispatcher.batch_max;
  options.poll_interval = dispatcher.poll_interval;
  options.attempts_max = dispatcher.attempts_max;
  options.backoff_base = dispatcher.backoff_base;
  options.backoff_max = dispatcher.backoff_max;
  options.circuit_failures = dispatcher.circuit_failures;
  options.circuit_cooldown = dispatcher.circuit_cooldown;
  return options;
}

Result<std::vector<std::unique_ptr<connectors::Sink>>> make_sinks(const config::Config& config,
                                                                  const core::Clock& clock) {
  std::vector<std::unique_ptr<connectors::Sink>> sinks;
  if (config.email.sink == config::EmailSinkKind::file) {
    auto sink = connectors::make_sink("email.file", file_sink_options(config.email));
    if (!sink) return sink.error().within("email.file");
    sinks.push_back(std::move(sink).value());
  } else {
    auto sink = connectors::make_sink("email.smtp", smtp_sink_options(config.email));
    if (!sink) return sink.error().within("email.smtp");
    sinks.push_back(std::move(sink).value());
  }
  if (config.crm.enabled) {
    auto sink = connectors::make_sink("crm.rest", rest_sink_options(config.crm, clock));
    if (!sink) return sink.error().within("crm");
    sinks.push_back(std::move(sink).value());
  }
  if (!config.kafka.actions_topic.empty()) {
    connectors::KafkaSinkOptions options;
    options.brokers = config.kafka.brokers;
    options.topic = config.kafka.actions_topic;
    options.client = config.kafka.client;
    auto sink = connectors::make_sink("kafka", options);
    if (!sink) return sink.error().within("kafka.actions_topic");
    sinks.push_back(std::move(sink).value());
  }
  if (!config.kafka.alerts_topic.empty()) {
    // A second producer, named for the outbox rows the alerts are enqueued under
    // (state/alert_topic.hpp): its own circuit, so alerts and actions do not hold each other up.
    connectors::KafkaSinkOptions options;
    options.brokers = config.kafka.brokers;
    options.topic = config.kafka.alerts_topic;
    options.client = config.kafka.client;
    options.name = std::string(state::alerts_sink_name);
    auto sink = connectors::make_sink("kafka", options);
    if (!sink) return sink.error().within("kafka.alerts_topic");
    sinks.push_back(std::move(sink).value());
  }
  return sinks;
}

}  // namespace relance
