#pragma once
// The delivery side of relance.yaml: the sinks the configuration describes (email.file or
// email.smtp, crm.rest when crm.enabled, kafka when kafka.actions_topic is set, kafka.alerts when
// kafka.alerts_topic is set) built through the connectors' registry, and the dispatcher's options.

#include <memory>
#include <vector>

#include "config/config.hpp"
#include "connectors/crm/rest/rest_sink.hpp"
#include "connectors/email/file/file_sink.hpp"
#include "connectors/email/smtp/smtp_sink.hpp"
#include "connectors/sink.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "outbox/dispatcher.hpp"

namespace relance {

// Options of each sink, from the configuration (exposed for tests).
connectors::FileSinkOptions file_sink_options(const config::EmailConfig& email);
connectors::SmtpSinkOptions smtp_sink_options(const config::EmailConfig& email);
// `clock` (Retry-After dates, activity timestamps) must outlive the sink.
connectors::RestSinkOptions rest_sink_options(const config::CrmConfig& crm,
                                              const core::Clock& clock);
outbox::DispatcherOptions dispatcher_options(const config::DispatcherConfig& dispatcher);

// Every sink the configuration enables; an error names the key that cannot work.
Result<std::vector<std::unique_ptr<connectors::Sink>>> make_sinks(const config::Config& config,
                                                                  const core::Clock& clock);

}  // namespace relance
