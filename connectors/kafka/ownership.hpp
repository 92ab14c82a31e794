#pragma once
// Which customers this daemon owns: those whose key falls, by the producers' partitioner, on a
// partition of the events topic that the consumer group assigned to it. Several daemons of one
// group share the customers this way with no coordination of their own: the scheduler glue and
// the dispatcher ask owns() before acting for a customer, the Kafka source updates the set on
// every assignment and revocation.
//
// The partitioner must be the producers' one: murmur2 (Java clients' default, librdkafka's
// partitioner=murmur2_random; what relanced's own producers use) unless kafka.client.partitioner
// says consistent / consistent_random (CRC32, librdkafka's default).

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace relance::connectors::kafka {

enum class Partitioner { murmur2, crc32 };

// From librdkafka's `partitioner` property; errors name it.
Result<Partitioner> partitioner_of(std::string_view property);

// The partition of `key` among `partition_count`, as librdkafka's partitioner computes it.
std::int32_t partition_of(std::string_view key, std::int32_t partition_count,
                          Partitioner partitioner);

class Ownership {
 public:
  explicit Ownership(Partitioner partitioner = Partitioner::murmur2) : partitioner_(partitioner) {}

  // Any thread. False while nothing is assigned (a daemon that owns no partition acts for no
  // customer).
  bool owns(std::string_view customer_id) const;
  std::set<std::int32_t> partitions() const;
  std::uint64_t generation() const;  // +1 on every change, for whoever caches decisions

  // The Kafka source's side.
  void assigned(std::int32_t partition_count, const std::set<std::int32_t>& partitions);
  void revoked(const std::set<std::int32_t>& partitions);

 private:
  const Partitioner partitioner_;
  mutable std::mutex mutex_;
  std::int32_t partition_count_ = 0;
  std::set<std::int32_t> owned_;
  std::uint64_t generation_ = 0;
};

}  // namespace relance::connectors::kafka
