// relanced itself (the binary) consuming from librdkafka's mock cluster: /readyz waits for a
// partition assignment, and a SIGKILL in the middle of a stream loses and repeats nothing,
// because each batch's offsets are committed in the same transaction as its events.

#include <gtest/gtest.h>
#include <stdio.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "connectors/kafka/writer_destination.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "tests/integration/servers/relanced_process.hpp"
#include "tests/integration/servers/server_process.hpp"
#include "tests/unit/daemon/http/http_client.hpp"

namespace relance::connectors::kafka {
namespace {

namespace fs = std::filesystem;
using relance::testing::eventually;
using relance::testing::RelancedProcess;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string events_topic = "relance.events";
const std::string dead_topic = "relance.dead";
const std::string alerts_topic = "relance.alerts";

class RelancedKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder_ = relance::testing::make_temp_dir("relance-kafka-daemon");
    auto cluster = relance::testing::ServerProcess::start(
        {RELANCE_KAFKA_MOCK_CLUSTER, "--brokers", "3", "--topic", events_topic + ":6", "--topic",
         dead_topic + ":1", "--topic", alerts_topic + ":3"},
        seconds(10));
    ASSERT_TRUE(cluster.ok()) << "mock Kafka cluster did not start: "
                              << cluster.error().to_string();
    cluster_ = std::move(cluster).value();
    bootstrap_ = "127.0.0.1:" + std::to_string(cluster_->port());
  }
  void TearDown() override {
    if (cluster_) cluster_->stop();
    if (::testing::Test::HasFailure()) {
      std::ifstream log(last_log_);
      std::cerr << "--- " << last_log_ << " (last lines)\n";
      std::vector<std::string> lines;
      for (std::string line; std::getline(log, line);) lines.push_back(line);
      for (std::size_t i = lines.size() > 30 ? lines.size() - 30 : 0; i < lines.size(); ++i) {
        std::cerr << lines[i] << '\n';
      }
    }
    fs::remove_all(folder_);
  }

  // `kafka_keys`: more lines of the kafka: section, such as "  webhook_publish: true\n".
  std::string write_config(const std::string& brokers, const std::string& kafka_keys = "") {
    const std::string path = folder_ + "/relance.yaml";
    std::ofstream(path) << "http:\n  port: 0\n"
                        << "store:\n  sqlite:\n    path: " << database() << "\n"
                        << "kafka:\n  enabled: true\n  brokers: " << brokers << "\n"
                        << "  topics: [" << events_topic << "]\n"
                        << "  dead_letter_topic: " << dead_topic << "\n"
                        << "  batch_messages_max: 200\n"
                        << kafka_keys
                        << "  client: {session.timeout.ms: '6000', heartbeat.interval.ms: '500'}\n"
                        << "dunning:\n  enabled: false\n"
                        << "shutdown_timeout: 5s\n";
    return path;
  }

  // relanced on `config`, a log file per start; nullptr (and a failure) when it does not start.
  std::unique_ptr<RelancedProcess> start(const std::string& config) {
    last_log_ = folder_ + "/relanced-" + std::to_string(++starts_) + ".log";
    auto started = RelancedProcess::start(config, last_log_);
    if (!started) {
      ADD_FAILURE() << started.error().to_string();
      return nullptr;
    }
    return std::move(started).value();
  }

  std::string database() const { return folder_ + "/relance.db"; }

  void produce(int count) {
    const std::string file = folder_ + "/events.txt";
    {
      std::ofstream out(file);
      for (int i = 0; i < count; ++i) {
        const std::string id = "evt-" + std::to_string(i);
        const std::string customer = "C-" + std::to_string(i % 97);
        out << customer << R"(|{"specversion":"1.0","id":")" << id
            << R"(","source":"erp/kafka-crash","type":"invoice.issued","data":{"invoice_id":"INV-)"
            << id << R"(","customer_id":")" << customer
            << R"(","amount":{"amount":"120.00","currency":"EUR"},"issue_date":"2026-01-05",)"
            << R"("due_date":"2026-02-04"}})" << '\n';
      }
    }
    const std::string command = std::string(RELANCE_KCAT) + " -P -b " + bootstrap_ + " -t " +
                                events_topic + " -K '|' -l " + file + " 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  // Journal rows and the sum of the stored next offsets, read while no daemon runs.
  std::pair<std::int64_t, std::int64_t> journal_and_offsets() {
    auto store = store::open_sqlite_store({database()});
    EXPECT_TRUE(store.ok()) << store.error().to_string();
    if (!store) return {-1, -1};
    auto rows = (*store)->journal_size();
    auto offsets = (*store)->source_offsets(store_source_of(events_topic));
    EXPECT_TRUE(rows.ok() && offsets.ok());
    std::int64_t sum = 0;
    if (offsets) {
      for (const auto& offset : *offsets) sum += offset.offset;
    }
    return {rows ? *rows : -1, sum};
  }

