#pragma once
// The single writer: the one thread that owns the store's write side. Inputs hand it requests
// through a bounded queue; it takes everything pending (up to a batch limit), writes it in one
// transaction (group commit), and only after the commit tells each request's owner, who may
// then acknowledge (HTTP 202, Kafka offset).

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/event.hpp"
#include "core/result.hpp"
#include "ingest/applier.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace relance::ingest {

struct WriterLimits {
  std::size_t batch_events_max = 10000;            // events in one transaction
  std::chrono::microseconds batch_delay_max{200};  // how long a batch may wait to fill
  std::size_t queue_events_max = 200000;           // events waiting; submit() refuses beyond
  // While idle, how often the writer asks the applier whether time alone changed something.
  std::chrono::milliseconds advance_interval{60'000};
};

// One input's unit of work: its events, and where its source then stands (a Kafka consumer's
// next offsets), stored in the same transaction so that a restart resumes exactly after them.
struct WriteRequest {
  WriteRequest() = default;
  // Implicit: a request of events alone (a webhook) is just its events.
  WriteRequest(std::vector<core::Event> events_in, std::vector<store::SourceOffset> offsets_in = {})
      : events(std::move(events_in)), offsets(std::move(offsets_in)) {}

  std::vector<core::Event> events;
  std::vector<store::SourceOffset> offsets;
};

// Per event of the request, in order: appended or duplicate; or why the commit failed.
using WriteOutcome = Result<std::vector<store::AppendOutcome>>;

enum class Admission { queued, queue_full, stopped };

class Writer {
 public:
  // `clock` stamps received_at in the journal; nullptr means the system clock. `applier`, when
  // given, sees every appended event inside the transaction. Both must outlive the writer.
  Writer(store::Store& store, WriterLimits limits, metrics::Registry& metrics,
         const core::Clock* clock = nullptr, Applier* applier = nullptr);
  ~Writer();  // stop()
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues the events of one request as a unit: they commit in the same transaction. `done` is
  // called exactly once, on the writer thread, after that transaction committed or failed; it
  // must be quick (post the answer elsewhere). Not called when the request is not queued. A
  // request of more than queue_events_max events is never queued: callers bound their requests.
  // The request's offsets are written after its events; within a batch, a later request's offset
  // of the same partition wins.
  Admission submit(WriteRequest request, std::function<void(WriteOutcome)> done);

  // Stops taking requests, commits everything already queued, joins the thread.
  void stop();
  bool running() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace relance::ingest
