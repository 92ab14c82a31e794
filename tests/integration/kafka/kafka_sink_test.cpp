// The Kafka sink against librdkafka's mock cluster, started in this process so that broker
// faults can be injected (rd_kafka_mock_push_request_errors); what was published is read back
// with a plain consumer.

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <boost/json.hpp>
#include <map>
#include <set>
#include <thread>

#include "connectors/kafka/ownership.hpp"
#include "connectors/kafka/sink.hpp"
#include "connectors/registry.hpp"

namespace relance::connectors {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string topic = "relance.actions";

struct Consumed {
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
  std::int32_t partition = -1;
};

// Three brokers and a 6-partition topic, hosted by a handle of this process.
class MockCluster {
 public:
  MockCluster() {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    if (host_ == nullptr) return;
    cluster_ = rd_kafka_mock_cluster_new(host_, 3);
    if (cluster_ == nullptr) return;
    if (rd_kafka_mock_topic_create(cluster_, topic.c_str(), 6, 3) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_mock_cluster_destroy(cluster_);
      cluster_ = nullptr;
    }
  }
  ~MockCluster() {
    if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
    if (host_ != nullptr) rd_kafka_destroy(host_);
  }
  bool ok() const { return cluster_ != nullptr; }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  rd_kafka_mock_cluster_t* get() { return cluster_; }

  // Every message of the topic, from the beginning of each partition, read until `expected`
  // arrived and then `quiet` passed without another one (so that a duplicate would be seen).
  std::vector<Consumed> consume(std::size_t expected, milliseconds quiet = milliseconds(1500)) {
    char error[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap().c_str(), error, sizeof error);
    rd_kafka_conf_set(conf, "group.id", "sink-test-reader", error, sizeof error);
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", error, sizeof error);
    rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
    EXPECT_NE(consumer, nullptr) << error;
    std::vector<Consumed> out;
    if (consumer == nullptr) return out;
    rd_kafka_poll_set_consumer(consumer);
    rd_kafka_topic_partition_list_t* partitions = rd_kafka_topic_partition_list_new(6);
    for (int p = 0; p < 6; ++p) {
      rd_kafka_topic_partition_list_add(partitions, topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(consumer, partitions);
    rd_kafka_topic_partition_list_destroy(partitions);
    const auto give_up = std::chrono::steady_clock::now() + seconds(30);
    auto quiet_until = std::chrono::steady_clock::time_point::max();
    while (std::chrono::steady_clock::now() < give_up &&
           std::chrono::steady_clock::now() < quiet_until) {
      rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
      if (message == nullptr) continue;
      if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        Consumed consumed;
        consumed.partition = message->partition;
        if (message->key) {
          consumed.key.assign(static_cast<const char*>(message->key), message->key_len);
        }
        consumed.value.assign(static_cast<const char*>(message->payload), message->len);
        rd_kafka_headers_t* headers = nullptr;
        if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name = nullptr;
          const void* value = nullptr;
          size_t size = 0;
          for (size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
                             RD_KAFKA_RESP_ERR_NO_ERROR;
               ++i) {
            consumed.headers[name] = std::string(static_cast<const char*>(value), size);
          }
        }
        out.push_back(std::move(consumed));
        if (out.size() >= expected && quiet_until == std::chrono::steady_clock::time_point::max()) {
          quiet_until = std::chrono::steady_clock::now() + quiet;
        }
      }
      rd_kafka_message_destroy(message);
    }
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    return out;
  }