  std::string folder_;
  std::string bootstrap_;
  std::string last_log_;
  int starts_ = 0;
  std::unique_ptr<relance::testing::ServerProcess> cluster_;
};

TEST_F(RelancedKafkaTest, readyz_is_not_ready_while_the_consumer_owns_no_partition) {
  // A broker address where nothing listens: the consumer never gets a partition.
  auto lonely = start(write_config("127.0.0.1:1"));
  ASSERT_NE(lonely, nullptr);
  std::optional<relance::testing::HttpReply> reply;
  ASSERT_TRUE(eventually([&] { return (reply = lonely->get("/readyz")).has_value(); }))
      << "relanced did not answer";
  EXPECT_EQ(reply->status, 503u);
  EXPECT_NE(reply->body.find("Kafka consumer owns no partition"), std::string::npos) << reply->body;
  EXPECT_TRUE(lonely->terminate()) << "a clean stop exits 0";

  auto daemon = start(write_config(bootstrap_));
  ASSERT_NE(daemon, nullptr);
  EXPECT_TRUE(eventually([&] { return daemon->ready(); }))
      << "ready once the group gave it partitions";
  EXPECT_EQ(daemon->metric("relance_kafka_assigned_partitions"), 6);
}

TEST_F(RelancedKafkaTest, sigkill_mid_stream_then_restart_stores_every_event_exactly_once) {
  constexpr int total = 10000;
  const std::string config = write_config(bootstrap_);
  produce(total);
  auto first = start(config);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(eventually([&] {
    return first->metric("relance_writer_events_total{outcome=\"appended\"}") >= 400;
  })) << "relanced did not start consuming";
  first->kill();

  // Offsets are committed with their events: after the kill, the journal and the stored offsets
  // agree exactly (every message here is one valid event, and the topic starts at offset 0).
  const auto [rows_at_kill, offsets_at_kill] = journal_and_offsets();
  EXPECT_GT(rows_at_kill, 0);
  EXPECT_EQ(rows_at_kill, offsets_at_kill);
  std::cerr << "journal at SIGKILL: " << rows_at_kill << " of " << total << " events\n";

  auto second = start(config);
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(eventually([&] {
    return second->metric("relance_writer_events_total{outcome=\"appended\"}") ==
           static_cast<double>(total - rows_at_kill);
  })) << "the restarted daemon did not store the rest";
  std::this_thread::sleep_for(milliseconds(500));  // room for a wrong second delivery
  EXPECT_EQ(second->metric("relance_writer_events_total{outcome=\"duplicate\"}"), 0)
      << "messages stored before the kill were read again";
  EXPECT_TRUE(second->terminate());

  const auto [rows, offsets] = journal_and_offsets();
  EXPECT_EQ(rows, total);
  EXPECT_EQ(offsets, total);
}

TEST_F(RelancedKafkaTest, webhook_publish_answers_after_kafka_acknowledged_and_the_owner_applies) {
  const std::string config = write_config(bootstrap_, "  webhook_publish: true\n");
  auto daemon = start(config);
  ASSERT_NE(daemon, nullptr);
  ASSERT_TRUE(eventually([&] { return daemon->ready(); })) << "relanced never became ready";

  const std::string event =
      R"({"specversion":"1.0","id":"wh-1","source":"erp/webhook","type":"invoice.issued",)"
      R"("data":{"invoice_id":"INV-WH-1","customer_id":"C-WH","amount":{"amount":"80.00",)"
      R"("currency":"EUR"},"issue_date":"2026-01-05","due_date":"2026-02-04"}})";
  relance::testing::HttpClient client(daemon->port(), seconds(30));
  const auto posted = client.post("/v1/events", "application/cloudevents+json", event);
  ASSERT_EQ(posted.status, 202u) << posted.body;
  EXPECT_NE(posted.body.find(R"("status":"accepted")"), std::string::npos) << posted.body;

  // Kafka holds it, keyed by the customer, as soon as the POST was answered.
  const std::string read = std::string(RELANCE_KCAT) + " -C -b " + bootstrap_ + " -t " +
                           events_topic + " -o beginning -e -q -f '%k|%s\\n' 2>&1";
  const auto [status, consumed] = relance::testing::run_command(read);
  ASSERT_EQ(status, 0) << consumed;
  EXPECT_NE(consumed.find("C-WH|{"), std::string::npos) << consumed;
  EXPECT_NE(consumed.find(R"("id":"wh-1")"), std::string::npos) << consumed;

  // The daemon owning the partition (this one) applies it from Kafka, once.
  EXPECT_TRUE(eventually([&] {
    auto reply = daemon->get("/v1/events/erp%2Fwebhook/wh-1");
    return reply && reply->status == 200;
  })) << "the published event was never applied";
  EXPECT_TRUE(eventually([&] {
    return daemon->metric(R"(relance_kafka_webhook_published_total{topic="relance.events"})") == 1;
  }));
  const auto again = client.post("/v1/events", "application/cloudevents+json", event);
  EXPECT_EQ(again.status, 202u) << again.body;  // published again; the journal keeps one
  ASSERT_TRUE(daemon->terminate());
  EXPECT_EQ(journal_and_offsets().first, 1);
}

