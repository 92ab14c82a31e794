#include "connectors/kafka/sink.hpp"

#include <boost/json.hpp>

#include "connectors/delivery_json.hpp"
#include "connectors/kafka/producer.hpp"

namespace relance::connectors {
namespace {

namespace json = boost::json;

class KafkaSink final : public Sink {
 public:
  KafkaSink(KafkaSinkOptions options, std::unique_ptr<kafka::Producer> producer)
      : options_(std::move(options)), producer_(std::move(producer)) {}

  std::string_view name() const override { return options_.name; }

  SinkAnswer deliver(const Delivery& delivery) override {
    kafka::Record record;
    record.topic = options_.topic;
    // Keyed by customer: one customer's actions on one partition, in order. A delivery without
    // a customer (none is expected) still goes out, on a partition of librdkafka's choosing.
    if (!delivery.customer_id.empty()) record.key = delivery.customer_id;
    record.value = delivery_envelope(delivery, options_.event_source);
    record.headers = {{"content-type", "application/cloudevents+json"},
                      {"idempotency-key", delivery.idempotency_key}};
    const kafka::Published published = producer_->publish(record);
    switch (published.outcome) {
      case kafka::Published::Outcome::acknowledged:
        return {SinkAnswer::Outcome::delivered, std::nullopt,
                "topic " + options_.topic + " partition " + std::to_string(published.partition) +
                    " offset " + std::to_string(published.offset)};
      case kafka::Published::Outcome::transient:
        return {SinkAnswer::Outcome::retry, std::nullopt, published.detail};
      case kafka::Published::Outcome::permanent:
        return {SinkAnswer::Outcome::rejected, std::nullopt, published.detail};
    }
    return {SinkAnswer::Outcome::retry, std::nullopt, published.detail};
  }

 private:
  KafkaSinkOptions options_;
  std::unique_ptr<kafka::Producer> producer_;
};

}  // namespace

std::string delivery_envelope(const Delivery& delivery, const std::string& event_source) {
  json::object data;
  data["customer_id"] = delivery.customer_id;
  put_delivery_content(data, delivery);
  std::string type = "relance.action.email";
  if (const auto* crm = std::get_if<CrmActivity>(&delivery.content)) {
    type = crm->kind == CrmActivity::Kind::task ? "relance.action.crm_task"
                                                : "relance.action.crm_note";
  } else if (const auto* alert = std::get_if<AlertNotice>(&delivery.content)) {
    type = alert->status == "resolved" ? "relance.alert.resolved" : "relance.alert.open";
  }
  json::object envelope;
  envelope["specversion"] = "1.0";
  envelope["id"] = delivery.idempotency_key;
  envelope["source"] = event_source;
  envelope["type"] = type;
  if (!delivery.customer_id.empty()) envelope["subject"] = delivery.customer_id;
  envelope["datacontenttype"] = "application/json";
  envelope["data"] = std::move(data);
  return json::serialize(envelope);
}

Result<std::unique_ptr<Sink>> make_kafka_sink(const KafkaSinkOptions& options) {
  if (options.brokers.empty()) return Error{"kafka.brokers", "is empty"};
  if (options.topic.empty()) return Error{"topic", "is empty: the sink needs a topic"};
  if (options.delivery_timeout.count() <= 0) {
    return Error{"delivery_timeout", "must be positive"};
  }
  auto producer =
      kafka::Producer::create(kafka::ProducerOptions{.brokers = options.brokers,
                                                     .client = options.client,
                                                     .client_id = "relanced-" + options.name,
                                                     .delivery_timeout = options.delivery_timeout,
                                                     .field = "kafka.client"});
  if (!producer) return producer.error();
  return std::unique_ptr<Sink>(new KafkaSink(options, std::move(producer).value()));
}

}  // namespace relance::connectors
