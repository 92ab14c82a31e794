#pragma once
// The one table of delivery sinks: registered name -> factory taking that sink's options. The
// daemon builds its sinks from configuration through this table; nothing registers itself.

#include <memory>
#include <span>
#include <string_view>
#include <variant>

#include "connectors/crm/rest/rest_sink.hpp"
#include "connectors/email/file/file_sink.hpp"
#include "connectors/email/smtp/smtp_sink.hpp"
#include "connectors/kafka/sink.hpp"
#include "connectors/sink.hpp"
#include "core/result.hpp"

namespace relance::connectors {

using SinkOptions =
    std::variant<FileSinkOptions, SmtpSinkOptions, RestSinkOptions, KafkaSinkOptions>;

struct SinkRegistration {
  std::string_view name;         // "email.file", "email.smtp", "crm.rest", "kafka"
  std::string_view description;  // one line, for `relanced` help and errors
  Result<std::unique_ptr<Sink>> (*make)(const SinkOptions& options);
};

std::span<const SinkRegistration> sink_registrations();

// The sink registered as `name`, built from `options` (which must be that sink's options
// struct); an error names the unknown sink or the option that cannot work.
Result<std::unique_ptr<Sink>> make_sink(std::string_view name, const SinkOptions& options);

}  // namespace relance::connectors
