#pragma once
// Where POST /v1/events hands the events it validated. By default the single writer (journal and
// state in one transaction, then the answer); with kafka.webhook_publish, a Kafka publisher
// (connectors/kafka/event_publisher.hpp) that answers once the brokers acknowledged, so that the
// daemon owning each customer's partition applies its events.

#include <functional>
#include <vector>

#include "core/event.hpp"
#include "ingest/writer.hpp"

namespace relance::http {

class EventDestination {
 public:
  virtual ~EventDestination() = default;
  // As ingest::Writer::submit: `done` runs exactly once, on any thread, when the events are held
  // durably (per event: appended, or duplicate when the destination can tell) or could not be;
  // never when the request is not queued.
  virtual ingest::Admission submit(std::vector<core::Event> events,
                                   std::function<void(ingest::WriteOutcome)> done) = 0;
};

// The default: the events go to the writer.
class WriterEventDestination final : public EventDestination {
 public:
  explicit WriterEventDestination(ingest::Writer& writer) : writer_(writer) {}
  ingest::Admission submit(std::vector<core::Event> events,
                           std::function<void(ingest::WriteOutcome)> done) override {
    return writer_.submit(std::move(events), std::move(done));
  }

 private:
  ingest::Writer& writer_;
};

}  // namespace relance::http
