#include "connectors/registry.hpp"

#include <array>
#include <string>

namespace relance::connectors {
namespace {

template <class Options, Result<std::unique_ptr<Sink>> (*factory)(const Options&)>
Result<std::unique_ptr<Sink>> make_with(const SinkOptions& options) {
  const Options* typed = std::get_if<Options>(&options);
  // The caller chose the options type from the same name: a mismatch is a bug in the caller.
  RELANCE_ASSERT(typed != nullptr);
  return factory(*typed);
}

constexpr std::array<SinkRegistration, 4> registrations = {{
    {"email.file", "writes each email as an .eml file into a folder (the default)",
     &make_with<FileSinkOptions, &make_file_sink>},
    {"email.smtp", "sends each email to an SMTP relay (STARTTLS, AUTH)",
     &make_with<SmtpSinkOptions, &make_smtp_sink>},
    {"crm.rest", "creates CRM tasks and notes over a JSON HTTP API (generic, hubspot, pipedrive)",
     &make_with<RestSinkOptions, &make_rest_sink>},
    {"kafka", "publishes each action to a Kafka topic keyed by customer (idempotent producer)",
     &make_with<KafkaSinkOptions, &make_kafka_sink>},
}};

}  // namespace

std::span<const SinkRegistration> sink_registrations() { return registrations; }

Result<std::unique_ptr<Sink>> make_sink(std::string_view name, const SinkOptions& options) {
  for (const SinkRegistration& registration : registrations) {
    if (registration.name == name) return registration.make(options);
  }
  std::string known;
  for (const SinkRegistration& registration : registrations) {
    known += (known.empty() ? "" : ", ") + std::string(registration.name);
  }
  return Error{"sink", "\"" + std::string(name) + "\" is not a sink (known: " + known + ")"};
}

}  // namespace relance::connectors
