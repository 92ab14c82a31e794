#pragma once
// The Kafka source: consumes canonical events from topics in a consumer group and hands them to
// a Destination (the daemon's writer) in batches, with the offsets they reach. Offsets are never
// committed to Kafka: the destination stores them in the same transaction as the state, and on
// partition assignment the consumer seeks to what the destination stored. A message that is not
// a valid event is copied to a dead-letter topic (original key, value and headers, plus the
// reason and where it came from) before its offset is stored, and its partition moves on.
//
// Memory is bounded: one batch being filled (batch_messages_max), one batch in flight, and
// librdkafka's own fetch queue (queued.max.messages.kbytes). When the destination refuses a batch
// (its queue is full), the partitions are paused and read again from the batch's first offsets
// once it has room.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "connectors/kafka/ownership.hpp"
#include "core/event.hpp"
#include "core/result.hpp"
#include "metrics/metrics.hpp"

namespace relance::connectors::kafka {

// Where a partition stands: `offset` is the next one to read.
struct PartitionOffset {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  bool operator==(const PartitionOffset&) const = default;
};

enum class Admission { queued, queue_full, stopped };

// What the source hands its batches to. The daemon adapts the writer and the store
// (writer_destination.hpp); tests use a fake.
class Destination {
 public:
  virtual ~Destination() = default;
  // Queues `events` and `offsets` (one per partition the batch read) to be stored in one
  // transaction. `done` is called exactly once, on any thread, after that transaction committed
  // or failed; it is not called when the batch is not queued.
  virtual Admission submit(std::vector<core::Event> events, std::vector<PartitionOffset> offsets,
                           std::function<void(Result<void>)> done) = 0;
  // The offsets stored for `topic`; a partition without one is read from its beginning.
  virtual Result<std::vector<PartitionOffset>> stored_offsets(const std::string& topic) = 0;
};

struct SourceOptions {
  std::string brokers;  // bootstrap.servers
  std::string group_id;
  std::vector<std::string> topics;
  std::string dead_letter_topic;
  std::size_t batch_messages_max = 10000;
  // librdkafka properties applied to the consumer and the dead-letter producer, after the
  // defaults and before the settings the design depends on (which cannot be overridden).
  std::map<std::string, std::string> client;
  // How long a revocation or stop() waits for the batch in flight to be stored.
  std::chrono::milliseconds drain_timeout{10000};
  // How long a dead letter may take to be acknowledged by the brokers before it is tried again.
  std::chrono::milliseconds dead_letter_timeout{10000};
  // Several daemons: the partitions of topics.front() this consumer owns, kept up to date (after
  // its batches are stored on revocation; once seeked on assignment). Null: not tracked.
  std::shared_ptr<Ownership> ownership;
  // Called on the consumer thread once new partitions of topics.front() are assigned (after the
  // Ownership learnt them) and before any of their messages is handed over: the daemon refreshes
  // what another owner may have changed.
  std::function<void(const std::set<std::int32_t>& partitions)> on_assigned;
  // Called on the consumer thread after partitions of topics.front() were revoked and what was
  // read from them stored (ownership tracked only).
  std::function<void(const std::set<std::int32_t>& partitions)> on_revoked;
};

class KafkaSource {
 public:
  // Creates the consumer and the dead-letter producer and starts consuming on its own thread.
  // Errors name the setting at fault ("kafka.client.fetch.max.bytes: ...").
  static Result<std::unique_ptr<KafkaSource>> start(SourceOptions options, Destination& destination,
                                                    metrics::Registry& metrics);
  ~KafkaSource();  // stop()
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Partitions this consumer owns now; 0 before the group gave it any (for /readyz).
  std::size_t assigned_partitions() const;
  // Messages read and handed over or dead-lettered whose batch is stored (for tests and logs).
  std::uint64_t messages_stored() const;

  // Stores what was read (bounded by drain_timeout), leaves the group, joins the thread. The
  // destination must still accept batches until this returns.
  void stop();

 private:
  struct Impl;
  explicit KafkaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relance::connectors::kafka
