// Two relanced in one consumer group over a 6-partition topic (librdkafka's mock cluster) and
// one throwaway PostgreSQL, dunning on, reminders sent to one aiosmtpd. Events for many
// customers are produced with kcat; one daemon is SIGKILLed mid-stream and the other takes its
// partitions over. Then:
//   - every produced event is in the journal once, and the stored offsets reach the topic's end;
//   - every receivable and customer document equals the one of a single daemon that consumed
//     the same topic into its own database (another consumer group);
//   - every reminder was enqueued once per customer and step, no Message-ID was received twice,
//     and the Message-IDs received (or parked as "delivery unknown" by the crash) are those of
//     the single-daemon run;
//   - kafka.actions_topic: each reminder is also published once on the actions topic, keyed by
//     its customer (read back with kcat).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/email/mime/mime.hpp"
#include "core/date.hpp"
#include "tests/integration/servers/postgres_cluster.hpp"
#include "tests/integration/servers/relanced_process.hpp"
#include "tests/integration/servers/server_process.hpp"
#include "tests/unit/daemon/http/http_client.hpp"

namespace relance {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::RelancedProcess;

const std::string events_topic = "relance.events";
const std::string dead_topic = "relance.dead";
const std::string actions_topic = "relance.actions";
const std::string message_id_domain = "relance.multi.test";
constexpr int customers = 240;

std::string customer_id(int i) { return "C-" + std::to_string(1000 + i); }

std::string event(const std::string& id, const char* type, const json::object& data) {
  return testing::cloud_event("erp/multi", id, type, data);
}

json::object money(const char* amount) { return {{"amount", amount}, {"currency", "EUR"}}; }

// "key|value" lines for kcat -K '|'. Per customer, in its partition's order: part 1 is the
// customer and an invoice due ten days ago (a first reminder due now, whatever else comes); part
// 2 an invoice not yet due, a part payment of the first, the second paid for every other one.
std::vector<std::string> stream(int part) {
  const core::Date today = core::utc_date(
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
  const auto day = [&](int offset) { return core::format_date(core::add_days(today, offset)); };
  std::vector<std::string> lines;
  for (int i = 0; i < customers; ++i) {
    const std::string c = customer_id(i);
    const std::string n = std::to_string(i);
    if (part == 1) {
      lines.push_back(c + "|" +
                      event("cust-" + n, "customer.upserted",
                            {{"customer_id", c},
                             {"name", "Client " + n},
                             {"emails", json::array{"compta" + n + "@client.fr"}},
                             {"language", "fr"}}));
      lines.push_back(c + "|" +
                      event("inv-" + n + "-1", "invoice.issued",
                            {{"invoice_id", "INV-" + n + "-1"},
                             {"customer_id", c},
                             {"number", "F-" + n + "-1"},
                             {"amount", money("240.00")},
                             {"issue_date", day(-40)},
                             {"due_date", day(-10)}}));
      continue;
    }
    lines.push_back(c + "|" +
                    event("inv-" + n + "-2", "invoice.issued",
                          {{"invoice_id", "INV-" + n + "-2"},
                           {"customer_id", c},
                           {"number", "F-" + n + "-2"},
                           {"amount", money("80.00")},
                           {"issue_date", day(-5)},
                           {"due_date", day(25)}}));
    lines.push_back(
        c + "|" +
        event("pay-" + n + "-1", "payment.received",
              {{"payment_id", "P-" + n + "-1"},
               {"customer_id", c},
               {"amount", money("40.00")},
               {"received_date", day(-1)},
               {"allocations", json::array{json::object{{"invoice_id", "INV-" + n + "-1"},
                                                        {"amount", money("40.00")}}}}}));
    if (i % 2 == 0) {
      lines.push_back(
          c + "|" +
          event("pay-" + n + "-2", "payment.received",
                {{"payment_id", "P-" + n + "-2"},
                 {"customer_id", c},
                 {"amount", money("80.00")},
                 {"received_date", day(0)},
                 {"allocations", json::array{json::object{{"invoice_id", "INV-" + n + "-2"},
                                                          {"amount", money("80.00")}}}}}));
    }
  }
  return lines;
}

// Every outbox row, through GET /v1/outbox pages.
std::vector<json::object> outbox_rows(const RelancedProcess& daemon) {
  std::vector<json::object> rows;
  std::int64_t after = 0;
  while (true) {
    const std::string target = "/v1/outbox?limit=1000&after=" + std::to_string(after);
    const auto reply = daemon.get(target);
    if (!reply || reply->status != 200) {
      ADD_FAILURE() << target << ": " << (reply ? reply->body : "no answer");
      return rows;
    }
    const json::value body = json::parse(reply->body);
    for (const json::value& row : body.at("actions").as_array()) rows.push_back(row.as_object());
    const json::value* next = body.as_object().if_contains("next_after");
    if (next == nullptr) return rows;
    after = next->to_number<std::int64_t>();
  }
}

std::optional<double> metric_or_zero(const RelancedProcess& daemon, const std::string& sample) {
  auto value = daemon.metric(sample);
  return value ? value : std::optional<double>(0);
}

class MultiDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("relance-multi-daemon");
    auto cluster = testing::ServerProcess::start(
        {RELANCE_KAFKA_MOCK_CLUSTER, "--brokers", "3", "--topic", events_topic + ":6", "--topic",
         dead_topic + ":1", "--topic", actions_topic + ":3"},
        20s);
    ASSERT_TRUE(cluster) << "mock Kafka cluster did not start: " << cluster.error().to_string();
    kafka_ = std::move(cluster).value();
    bootstrap_ = "127.0.0.1:" + std::to_string(kafka_->port());

    auto postgres = testing::PostgresCluster::start();
    ASSERT_TRUE(postgres) << "PostgreSQL did not start: " << postgres.error().to_string();
    postgres_ = std::move(postgres).value();

    for (const char* name : {"smtp-multi", "smtp-single"}) {
      fs::create_directories(dir_ / name);
      auto smtp = testing::ServerProcess::start(
          {testing::python3_path(), testing::servers_dir() + "/smtp_server.py", "--folder",
           (dir_ / name).string(), "--data-delay", "0.02"},
          20s);
      ASSERT_TRUE(smtp) << "cannot start the SMTP test server: " << smtp.error().to_string();
      smtp_.push_back(std::move(smtp).value());
    }

    dunning_ = testing::write_dunning_setup(
        dir_, {"{name: first_reminder, at: due+3d, channel: email, template: reminder}"});
  }

