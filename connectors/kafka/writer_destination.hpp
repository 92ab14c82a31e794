#pragma once
// The Kafka source's Destination in the daemon: batches go to the single writer as one request
// whose offsets ("kafka:<topic>", partition, next offset) are written in the same transaction
// as the events; on assignment, offsets are read back from the store. The one file of
// connectors/kafka that knows the writer and the store.

#include "connectors/kafka/source.hpp"
#include "ingest/writer.hpp"
#include "store/store.hpp"

namespace relance::connectors::kafka {

// The store's source name of a topic: "kafka:<topic>".
std::string store_source_of(const std::string& topic);

class WriterDestination final : public Destination {
 public:
  // Both must outlive the destination; `store` is only read from.
  WriterDestination(ingest::Writer& writer, store::Store& store) : writer_(writer), store_(store) {}

  Admission submit(std::vector<core::Event> events, std::vector<PartitionOffset> offsets,
                   std::function<void(Result<void>)> done) override;
  Result<std::vector<PartitionOffset>> stored_offsets(const std::string& topic) override;

 private:
  ingest::Writer& writer_;
  store::Store& store_;
};

}  // namespace relance::connectors::kafka
