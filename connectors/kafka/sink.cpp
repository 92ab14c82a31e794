#include "connectors/kafka/sink.hpp"

#include <boost/json.hpp>

#include <type_traits>

#include "connectors/kafka/producer.hpp"
#include "core/date.hpp"

namespace relance::connectors {
namespace {

namespace json = boost::json;

json::array string_array(const std::vector<std::string>& values) {
  json::array array;
  array.reserve(values.size());
  for (const auto& value : values) array.emplace_back(value);
  return array;
}

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
  std::string type;
  std::visit(
      [&](const auto& content) {
        using T = std::decay_t<decltype(content)>;
        json::object body;
        if constexpr (std::is_same_v<T, EmailMessage>) {
          type = "relance.action.email";
          body["from"] = content.from;
          body["reply_to"] = content.reply_to;
          body["to"] = string_array(content.to);
          body["cc"] = string_array(content.cc);
          body["subject"] = content.subject;
          body["text"] = content.text;
          body["html"] = content.html;
          body["date"] = core::format_timestamp(content.date);
          data["email"] = std::move(body);
        } else {
          const bool task = content.kind == CrmActivity::Kind::task;
          type = task ? "relance.action.crm_task" : "relance.action.crm_note";
          body["kind"] = task ? "task" : "note";
          body["customer_id"] = content.customer_id;
          body["customer_name"] = content.customer_name;
          body["crm_id"] = content.crm_id;
          body["subject"] = content.subject;
          body["body"] = content.body;
          if (content.due_date) {
            body["due_date"] = core::format_date(*content.due_date);
          } else {
            body["due_date"] = nullptr;
          }
          body["invoice_ids"] = string_array(content.invoice_ids);
          data["crm"] = std::move(body);
        }
      },
      delivery.content);
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
