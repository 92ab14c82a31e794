#include "connectors/kafka/event_publisher.hpp"

#include <type_traits>

namespace relance::connectors::kafka {

std::string event_key(const core::Event& event) {
  std::string key;
  std::visit(
      [&](const auto& data) {
        if constexpr (requires { data.customer_id; }) {
          if constexpr (std::is_same_v<decltype(data.customer_id), std::string>) {
            key = data.customer_id;
          } else {
            if (data.customer_id) key = *data.customer_id;
          }
        }
        if (!key.empty()) return;
        if constexpr (requires { data.invoice_id; }) {
          if constexpr (std::is_same_v<decltype(data.invoice_id), std::string>) {
            key = data.invoice_id;
          } else {
            if (data.invoice_id) key = *data.invoice_id;
          }
        } else if constexpr (requires { data.invoice_ids; }) {
          if (!data.invoice_ids.empty()) key = data.invoice_ids.front();
        } else if constexpr (requires { data.allocations; }) {
          if (!data.allocations.empty()) key = data.allocations.front().invoice_id;
        }
      },
      event.data);
  if (key.empty()) key = event.source + "/" + event.id;
  return key;
}

Result<std::unique_ptr<EventPublisher>> EventPublisher::create(ProducerOptions options,
                                                               std::string topic,
                                                               std::size_t events_in_flight_max,
                                                               metrics::Registry& metrics) {
  if (topic.empty()) {
    return Error{"kafka.topics", "webhook_publish needs a topic to publish to (the first one)"};
  }
  auto producer = Producer::create(std::move(options));
  if (!producer) return producer.error();
  return std::unique_ptr<EventPublisher>(new EventPublisher(
      std::move(producer).value(), std::move(topic), events_in_flight_max, metrics));
}

EventPublisher::EventPublisher(std::unique_ptr<Producer> producer, std::string topic,
                               std::size_t max, metrics::Registry& metrics)
    : producer_(std::move(producer)),
      topic_(std::move(topic)),
      events_in_flight_max_(max),
      published_(metrics.counter("relance_kafka_webhook_published_total",
                                 "Events of POST /v1/events published to Kafka and acknowledged.",
                                 {{"topic", topic_}})),
      failed_(metrics.counter("relance_kafka_webhook_publish_failures_total",
                              "Events of POST /v1/events Kafka did not acknowledge (the request "
                              "got a 5xx).",
                              {{"topic", topic_}})) {}

EventPublisher::~EventPublisher() { producer_.reset(); }

ingest::Admission EventPublisher::submit(std::vector<core::Event> events,
                                         std::function<void(ingest::WriteOutcome)> done) {
  const std::size_t count = events.size();
  if (in_flight_.fetch_add(count) + count > events_in_flight_max_ && count > 0) {
    in_flight_.fetch_sub(count);
    return ingest::Admission::queue_full;
  }
  std::vector<Record> records;
  records.reserve(count);
  for (core::Event& event : events) {
    Record record;
    record.topic = topic_;
    record.key = event_key(event);
    record.value = std::move(event.json);
    record.headers = {{"content-type", "application/cloudevents+json"}};
    records.push_back(std::move(record));
  }
  producer_->publish_async(
      records, [this, count, done = std::move(done)](std::vector<Published> answers) {
        in_flight_.fetch_sub(count);
        for (std::size_t i = 0; i < answers.size(); ++i) {
          if (answers[i].outcome != Published::Outcome::acknowledged) {
            failed_.inc(answers.size());
            // The request is answered 5xx as a whole; its events that did arrive are harmless when
            // the client sends them again (deduplicated by source and id where they are applied).
            done(Error{"kafka", "event " + std::to_string(i) +
                                    " was not acknowledged by Kafka: " + answers[i].detail});
            return;
          }
        }
        published_.inc(answers.size());
        done(std::vector<store::AppendOutcome>(answers.size(), store::AppendOutcome::appended));
      });
  return ingest::Admission::queued;
}

}  // namespace relance::connectors::kafka
