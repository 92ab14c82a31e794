#include "connectors/kafka/writer_destination.hpp"

#include <utility>

namespace relance::connectors::kafka {

std::string store_source_of(const std::string& topic) { return "kafka:" + topic; }

Admission WriterDestination::submit(std::vector<core::Event> events,
                                    std::vector<PartitionOffset> offsets,
                                    std::function<void(Result<void>)> done) {
  std::vector<store::SourceOffset> stored;
  stored.reserve(offsets.size());
  for (PartitionOffset& offset : offsets) {
    stored.push_back({store_source_of(offset.topic), offset.partition, offset.offset});
  }
  const ingest::Admission admission =
      writer_.submit(ingest::WriteRequest(std::move(events), std::move(stored)),
                     [done = std::move(done)](ingest::WriteOutcome outcome) {
                       if (!outcome) return done(outcome.error());
                       done(Result<void>{});
                     });
  switch (admission) {
    case ingest::Admission::queued:
      return Admission::queued;
    case ingest::Admission::queue_full:
      return Admission::queue_full;
    case ingest::Admission::stopped:
      return Admission::stopped;
  }
  return Admission::stopped;
}

Result<std::vector<PartitionOffset>> WriterDestination::stored_offsets(const std::string& topic) {
  Result<std::vector<store::SourceOffset>> stored = store_.source_offsets(store_source_of(topic));
  if (!stored) return stored.error();
  std::vector<PartitionOffset> offsets;
  offsets.reserve(stored->size());
  for (const store::SourceOffset& offset : *stored) {
    offsets.push_back({topic, offset.partition, offset.offset});
  }
  return offsets;
}

}  // namespace relance::connectors::kafka