 private:
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

Delivery reminder(const std::string& key, const std::string& customer) {
  EmailMessage email;
  email.from = "Relance <relance@exemple.fr>";
  email.to = {"compta@client.fr"};
  email.subject = "Relance : facture F-1";
  email.text = "Bonjour,\nla facture F-1 est échue.";
  email.date = core::Timestamp(std::chrono::seconds(1767225600));
  return Delivery{key, email, customer};
}

KafkaSinkOptions options_for(const MockCluster& cluster) {
  KafkaSinkOptions options;
  options.brokers = cluster.bootstrap();
  options.topic = topic;
  options.delivery_timeout = seconds(20);
  return options;
}

TEST(KafkaSink, publishes_keyed_by_customer_with_the_idempotency_key_once_acknowledged) {
  MockCluster cluster;
  ASSERT_TRUE(cluster.ok()) << "the mock Kafka cluster did not start";
  auto sink = make_sink("kafka", options_for(cluster));
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  EXPECT_EQ((*sink)->name(), "kafka");

  const SinkAnswer answer = (*sink)->deliver(reminder("C-7/due+3d/2026-01-01", "C-7"));
  ASSERT_EQ(answer.outcome, SinkAnswer::Outcome::delivered) << answer.detail;
  EXPECT_NE(answer.detail.find("topic relance.actions partition"), std::string::npos);

  const auto consumed = cluster.consume(1);
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(consumed[0].key, "C-7");
  EXPECT_EQ(consumed[0].headers.at("idempotency-key"), "C-7/due+3d/2026-01-01");
  EXPECT_EQ(consumed[0].headers.at("content-type"), "application/cloudevents+json");
  const json::object envelope = json::parse(consumed[0].value).as_object();
  EXPECT_EQ(envelope.at("id").as_string(), "C-7/due+3d/2026-01-01");
  EXPECT_EQ(envelope.at("type").as_string(), "relance.action.email");
  EXPECT_EQ(envelope.at("subject").as_string(), "C-7");
  EXPECT_EQ(envelope.at("data").at("email").at("subject").as_string(), "Relance : facture F-1");
  EXPECT_EQ(envelope.at("data").at("email").at("to").as_array().at(0).as_string(),
            "compta@client.fr");
}

TEST(KafkaSink, one_customer_always_lands_on_one_partition) {
  MockCluster cluster;
  ASSERT_TRUE(cluster.ok()) << "the mock Kafka cluster did not start";
  auto sink = make_kafka_sink(options_for(cluster));
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  for (int i = 0; i < 30; ++i) {
    const std::string customer = "C-" + std::to_string(i % 5);
    const SinkAnswer answer = (*sink)->deliver(reminder("k" + std::to_string(i), customer));
    ASSERT_EQ(answer.outcome, SinkAnswer::Outcome::delivered) << answer.detail;
  }
  const auto consumed = cluster.consume(30);
  ASSERT_EQ(consumed.size(), 30u);
  std::map<std::string, std::set<std::int32_t>> partitions_of;
  for (const auto& message : consumed) partitions_of[message.key].insert(message.partition);
  ASSERT_EQ(partitions_of.size(), 5u);
  for (const auto& [customer, partitions] : partitions_of) {
    ASSERT_EQ(partitions.size(), 1u) << customer;
    // The partition the daemons' ownership predicate expects (connectors/kafka/ownership.hpp).
    EXPECT_EQ(*partitions.begin(), kafka::partition_of(customer, 6, kafka::Partitioner::murmur2))
        << customer;
  }
}

TEST(KafkaSink, broker_faults_on_produce_still_deliver_exactly_once) {
  MockCluster cluster;
  ASSERT_TRUE(cluster.ok()) << "the mock Kafka cluster did not start";
  auto sink = make_kafka_sink(options_for(cluster));
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  // Warm up: the producer has its idempotence id and metadata before the faults.
  ASSERT_EQ((*sink)->deliver(reminder("warm-up", "C-0")).outcome, SinkAnswer::Outcome::delivered);

  // The next Produce requests fail with retriable errors, whichever broker leads the partition.
  rd_kafka_mock_push_request_errors(
      cluster.get(), 0 /* Produce */, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
      RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
  const SinkAnswer answer = (*sink)->deliver(reminder("C-1/due+3d/2026-01-01", "C-1"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::delivered) << answer.detail;

  const auto consumed = cluster.consume(2);
  std::map<std::string, int> copies;
  for (const auto& message : consumed) ++copies[message.headers.at("idempotency-key")];
  EXPECT_EQ(copies, (std::map<std::string, int>{{"C-1/due+3d/2026-01-01", 1}, {"warm-up", 1}}));
}

TEST(KafkaSink, a_message_the_brokers_cannot_take_is_rejected) {
  MockCluster cluster;
  ASSERT_TRUE(cluster.ok()) << "the mock Kafka cluster did not start";
  KafkaSinkOptions options = options_for(cluster);
  options.client["message.max.bytes"] = "1000";
  auto sink = make_kafka_sink(options);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  Delivery big = reminder("big", "C-2");
  std::get<EmailMessage>(big.content).text = std::string(5000, 'x');
  const SinkAnswer answer = (*sink)->deliver(big);
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::rejected) << answer.detail;
  EXPECT_NE(answer.detail.find("SIZE_TOO_LARGE"), std::string::npos) << answer.detail;
}

TEST(KafkaSink, unreachable_brokers_answer_retry_by_the_deadline) {
  KafkaSinkOptions options;
  options.brokers = "127.0.0.1:1";  // nothing listens on port 1
  options.topic = topic;
  options.delivery_timeout = milliseconds(1500);
  auto sink = make_kafka_sink(options);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  const auto started = std::chrono::steady_clock::now();
  const SinkAnswer answer = (*sink)->deliver(reminder("k", "C-3"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::retry) << answer.detail;
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(8));
}

TEST(KafkaSink, options_that_would_break_the_guarantees_are_refused) {
  KafkaSinkOptions options;
  options.brokers = "127.0.0.1:9092";
  options.topic = topic;
  options.client["enable.idempotence"] = "false";
  auto sink = make_kafka_sink(options);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.error().field, "kafka.client.enable.idempotence");
  options.client.clear();
  options.topic.clear();
  EXPECT_EQ(make_kafka_sink(options).error().field, "topic");
}

}  // namespace
}  // namespace relance::connectors
