#include "connectors/kafka/ownership.hpp"

#include <librdkafka/rdkafka.h>

namespace relance::connectors::kafka {

Result<Partitioner> partitioner_of(std::string_view property) {
  if (property.empty() || property == "murmur2" || property == "murmur2_random") {
    return Partitioner::murmur2;
  }
  if (property == "consistent" || property == "consistent_random") return Partitioner::crc32;
  return Error{"kafka.client.partitioner",
               "\"" + std::string(property) +
                   "\" does not place a key on a fixed partition; several daemons need "
                   "murmur2_random (the default), murmur2, consistent_random or consistent"};
}

std::int32_t partition_of(std::string_view key, std::int32_t partition_count,
                          Partitioner partitioner) {
  // librdkafka's own functions: the same answer as the producers, by construction. Neither
  // reads the topic handle when the key is not null.
  if (partitioner == Partitioner::murmur2) {
    return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partition_count,
                                            nullptr, nullptr);
  }
  return rd_kafka_msg_partitioner_consistent(nullptr, key.data(), key.size(), partition_count,
                                             nullptr, nullptr);
}

bool Ownership::owns(std::string_view customer_id) const {
  std::lock_guard lock(mutex_);
  if (owned_.empty() || partition_count_ <= 0) return false;
  return owned_.contains(partition_of(customer_id, partition_count_, partitioner_));
}

std::set<std::int32_t> Ownership::partitions() const {
  std::lock_guard lock(mutex_);
  return owned_;
}

std::uint64_t Ownership::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void Ownership::assigned(std::int32_t partition_count, const std::set<std::int32_t>& partitions) {
  std::lock_guard lock(mutex_);
  partition_count_ = partition_count;
  owned_.insert(partitions.begin(), partitions.end());
  ++generation_;
}

void Ownership::revoked(const std::set<std::int32_t>& partitions) {
  std::lock_guard lock(mutex_);
  for (const std::int32_t partition : partitions) owned_.erase(partition);
  ++generation_;
}

}  // namespace relance::connectors::kafka