// kafka.alerts_topic: an unmatched payment opens payment.unmatched, published on the topic keyed
// by its customer; the invoice it pays arrives, the alert resolves, and a "resolved" message
// follows on the same key. Both go through the outbox (sink kafka.alerts).
TEST_F(RelancedKafkaTest, alerts_topic_gets_each_alert_raised_then_resolved_keyed_by_customer) {
  const std::string config = write_config(bootstrap_, "  alerts_topic: " + alerts_topic + "\n");
  auto daemon = start(config);
  ASSERT_NE(daemon, nullptr);
  ASSERT_TRUE(eventually([&] { return daemon->ready(); })) << "relanced never became ready";
  relance::testing::HttpClient client(daemon->port(), seconds(30));
  const std::string payment =
      R"({"specversion":"1.0","id":"pay-1","source":"erp/alerts","type":"payment.received",)"
      R"("data":{"payment_id":"P-1","customer_id":"C-AL","amount":{"amount":"95.00",)"
      R"("currency":"EUR"},"received_date":"2026-01-10"}})";
  auto posted = client.post("/v1/events", "application/cloudevents+json", payment);
  ASSERT_EQ(posted.status, 202u) << posted.body;

  const std::string read = std::string(RELANCE_KCAT) + " -C -b " + bootstrap_ + " -t " +
                           alerts_topic + " -o beginning -e -q -f '%k\\t%s\\n' 2>&1";
  // The topic's messages, "key\tvalue" per line.
  auto messages = [&] {
    std::vector<std::pair<std::string, std::string>> found;
    const auto [status, consumed] = relance::testing::run_command(read);
    EXPECT_EQ(status, 0) << consumed;
    std::istringstream lines(consumed);
    for (std::string line; std::getline(lines, line);) {
      const auto tab = line.find('\t');
      if (tab != std::string::npos) found.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    }
    return found;
  };
  std::vector<std::pair<std::string, std::string>> got;
  ASSERT_TRUE(eventually([&] { return (got = messages()).size() >= 1; }, seconds(30)))
      << "no alert on " << alerts_topic;
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, "C-AL");
  EXPECT_NE(got[0].second.find(R"("type":"relance.alert.open")"), std::string::npos)
      << got[0].second;
  EXPECT_NE(got[0].second.find(R"("kind":"payment.unmatched")"), std::string::npos)
      << got[0].second;
  EXPECT_NE(got[0].second.find(R"("status":"open")"), std::string::npos) << got[0].second;

  const std::string invoice =
      R"({"specversion":"1.0","id":"inv-1","source":"erp/alerts","type":"invoice.issued",)"
      R"("data":{"invoice_id":"INV-AL-1","customer_id":"C-AL","amount":{"amount":"95.00",)"
      R"("currency":"EUR"},"issue_date":"2026-01-05","due_date":"2026-02-04"}})";
  posted = client.post("/v1/events", "application/cloudevents+json", invoice);
  ASSERT_EQ(posted.status, 202u) << posted.body;
  ASSERT_TRUE(eventually([&] { return (got = messages()).size() >= 2; }, seconds(30)))
      << "no resolved alert on " << alerts_topic;
  std::this_thread::sleep_for(milliseconds(500));  // room for a wrong extra message
  got = messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].first, "C-AL") << "a resolve is keyed by the alert's customer too";
  EXPECT_NE(got[1].second.find(R"("type":"relance.alert.resolved")"), std::string::npos)
      << got[1].second;
  EXPECT_NE(got[1].second.find(R"("status":"resolved")"), std::string::npos) << got[1].second;
  EXPECT_NE(got[1].second.find(R"("kind":"payment.unmatched")"), std::string::npos)
      << got[1].second;
  EXPECT_TRUE(daemon->terminate());
}

}  // namespace
}  // namespace relance::connectors::kafka
