#pragma once
// A Kafka message -> a canonical event, following the CloudEvents Kafka protocol binding 1.0:
// structured mode (the JSON envelope is the value; content-type application/cloudevents+json or
// no content-type at all) and binary mode (attributes in ce_* headers, the data as the value).
// Free of librdkafka so that it is tested, and fuzzed, on its own.

#include <optional>
#include <string_view>
#include <vector>

#include "core/event.hpp"
#include "core/result.hpp"

namespace relance::connectors::kafka {

struct HeaderView {
  std::string_view name;
  std::optional<std::string_view> value;  // Kafka headers may be null
};

// Parses and validates the message. Errors say which mode was read and what is wrong
// ("binary mode: ce_type: ..."), for the dead-letter topic's error header.
Result<core::Event> event_from_message(std::string_view value,
                                       const std::vector<HeaderView>& headers);

}  // namespace relance::connectors::kafka
