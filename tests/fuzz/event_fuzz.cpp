// Fuzz target for the canonical event parser (core::parse_event, core::parse_event_batch).
// Beyond "no crash, no sanitizer report", it checks properties every accepted input must have:
// the kept envelope text parses again to the same text, and encode_event writes an envelope
// that parses back and re-encodes to the same bytes.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.hpp"
#include "fuzz_check.hpp"

namespace {

using relance::core::Event;

void check_refusal(const relance::Error& error) {
  RELANCE_FUZZ_CHECK(!error.message.empty(), "an error says what is wrong");
}

void check_accepted(const Event& event) {
  RELANCE_FUZZ_CHECK(!event.id.empty() && !event.source.empty(), "id and source are set");
  RELANCE_FUZZ_CHECK(!event.json.empty(), "the envelope text is kept");

  auto again = relance::core::parse_event(event.json);
  RELANCE_FUZZ_CHECK(again.ok(), "the kept envelope text parses again");
  RELANCE_FUZZ_CHECK(again->json == event.json, "the kept envelope text is a fixed point");
  RELANCE_FUZZ_CHECK(again->type == event.type && again->id == event.id &&
                         again->source == event.source && again->time == event.time,
                     "the kept envelope gives the same attributes");

  Event encoded = event;
  relance::core::encode_event(encoded);
  auto decoded = relance::core::parse_event(encoded.json);
  RELANCE_FUZZ_CHECK(decoded.ok(), "an encoded event parses");
  RELANCE_FUZZ_CHECK(decoded->time == event.time && decoded->subject == event.subject,
                     "encoding keeps time and subject");
  Event reencoded = *decoded;
  relance::core::encode_event(reencoded);
  RELANCE_FUZZ_CHECK(reencoded.json == encoded.json, "encoding is stable across a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto event = relance::core::parse_event(text);
  if (event.ok()) {
    check_accepted(*event);
  } else {
    check_refusal(event.error());
  }

  auto batch = relance::core::parse_event_batch(text);
  if (batch.ok()) {
    RELANCE_FUZZ_CHECK(!batch->empty(), "an accepted batch has events");
    for (const Event& item : *batch) check_accepted(item);
  } else {
    check_refusal(batch.error());
  }
  // The nesting limit and every other rule apply to an event the same way alone or in a batch.
  if (event.ok()) {
    auto wrapped = relance::core::parse_event_batch("[" + std::string(text) + "]");
    RELANCE_FUZZ_CHECK(wrapped.ok() && wrapped->size() == 1 && wrapped->front().json == event->json,
                       "an accepted event is accepted alone in a batch");
  }
  return 0;
}