  void TearDown() override {
    daemons_.clear();
    for (auto& smtp : smtp_) smtp->stop();
    if (kafka_) kafka_->stop();
    if (HasFailure()) {
      std::cerr << "logs kept in " << dir_ << "\n";
    } else {
      fs::remove_all(dir_);
    }
  }

  // A config on `database`, in consumer group `group`, sending to SMTP server `smtp`.
  // With `actions`, kafka.actions_topic is set.
  fs::path config(const std::string& name, const std::string& database, const std::string& group,
                  int smtp, bool actions) {
    const fs::path path = dir_ / (name + ".yaml");
    std::ofstream(path) << "http:\n  listen_address: 127.0.0.1\n  port: 0\n"
                        << "store:\n  backend: postgres\n  postgres:\n    url: \""
                        << postgres_->url(database) << "\"\n"
                        << "kafka:\n  enabled: true\n  brokers: " << bootstrap_ << "\n"
                        << "  group_id: " << group << "\n"
                        << "  topics: [" << events_topic << "]\n"
                        << "  dead_letter_topic: " << dead_topic << "\n"
                        << (actions ? "  actions_topic: " + actions_topic + "\n" : "")
                        << "  batch_messages_max: 25\n"
                        << "  client: {session.timeout.ms: '6000', heartbeat.interval.ms: '500'}\n"
                        << "writer:\n  batch_events_max: 25\n"
                        << dunning_ << "email:\n"
                        << "  sink: smtp\n"
                        << "  from: \"Exemple SAS <relances@exemple.fr>\"\n"
                        << "  message_id_domain: " << message_id_domain << "\n"
                        << "  smtp:\n"
                        << "    host: 127.0.0.1\n"
                        << "    port: " << smtp_.at(smtp)->port() << "\n"
                        << "    tls: none\n"
                        << "    connect_timeout: 2s\n"
                        << "    total_timeout: 5s\n"
                        << "crm:\n  total_timeout: 5s\n"
                        << "dispatcher:\n"
                        << "  poll_interval: 100ms\n"
                        << "  batch_max: 8\n"
                        << "  backoff_base: 100ms\n"
                        << "  backoff_max: 1s\n"
                        << "shutdown_timeout: 5s\n"
                        << "log:\n  level: info\n";
    return path;
  }

  RelancedProcess* start(const fs::path& config_path, const std::string& name) {
    auto started = RelancedProcess::start(config_path, dir_ / (name + ".log"));
    if (!started) {
      ADD_FAILURE() << started.error().to_string();
      return nullptr;
    }
    daemons_.push_back(std::move(started).value());
    return daemons_.back().get();
  }

  void produce(const std::vector<std::string>& lines, const std::string& name) {
    const fs::path file = dir_ / (name + ".txt");
    {
      std::ofstream out(file);
      for (const std::string& line : lines) out << line << '\n';
    }
    const std::string command = std::string(RELANCE_KCAT) + " -P -b " + bootstrap_ + " -t " +
                                events_topic + " -X partitioner=murmur2_random -K '|' -l " +
                                file.string() + " 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  std::int64_t count(const std::string& database, const std::string& sql) {
    auto answer = postgres_->query(database, sql);
    EXPECT_TRUE(answer) << sql << ": " << (answer ? "" : answer.error().to_string());
    return answer && !answer->empty() ? std::stoll(*answer) : -1;
  }

