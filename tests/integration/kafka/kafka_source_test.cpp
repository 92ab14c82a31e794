// The Kafka source against librdkafka's mock cluster (3 brokers, a 6-partition topic, real
// Kafka protocol on loopback), fed and read with kcat, storing into the real writer and a SQLite
// store in a temp folder.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "connectors/kafka/source.hpp"
#include "connectors/kafka/writer_destination.hpp"
#include "ingest/writer.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "tests/integration/servers/server_process.hpp"

namespace relance::connectors::kafka {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using relance::testing::eventually;
using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

const std::string events_topic = "relance.events";
const std::string dead_topic = "relance.dead";

std::string envelope(const std::string& id, const std::string& customer) {
  return R"({"specversion":"1.0","id":")" + id +
         R"(","source":"erp/kafka-test","type":"invoice.issued","data":{"invoice_id":"INV-)" + id +
         R"(","customer_id":")" + customer +
         R"(","amount":{"amount":"120.00","currency":"EUR"},"issue_date":"2026-01-05",)"
         R"("due_date":"2026-02-04"}})";
}

// Runs a shell command; its stdout, and the test fails when it exits non-zero.
std::string run(const std::string& command) {
  const auto run = relance::testing::run_command(command);
  EXPECT_TRUE(run.exited_zero()) << command << "\n" << run.out;
  return run.out;
}

// Counts what reaches the writer, to show that nothing is handed over twice.
class CountingDestination final : public Destination {
 public:
  explicit CountingDestination(Destination& inner) : inner_(inner) {}
  Admission submit(std::vector<core::Event> events, std::vector<PartitionOffset> offsets,
                   std::function<void(Result<void>)> done) override {
    const std::size_t count = events.size();
    const Admission admission =
        inner_.submit(std::move(events), std::move(offsets), std::move(done));
    if (admission == Admission::queued) submitted_ += count;
    return admission;
  }
  Result<std::vector<PartitionOffset>> stored_offsets(const std::string& topic) override {
    return inner_.stored_offsets(topic);
  }
  std::size_t submitted() const { return submitted_; }

 private:
  Destination& inner_;
  std::atomic<std::size_t> submitted_{0};
};

// Store, writer and source, as the daemon wires them.
struct Pipeline {
  Pipeline(const std::string& database, SourceOptions options) {
    auto opened = store::open_sqlite_store({database});
    EXPECT_TRUE(opened.ok()) << opened.error().to_string();
    store = std::move(opened).value();
    writer = std::make_unique<ingest::Writer>(*store, ingest::WriterLimits{}, registry);
    destination = std::make_unique<WriterDestination>(*writer, *store);
    counting = std::make_unique<CountingDestination>(*destination);
    auto started = KafkaSource::start(std::move(options), *counting, registry);
    EXPECT_TRUE(started.ok()) << started.error().to_string();
    if (started) source = std::move(started).value();
  }
  ~Pipeline() {
    if (source) source->stop();
    writer->stop();
  }
  std::int64_t journal_size() {
    auto size = store->journal_size();
    return size ? *size : -1;
  }
  std::map<std::int32_t, std::int64_t> offsets() {
    std::map<std::int32_t, std::int64_t> found;
    auto stored = store->source_offsets(store_source_of(events_topic));
    EXPECT_TRUE(stored.ok());
    if (stored) {
      for (const auto& offset : *stored) found[offset.partition] = offset.offset;
    }
    return found;
  }

  metrics::Registry registry;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<ingest::Writer> writer;
  std::unique_ptr<WriterDestination> destination;
  std::unique_ptr<CountingDestination> counting;
  std::unique_ptr<KafkaSource> source;
};

class KafkaSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = relance::testing::make_temp_dir("relance-kafka");
    auto cluster = relance::testing::ServerProcess::start(
        {RELANCE_KAFKA_MOCK_CLUSTER, "--brokers", "3", "--topic", events_topic + ":6", "--topic",
         dead_topic + ":1"},
        seconds(10));
    ASSERT_TRUE(cluster.ok()) << "mock Kafka cluster did not start: "
                              << cluster.error().to_string();
    cluster_ = std::move(cluster).value();
    bootstrap_ = "127.0.0.1:" + std::to_string(cluster_->port());
  }
  void TearDown() override {
    if (cluster_) cluster_->stop();
    fs::remove_all(folder_);
  }

  SourceOptions options() const {
    SourceOptions options;
    options.brokers = bootstrap_;
    options.group_id = "relance-test";
    options.topics = {events_topic};
    options.dead_letter_topic = dead_topic;
    options.batch_messages_max = 64;
    // A consumer that restarts in the same group is let in quickly.
    options.client = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "500"}};
    return options;
  }

  std::string database() const { return folder_ + "/relance.db"; }

  // One message per line, "key|value"; every message of one call carries `headers`.
  void produce(const std::vector<std::string>& lines,
               const std::vector<std::string>& headers = {}) {
    const std::string file = folder_ + "/produce-" + std::to_string(++produced_files_) + ".txt";
    {
      std::ofstream out(file);
      for (const std::string& line : lines) out << line << '\n';
    }
    std::string command = std::string(RELANCE_KCAT) + " -P -b " + bootstrap_ + " -t " +
                          events_topic + " -K '|' -l " + file;
    for (const std::string& header : headers) command += " -H '" + header + "'";
    run(command + " 2>&1");
  }

  std::vector<json::object> consume(const std::string& topic) {
    const std::string out = run(std::string(RELANCE_KCAT) + " -C -b " + bootstrap_ + " -t " +
                                topic + " -o beginning -e -J -q");
    std::vector<json::object> messages;
    std::stringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) messages.push_back(json::parse(line).as_object());
    }
    return messages;
  }

  std::string folder_;
  std::string bootstrap_;
  int produced_files_ = 0;
  std::unique_ptr<relance::testing::ServerProcess> cluster_;
};

std::vector<std::string> keyed_events(int from, int count) {
  std::vector<std::string> lines;
  for (int i = from; i < from + count; ++i) {
    const std::string customer = "C-" + std::to_string(i % 30);
    lines.push_back(customer + "|" + envelope("evt-" + std::to_string(i), customer));
  }
  return lines;
}

TEST_F(KafkaSourceTest, events_produced_with_kcat_are_stored_exactly_once_with_their_offsets) {
  Pipeline pipeline(database(), options());
  ASSERT_TRUE(pipeline.source);
  ASSERT_TRUE(eventually([&] { return pipeline.source->assigned_partitions() == 6; }))
      << "the only consumer of the group should own all 6 partitions";
  produce(keyed_events(0, 300));
  ASSERT_TRUE(eventually([&] { return pipeline.journal_size() >= 300; }))
      << "journal holds " << pipeline.journal_size();
  // Offsets are stored with the batch; the source counts a batch once it is stored.
  ASSERT_TRUE(eventually([&] { return pipeline.source->messages_stored() == 300; }));
  std::this_thread::sleep_for(milliseconds(300));  // room for a wrong second delivery
  EXPECT_EQ(pipeline.journal_size(), 300);
  EXPECT_EQ(pipeline.counting->submitted(), 300u) << "an event was handed to the writer twice";
  const auto offsets = pipeline.offsets();
  std::int64_t total = 0;
  for (const auto& [partition, next] : offsets) total += next;
  EXPECT_EQ(total, 300) << "next offsets of a topic written from 0 add up to its messages";
  EXPECT_GE(offsets.size(), 2u) << "30 customers as keys spread over several partitions";
  for (int i : {0, 150, 299}) {
    auto found = pipeline.store->find_event("erp/kafka-test", "evt-" + std::to_string(i));
    ASSERT_TRUE(found.ok() && found->has_value()) << i;
  }
  EXPECT_THAT(pipeline.registry.render(),
              HasSubstr("relance_kafka_messages_total{topic=\"relance.events\"} 300"));
}

