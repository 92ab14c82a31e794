#pragma once
// Webhook publishing (kafka.webhook_publish): the events POST /v1/events validated are produced
// to a topic with the idempotent producer instead of being written here, and the request is
// answered only once the brokers acknowledged every one of them. The daemon that owns the
// partition then applies them, like any event read from Kafka.
//
// Key (what picks the partition, and so the daemon that applies the event): the customer the
// event names (data.customer_id); else the invoice it is about (data.invoice_id, or the first of
// data.invoice_ids); else "<source>/<id>". Events that name only an invoice (invoice.cancelled,
// dispute.opened...) land on the invoice's partition, not necessarily its customer's: an ERP that
// wants all of a customer's events on one partition sends customer_id with them, or posts them
// straight to Kafka keyed by customer.
//
// Each event is the value as received (CloudEvents structured mode, content-type
// application/cloudevents+json). Per event the answer is "accepted": deduplication by
// (source, id) happens where the event is applied.

#include <atomic>
#include <memory>
#include <string>

#include "connectors/kafka/producer.hpp"
#include "http/event_destination.hpp"
#include "metrics/metrics.hpp"

namespace relance::connectors::kafka {

// The message key of an event, as described above.
std::string event_key(const core::Event& event);

class EventPublisher final : public http::EventDestination {
 public:
  // `events_in_flight_max`: events produced but not yet acknowledged; beyond, submit() answers
  // queue_full (HTTP 503 with Retry-After) rather than queueing without bound.
  static Result<std::unique_ptr<EventPublisher>> create(ProducerOptions options, std::string topic,
                                                        std::size_t events_in_flight_max,
                                                        metrics::Registry& metrics);

  // Waits for what is in flight (bounded by the delivery timeout): every `done` has run.
  ~EventPublisher() override;

  ingest::Admission submit(std::vector<core::Event> events,
                           std::function<void(ingest::WriteOutcome)> done) override;

 private:
  EventPublisher(std::unique_ptr<Producer> producer, std::string topic, std::size_t max,
                 metrics::Registry& metrics);
  std::unique_ptr<Producer> producer_;
  const std::string topic_;
  const std::size_t events_in_flight_max_;
  std::atomic<std::size_t> in_flight_{0};
  metrics::Counter& published_;
  metrics::Counter& failed_;
};

}  // namespace relance::connectors::kafka
