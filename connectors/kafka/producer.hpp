#pragma once
// An idempotent Kafka producer (enable.idempotence=true, acks=all) that publishes records and
// waits for the brokers' acknowledgement of each, with a deadline. Shared by the Kafka sink and
// by webhook publishing (POST /v1/events answered only once Kafka holds the events). Any thread
// may call publish(); one thread of its own serves librdkafka's delivery reports.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace relance::connectors::kafka {

struct ProducerOptions {
  std::string brokers;  // bootstrap.servers
  // librdkafka properties, applied after the defaults (partitioner=murmur2_random, the Java
  // clients' default, so that relanced and Java producers put a key on the same partition) and
  // before the settings the guarantees depend on (idempotence, acks), which cannot be changed.
  std::map<std::string, std::string> client;
  std::string client_id = "relanced";
  // From publish() to the acknowledgement (librdkafka's message.timeout.ms).
  std::chrono::milliseconds delivery_timeout{30000};
  // Where errors in `client` are reported ("kafka.client").
  std::string field = "kafka.client";
};

struct Record {
  std::string topic;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Published {
  enum class Outcome {
    acknowledged,  // the brokers hold it (acks=all)
    transient,     // not known to be stored: retrying may work (a copy may exist: deduplicate)
    permanent,     // the brokers will never take this record (too large, not authorized...)
  };
  Outcome outcome = Outcome::acknowledged;
  std::string detail;  // the error, when not acknowledged
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

class Producer {
 public:
  static Result<std::unique_ptr<Producer>> create(ProducerOptions options);
  ~Producer();  // flushes what is queued (bounded by delivery_timeout), then purges
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues every record, then waits until each is acknowledged or failed, at most
  // delivery_timeout (plus a margin for the report itself). One answer per record, in order.
  std::vector<Published> publish(std::span<const Record> records);
  Published publish(const Record& record) { return publish(std::span(&record, 1)).front(); }
  // The same without waiting: `done` gets the answers, once, on librdkafka's report thread (or
  // on the caller's when nothing could be queued). Every queued record is reported within
  // delivery_timeout, and the destructor reports what it purges, so `done` always runs.
  void publish_async(std::span<const Record> records,
                     std::function<void(std::vector<Published>)> done);

 private:
  struct Impl;
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relance::connectors::kafka