TEST_F(KafkaSourceTest, binary_mode_messages_are_built_from_their_ce_headers) {
  Pipeline pipeline(database(), options());
  ASSERT_TRUE(pipeline.source);
  const std::string data =
      R"({"invoice_id":"INV-B1","customer_id":"C-B","amount":{"amount":"9.99","currency":"EUR"},)"
      R"("issue_date":"2026-01-05","due_date":"2026-02-04"})";
  produce({"C-B|" + data}, {"ce_specversion=1.0", "ce_id=bin-1", "ce_source=erp/binary",
                            "ce_type=invoice.issued", "content-type=application/json"});
  ASSERT_TRUE(eventually([&] { return pipeline.journal_size() == 1; }));
  auto found = pipeline.store->find_event("erp/binary", "bin-1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_THAT((*found)->json, HasSubstr("INV-B1"));
  EXPECT_EQ((*found)->type, "invoice.issued");
}

TEST_F(KafkaSourceTest, poison_message_goes_to_the_dead_letter_topic_and_the_partition_moves_on) {
  Pipeline pipeline(database(), options());
  ASSERT_TRUE(pipeline.source);
  // One key: the three messages share a partition, in this order.
  produce({"C-P|" + envelope("before", "C-P"), "C-P|this is not an event",
           "C-P|" + envelope("after", "C-P")},
          {"trace=abc"});
  ASSERT_TRUE(eventually([&] { return pipeline.journal_size() == 2; }));
  auto after = pipeline.store->find_event("erp/kafka-test", "after");
  ASSERT_TRUE(after.ok() && after->has_value()) << "the message after the poison was applied";
  ASSERT_TRUE(eventually([&] { return pipeline.source->messages_stored() == 3; }));

  const std::vector<json::object> dead = consume(dead_topic);
  ASSERT_EQ(dead.size(), 1u);
  const json::object& letter = dead[0];
  EXPECT_EQ(letter.at("payload").as_string(), "this is not an event");
  EXPECT_EQ(letter.at("key").as_string(), "C-P");
  std::map<std::string, std::string> headers;
  const json::array& pairs = letter.at("headers").as_array();
  for (std::size_t i = 0; i + 1 < pairs.size(); i += 2) {
    headers[std::string(pairs[i].as_string())] = std::string(pairs[i + 1].as_string());
  }
  EXPECT_EQ(headers["trace"], "abc") << "original headers are kept";
  EXPECT_THAT(headers["relance.error"], HasSubstr("structured mode"));
  EXPECT_EQ(headers["relance.source.topic"], events_topic);
  EXPECT_EQ(headers["relance.source.offset"], "1");
  const std::int32_t partition = std::stoi(headers["relance.source.partition"]);
  // Its offset is stored too: the partition stands after the third message.
  EXPECT_EQ(pipeline.offsets()[partition], 3);
  EXPECT_THAT(pipeline.registry.render(),
              HasSubstr("relance_kafka_dead_letters_total{topic=\"relance.events\"} 1"));
}

TEST_F(KafkaSourceTest, restart_resumes_from_the_stored_offsets_without_reapplying) {
  {
    Pipeline first(database(), options());
    ASSERT_TRUE(first.source);
    produce(keyed_events(0, 120));
    ASSERT_TRUE(eventually([&] { return first.source->messages_stored() == 120; }));
  }
  produce(keyed_events(120, 40));
  Pipeline second(database(), options());
  ASSERT_TRUE(second.source);
  ASSERT_TRUE(eventually([&] { return second.source->messages_stored() == 40; }))
      << "stored " << second.source->messages_stored();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(second.journal_size(), 160);
  EXPECT_EQ(second.counting->submitted(), 40u) << "messages stored before the restart came back";
  EXPECT_THAT(second.registry.render(),
              HasSubstr("relance_writer_events_total{outcome=\"duplicate\"} 0"));
}

TEST_F(KafkaSourceTest, a_second_consumer_joining_takes_partitions_after_the_first_stored_them) {
  // Two consumers of one group over one shared store (as two daemons over one PostgreSQL):
  // the rebalance makes the first store what it read before letting partitions go.
  Pipeline pipeline(database(), options());
  ASSERT_TRUE(pipeline.source);
  ASSERT_TRUE(eventually([&] { return pipeline.source->assigned_partitions() == 6; }));
  produce(keyed_events(0, 300));
  auto second = KafkaSource::start(options(), *pipeline.counting, pipeline.registry);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  produce(keyed_events(300, 300));
  ASSERT_TRUE(eventually([&] {
    return (*second)->assigned_partitions() > 0 && pipeline.source->assigned_partitions() > 0 &&
           (*second)->assigned_partitions() + pipeline.source->assigned_partitions() == 6;
  })) << "the group did not split the partitions";
  produce(keyed_events(600, 300));
  ASSERT_TRUE(eventually([&] { return pipeline.journal_size() == 900; }))
      << "journal holds " << pipeline.journal_size();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(pipeline.counting->submitted(), 900u)
      << "a message stored by one consumer was read again by the other";
  std::int64_t total = 0;
  for (const auto& [partition, next] : pipeline.offsets()) total += next;
  EXPECT_EQ(total, 900);
  (*second)->stop();
}

// A destination whose queue is full the first times, and whose commit fails once: the source
// pauses, reads the refused batches again, and in the end each event is stored exactly once.
class UnreliableDestination final : public Destination {
 public:
  Admission submit(std::vector<core::Event> events, std::vector<PartitionOffset> offsets,
                   std::function<void(Result<void>)> done) override {
    std::lock_guard lock(mutex_);
    ++attempts_;
    if (attempts_ <= 3) return Admission::queue_full;
    if (attempts_ == 6) {
      std::thread([done] {
        std::this_thread::sleep_for(milliseconds(20));
        done(Error{"store", "disk full"});
      }).detach();
      return Admission::queued;
    }
    for (const core::Event& event : events) ++stored_[event.id];
    for (const PartitionOffset& offset : offsets) offsets_[offset.partition] = offset.offset;
    std::thread([done] { done(Result<void>{}); }).detach();
    return Admission::queued;
  }
  Result<std::vector<PartitionOffset>> stored_offsets(const std::string& topic) override {
    std::lock_guard lock(mutex_);
    std::vector<PartitionOffset> out;
    for (const auto& [partition, offset] : offsets_) out.push_back({topic, partition, offset});
    return out;
  }
  std::map<std::string, int> stored() {
    std::lock_guard lock(mutex_);
    return stored_;
  }

 private:
  std::mutex mutex_;
  int attempts_ = 0;
  std::map<std::string, int> stored_;
  std::map<std::int32_t, std::int64_t> offsets_;
};

TEST_F(KafkaSourceTest, full_writer_queue_pauses_and_a_failed_commit_is_read_again_without_loss) {
  UnreliableDestination destination;
  metrics::Registry registry;
  SourceOptions small = options();
  small.batch_messages_max = 10;
  produce(keyed_events(0, 200));
  auto source = KafkaSource::start(small, destination, registry);
  ASSERT_TRUE(source.ok()) << source.error().to_string();
  ASSERT_TRUE(eventually([&] { return destination.stored().size() == 200; }))
      << "stored " << destination.stored().size();
  (*source)->stop();
  for (const auto& [id, times] : destination.stored()) EXPECT_EQ(times, 1) << id;
  const std::string metrics = registry.render();
  EXPECT_THAT(metrics, HasSubstr("relance_kafka_pauses_total 3"));
  EXPECT_THAT(metrics, HasSubstr("relance_kafka_store_failures_total 1"));
  EXPECT_THAT(metrics, HasSubstr("relance_kafka_rewinds_total 4"));
}

}  // namespace
}  // namespace relance::connectors::kafka