  // Documents of every receivable and customer, by path, as `daemon` serves them.
  std::map<std::string, std::string> documents(const RelancedProcess& daemon) {
    std::map<std::string, std::string> found;
    for (int i = 0; i < customers; ++i) {
      const std::string n = std::to_string(i);
      for (const std::string& path :
           {"/v1/customers/" + customer_id(i), "/v1/receivables/INV-" + n + "-1",
            "/v1/receivables/INV-" + n + "-2"}) {
        // A request that gets no answer (a dropped connection) is asked again.
        std::optional<testing::HttpReply> reply;
        for (int attempt = 0; attempt < 3 && !reply; ++attempt) reply = daemon.get(path);
        found[path] = reply && reply->status == 200 ? reply->body : "(no document)";
      }
    }
    return found;
  }

  fs::path dir_;
  std::string dunning_;  // the dunning: section of every config
  std::string bootstrap_;
  std::unique_ptr<testing::ServerProcess> kafka_;
  std::unique_ptr<testing::PostgresCluster> postgres_;
  std::vector<std::unique_ptr<testing::ServerProcess>> smtp_;
  std::vector<std::unique_ptr<RelancedProcess>> daemons_;
};

TEST_F(MultiDaemon, one_killed_mid_stream_the_other_takes_over_state_equals_one_daemon_run) {
  auto multi = postgres_->create_database("multi");
  auto single = postgres_->create_database("single");
  ASSERT_TRUE(multi && single);
  const std::vector<std::string> first = stream(1);
  const std::vector<std::string> second = stream(2);
  const auto total = static_cast<std::int64_t>(first.size() + second.size());

  // Two daemons, one group: three partitions each once the group settled.
  const fs::path shared = config("multi", *multi, "relance-multi", 0, true);
  RelancedProcess* a = start(shared, "a");
  ASSERT_NE(a, nullptr);
  RelancedProcess* b = start(shared, "b");
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(testing::eventually(
      [&] {
        return a->metric("relance_kafka_assigned_partitions") == 3 &&
               b->metric("relance_kafka_assigned_partitions") == 3;
      },
      60s))
      << "the group did not share the 6 partitions 3 + 3";

  // A stream for both; A dies while it is applying it and sending reminders.
  produce(first, "first");
  ASSERT_TRUE(testing::eventually(
      [&] { return metric_or_zero(*a, "relance_writer_events_total{outcome=\"appended\"}") >= 40; },
      60s))
      << "daemon A did not start applying";
  a->kill();
  produce(second, "second");

  // B owns the 6 partitions after the session timeout, and stores every event.
  ASSERT_TRUE(
      testing::eventually([&] { return b->metric("relance_kafka_assigned_partitions") == 6; }, 60s))
      << "B never took over A's partitions";
  EXPECT_TRUE(testing::eventually(
      [&] { return count(*multi, "SELECT count(*) FROM journal") == total; }, 60s))
      << "journal: " << count(*multi, "SELECT count(*) FROM journal") << " of " << total;
  EXPECT_EQ(count(*multi, "SELECT count(DISTINCT (source, id)) FROM journal"), total);
  EXPECT_TRUE(testing::eventually(
      [&] {
        return count(*multi,
                     "SELECT coalesce(sum(\"offset\"), 0) FROM source_offsets "
                     "WHERE source LIKE 'kafka:%'") == total;
      },
      30s))
      << "stored offsets do not reach the end of the topic";

  // The reminders: one enqueued per customer (first_reminder, once), and each either received
  // or parked as "delivery unknown" by A's death mid-send (taken over after the sending lease).
  std::vector<json::object> rows;
  ASSERT_TRUE(testing::eventually(
      [&] {
        rows = outbox_rows(*b);
        if (rows.size() < static_cast<std::size_t>(2 * customers)) return false;
        for (const json::object& row : rows) {
          const auto status = row.at("status").as_string();
          if (status != "delivered" && status != "dead") return false;
        }
        return true;
      },
      150s))
      << rows.size() << " outbox rows, not all delivered or dead";
  // The copies for the actions topic, apart: key -> customer of those delivered.
  std::map<std::string, std::string> published;
  std::set<std::string> copy_keys;
  std::erase_if(rows, [&](const json::object& row) {
    if (row.at("sink").as_string() != "kafka") return false;
    copy_keys.insert(std::string(row.at("idempotency_key").as_string()));
    if (row.at("status").as_string() == "delivered") {
      published[std::string(row.at("idempotency_key").as_string())] =
          std::string(row.at("customer_id").as_string());
    }
    return true;
  });
  EXPECT_EQ(copy_keys.size(), static_cast<std::size_t>(customers));
  std::map<std::string, int> per_customer;
  for (const json::object& row : rows) {
    const std::string key(row.at("idempotency_key").as_string());
    EXPECT_EQ(copy_keys.count(key + ":kafka"), 1u) << key << " has no copy for the actions topic";
    EXPECT_TRUE(key.find("/first_reminder/") != std::string::npos) << key;
    ++per_customer[std::string(row.at("customer_id").as_string())];
  }
  EXPECT_EQ(per_customer.size(), static_cast<std::size_t>(customers));
  for (const auto& [customer, actions] : per_customer) {
    EXPECT_EQ(actions, 1) << customer << " has " << actions << " reminders enqueued";
  }
  const std::map<std::string, int> received =
      testing::smtp_received_message_ids(dir_ / "smtp-multi");
  std::set<std::string> multi_ids;
  for (const auto& [id, copies] : received) {
    EXPECT_EQ(copies, 1) << id << " was received " << copies << " times";
    multi_ids.insert(id);
  }
  std::size_t unknown = 0;
  for (const json::object& row : rows) {
    const std::string key(row.at("idempotency_key").as_string());
    const std::string id = connectors::mime::message_id(key, message_id_domain);
    if (row.at("status").as_string() == "dead") {
      ++unknown;
      multi_ids.insert(id);  // sent at most once (checked above) before A died, or not at all
    } else {
      EXPECT_EQ(received.count(id), 1u) << key << " delivered but not received";
    }
  }
  std::cerr << "two daemons: " << received.size() << " reminders received, " << unknown
            << " parked as delivery unknown by the crash\n";

  // The actions topic: one message per delivered copy, keyed by its customer, none twice.
  const std::string read = std::string(RELANCE_KCAT) + " -C -b " + bootstrap_ + " -t " +
                           actions_topic + " -o beginning -e -q -f '%k\\t%s\\n' 2>&1";
  const testing::CommandOutput consumed = testing::run_command(read);
  ASSERT_TRUE(consumed.exited_zero()) << consumed.out;
  std::map<std::string, int> messages;
  std::istringstream lines(consumed.out);
  for (std::string line; std::getline(lines, line);) {
    const auto tab = line.find('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    const json::value envelope = json::parse(line.substr(tab + 1));
    const std::string id(envelope.at("id").as_string());
    ++messages[id];
    const auto expected = published.find(id);
    if (expected != published.end()) {
      EXPECT_EQ(line.substr(0, tab), expected->second) << id << " not keyed by its customer";
    }
  }
  for (const auto& [id, count] : messages) {
    EXPECT_EQ(count, 1) << id << " published " << count << " times";
  }
  for (const auto& [id, customer] : published) {
    EXPECT_EQ(messages.count(id), 1u) << id << " delivered but not on " << actions_topic;
  }
  std::cerr << "actions topic: " << messages.size() << " messages, " << published.size()
            << " copies delivered\n";

  // The same topic through one daemon (its own group and database).
  RelancedProcess* alone = start(config("single", *single, "relance-single", 1, false), "single");
  ASSERT_NE(alone, nullptr);
  ASSERT_TRUE(testing::eventually(
      [&] { return count(*single, "SELECT count(*) FROM journal") == total; }, 60s))
      << "the single daemon did not apply the topic";
  // One dispatcher sends them one by one: about 3 a second in the sanitizer build on a loaded
  // 2-core machine, hence the same bound as the two daemons' deliveries above.
  std::map<std::string, int> single_received;
  ASSERT_TRUE(testing::eventually(
      [&] {
        single_received = testing::smtp_received_message_ids(dir_ / "smtp-single");
        return single_received.size() >= static_cast<std::size_t>(customers);
      },
      150s))
      << single_received.size() << " reminders from the single daemon";
  std::set<std::string> single_ids;
  for (const auto& [id, copies] : single_received) single_ids.insert(id);
  EXPECT_EQ(multi_ids, single_ids);

  // Give both writers a moment past their last commit, then compare every document.
  std::this_thread::sleep_for(1s);
  const auto two = documents(*b);
  const auto one = documents(*alone);
  ASSERT_EQ(two.size(), one.size());
  int differing = 0;
  for (const auto& [path, body] : one) {
    EXPECT_NE(body, "(no document)") << path;
    if (two.at(path) != body && ++differing <= 5) {
      ADD_FAILURE() << path << "\n  two daemons: " << two.at(path) << "\n  one daemon:  " << body;
    }
  }
  EXPECT_EQ(differing, 0);
}

}  // namespace
}  // namespace relance
