// Crash test: the real relanced binary ingests under load from several client threads and is
// killed with SIGKILL at a random moment, several times over the same SQLite database. After each
// kill the journal is read straight from the file: every event that got a 2xx must be in it
// exactly once, every request is in it whole or not at all, and the journal stays gap-free.
// Requests left without an answer are sent again after the restart, and each resent event must be
// answered "duplicate" when the killed daemon had committed it and "accepted" otherwise.
//
// RELANCE_CRASH_SEED=<n> replays a run (the seed is printed).

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/servers/relanced_process.hpp"
#include "tests/integration/servers/server_process.hpp"
#include "tests/unit/daemon/http/http_client.hpp"

namespace relance {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* event_source = "erp/crash-test";
constexpr const char* event_source_in_path = "erp%2Fcrash-test";
constexpr int client_threads = 4;
constexpr int kill_rounds = 5;
constexpr std::size_t batch_events_max = 200;
constexpr milliseconds start_deadline{20000};
constexpr milliseconds round_deadline{10000};

bool is_text(const json::value& value, std::string_view text) {
  const json::string* string = value.if_string();
  return string != nullptr && *string == text;
}

// One request as sent: the numbers of its events (the client's own), single or batch mode.
struct SentRequest {
  std::vector<std::uint64_t> events;
  bool batch = false;
  // Filled after a kill from the journal: whether the killed daemon had committed it.
  bool committed = false;
};

std::string event_id(int client, std::uint64_t n) {
  return "c" + std::to_string(client) + "-" + std::to_string(n);
}

// Alternates two event types so that both parsers and both metric labels take load.
json::object make_event(int client, std::uint64_t n) {
  const std::string id = event_id(client, n);
  json::object event{{"specversion", "1.0"},
                     {"id", id},
                     {"source", event_source},
                     {"time", "2026-03-01T09:30:00Z"},
                     {"datacontenttype", "application/json"}};
  if (n % 2 == 0) {
    event["type"] = "invoice.issued";
    event["data"] = json::object{
        {"invoice_id", "INV-" + id},
        {"customer_id", "CUST-" + std::to_string(n % 97)},
        {"amount",
         json::object{{"amount", std::to_string(100 + n % 9000) + ".25"}, {"currency", "EUR"}}},
        {"issue_date", "2026-03-01"},
        {"due_date", "2026-03-31"}};
  } else {
    event["type"] = "customer.upserted";
    event["data"] = json::object{{"customer_id", "CUST-" + id}, {"name", "Client " + id}};
  }
  return event;
}

// What one client thread did, kept across rounds. Only its own thread touches it while a round
// runs; the main thread reads and updates it between rounds.
struct ClientState {
  int number = 0;
  std::mt19937_64 random;
  std::uint64_t next_event = 0;
  std::vector<std::uint64_t> acknowledged;  // got a 2xx
  std::vector<SentRequest> unanswered;      // sent (or tried), no 2xx yet
  std::vector<std::string> failures;        // broken expectations, reported by the main thread
  std::uint64_t requests_answered = 0;
  std::uint64_t resent_duplicates = 0;  // resent events answered "duplicate"
  std::uint64_t resent_accepted = 0;    // resent events the killed daemon had not committed
};

enum class Send { answered, refused_busy, connection_lost };

class Client {
 public:
  Client(ClientState& state, std::uint16_t port) : state_(state), port_(port) {}

  // Resends what the previous round left unanswered, then posts new requests until the daemon
  // goes away (or `stop` is set).
  void run_round(const std::atomic<bool>& stop) {
    std::vector<SentRequest> pending = std::move(state_.unanswered);
    state_.unanswered.clear();
    for (std::size_t i = 0; i < pending.size(); ++i) {
      if (send(pending[i], /*resend=*/true) != Send::answered) {
        // send() kept this one; keep the rest for the next round too. Their committed flag is
        // recomputed after the kill.
        for (std::size_t j = i + 1; j < pending.size(); ++j) {
          state_.unanswered.push_back(std::move(pending[j]));
        }
        return;
      }
    }
    while (!stop.load()) {
      SentRequest request;
      request.batch = std::bernoulli_distribution(0.5)(state_.random);
      const std::size_t count = request.batch ? std::uniform_int_distribution<std::size_t>(
                                                    1, batch_events_max)(state_.random)
                                              : 1;
      for (std::size_t i = 0; i < count; ++i) request.events.push_back(state_.next_event++);
      const Send sent = send(request, /*resend=*/false);
      if (sent == Send::connection_lost) return;
    }
  }

 private:
  Send send(SentRequest& request, bool resend) {
    std::string body;
    if (request.batch) {
      json::array batch;
      for (const std::uint64_t n : request.events) batch.push_back(make_event(state_.number, n));
      body = json::serialize(batch);
    } else {
      body = json::serialize(make_event(state_.number, request.events.front()));
    }
    testing::HttpReply reply;
    try {
      if (!http_) http_ = std::make_unique<testing::HttpClient>(port_, milliseconds(5000));
      reply = http_->post(
          "/v1/events",
          request.batch ? "application/cloudevents-batch+json" : "application/cloudevents+json",
          body);
    } catch (const std::exception&) {
      // Refused, reset or cut mid-answer: the daemon is gone. Whether it committed the request
      // is for the journal to tell.
      http_.reset();
      state_.unanswered.push_back(std::move(request));
      return Send::connection_lost;
    }
    if (reply.status == 503) {
      state_.unanswered.push_back(std::move(request));
      return Send::refused_busy;
    }
    ++state_.requests_answered;
    if (reply.status != 200 && reply.status != 202) {
      fail("HTTP " + std::to_string(reply.status) + ": " + reply.body);
      return Send::answered;
    }
    check_answer(request, resend, reply);
    for (const std::uint64_t n : request.events) state_.acknowledged.push_back(n);
    return Send::answered;
  }

  void check_answer(const SentRequest& request, bool resend, const testing::HttpReply& reply) {
    // A request is committed whole: resent after a commit, every event is a duplicate.
    const char* expected = resend && request.committed ? "duplicate" : "accepted";
    const unsigned expected_status = resend && request.committed ? 200 : 202;
    if (reply.status != expected_status) {
      fail("expected HTTP " + std::to_string(expected_status) + " for " +
           (resend ? "a resent" : "a new") + " request, got " + std::to_string(reply.status) +
           ": " + reply.body);
    }
    json::error_code ec;
    const json::value body = json::parse(reply.body, ec);
    const json::array* events = nullptr;
    if (!ec && body.is_object()) {
      if (const json::value* list = body.as_object().if_contains("events")) {
        events = list->if_array();
      }
    }
    if (events == nullptr || events->size() != request.events.size()) {
      return fail("answer does not list the " + std::to_string(request.events.size()) +
                  " events: " + reply.body);
    }
    for (std::size_t i = 0; i < events->size(); ++i) {
      const json::object& item = (*events)[i].as_object();
      const std::string id = event_id(state_.number, request.events[i]);
      if (!is_text(item.at("id"), id) || !is_text(item.at("status"), expected)) {
        return fail("event " + id + ": expected \"" + expected + "\", got " +
                    json::serialize(item));
      }
    }
    if (resend) {
      (request.committed ? state_.resent_duplicates : state_.resent_accepted) +=
          request.events.size();
    }
  }

  void fail(std::string message) {
    if (state_.failures.size() < 20) {
      state_.failures.push_back("client " + std::to_string(state_.number) + ": " + message);
    }
  }

  ClientState& state_;
  std::uint16_t port_;
  std::unique_ptr<testing::HttpClient> http_;
};

// The journal as the file holds it, read while no daemon runs.
struct Journal {
  std::map<std::string, std::int64_t> sequence_by_id;  // "source\nid" -> sequence
  std::map<std::string, std::string> json_by_id;       // a few, for the read-back check
  std::int64_t rows = 0;
  std::int64_t max_sequence = 0;
  std::string error;
};

std::string key_of(const std::string& id) { return std::string(event_source) + "\n" + id; }

Journal read_journal(const fs::path& database) {
  Journal journal;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(database.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    journal.error = std::string("cannot open the journal: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return journal;
  }
  sqlite3_stmt* select = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT sequence, source, id, json FROM journal ORDER BY sequence", -1,
                         &select, nullptr) != SQLITE_OK) {
    journal.error = std::string("cannot read the journal: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return journal;
  }
  int rc;
  while ((rc = sqlite3_step(select)) == SQLITE_ROW) {
    const std::int64_t sequence = sqlite3_column_int64(select, 0);
    const std::string source = reinterpret_cast<const char*>(sqlite3_column_text(select, 1));
    const std::string id = reinterpret_cast<const char*>(sqlite3_column_text(select, 2));
    ++journal.rows;
    journal.max_sequence = sequence;
    const std::string key = source + "\n" + id;
    if (!journal.sequence_by_id.emplace(key, sequence).second && journal.error.empty()) {
      journal.error = "event " + id + " is in the journal twice";
    }
    if (journal.rows % 97 == 1) {
      journal.json_by_id[key] = reinterpret_cast<const char*>(sqlite3_column_text(select, 3));
    }
  }
  if (rc != SQLITE_DONE && journal.error.empty()) {
    journal.error = std::string("reading the journal failed: ") + sqlite3_errmsg(db);
  }
  sqlite3_finalize(select);
  sqlite3_close(db);
  return journal;
}

std::uint64_t seed_from_env() {
  if (const char* text = std::getenv("RELANCE_CRASH_SEED")) return std::strtoull(text, nullptr, 10);
  return std::random_device{}();
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("relance-crash-test");
    database_ = dir_ / "relance.db";
    config_ = dir_ / "relance.yaml";
    std::ofstream(config_) << "http:\n"
                              "  listen_address: 127.0.0.1\n"
                              "  port: 0\n"
                              "  threads: 2\n"
                              "store:\n"
                              "  sqlite:\n"
                              "    path: "
                           << database_.string()
                           << "\n"
                              "log:\n"
                              "  level: info\n"
                              "dunning:\n"
                              "  enabled: false\n"
                              "shutdown_timeout: 5s\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // Every acknowledged event is in the journal exactly once; every unanswered request is in it
  // whole or not at all (and is marked so for its resend); nothing else is; no sequence gap.
  void check_journal(std::vector<ClientState>& clients, const std::string& when) {
    const Journal journal = read_journal(database_);
    ASSERT_TRUE(journal.error.empty()) << when << ": " << journal.error;
    EXPECT_EQ(journal.max_sequence, journal.rows) << when << ": the journal has gaps";
    std::int64_t expected_rows = 0;
    for (ClientState& client : clients) {
      for (const std::uint64_t n : client.acknowledged) {
        const std::string id = event_id(client.number, n);
        EXPECT_TRUE(journal.sequence_by_id.contains(key_of(id)))
            << when << ": event " << id << " was acknowledged but is not in the journal";
      }
      expected_rows += static_cast<std::int64_t>(client.acknowledged.size());
      for (SentRequest& request : client.unanswered) {
        EXPECT_FALSE(request.events.empty()) << when << ": the test kept an empty request";
        std::size_t present = 0;
        for (const std::uint64_t n : request.events) {
          present += journal.sequence_by_id.contains(key_of(event_id(client.number, n))) ? 1 : 0;
        }
        EXPECT_TRUE(present == 0 || present == request.events.size())
            << when << ": a request of " << request.events.size() << " events is in the journal "
            << "only in part (" << present << ")";
        request.committed = present == request.events.size();
        if (request.committed) expected_rows += static_cast<std::int64_t>(present);
      }
    }
    EXPECT_EQ(journal.rows, expected_rows)
        << when << ": the journal holds events nobody sent, or holds some twice";
    sample_json_ = journal.json_by_id;
  }

  void report_client_failures(std::vector<ClientState>& clients) {
    for (ClientState& client : clients) {
      for (const std::string& failure : client.failures) ADD_FAILURE() << failure;
      client.failures.clear();
    }
  }

  // One round: start the daemon, run the clients, stop it (SIGKILL after `kill_after`, or a
  // clean SIGTERM once the clients resent everything when `kill_after` is empty).
  void run_round(std::vector<ClientState>& clients, int round,
                 std::optional<milliseconds> kill_after) {
    auto started = testing::RelancedProcess::start(
        config_, dir_ / ("relanced-" + std::to_string(round) + ".log"), start_deadline);
    ASSERT_TRUE(started) << started.error().to_string();
    testing::RelancedProcess& daemon = **started;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    for (ClientState& client : clients) {
      threads.emplace_back(
          [&client, &stop, port = daemon.port()] { Client(client, port).run_round(stop); });
    }
    if (kill_after) {
      std::this_thread::sleep_for(*kill_after);
      daemon.kill();
    } else {
      stop = true;  // clean round: resend, then no new load
    }
    const auto until = Clock::now() + round_deadline;
    for (std::thread& thread : threads) thread.join();
    EXPECT_LT(Clock::now(), until) << "round " << round << ": the clients took too long";
    if (!kill_after) {
      read_back_sample(daemon.port());
      EXPECT_TRUE(daemon.terminate()) << "relanced did not exit 0 on SIGTERM; its log:\n"
                                      << testing::read_file(daemon.log());
    }
  }

  // GET /v1/events/{source}/{id} answers what the journal holds.
  void read_back_sample(std::uint16_t port) {
    testing::HttpClient http(port);
    for (const auto& [key, stored] : sample_json_) {
      const std::string id = key.substr(key.find('\n') + 1);
      const testing::HttpReply reply =
          http.get("/v1/events/" + std::string(event_source_in_path) + "/" + id);
      EXPECT_EQ(reply.status, 200u) << id << ": " << reply.body;
      EXPECT_EQ(json::parse(reply.body), json::parse(stored)) << id;
    }
  }

  fs::path dir_;
  fs::path database_;
  fs::path config_;
  std::map<std::string, std::string> sample_json_;
};

TEST_F(CrashTest, sigkill_under_load_loses_no_acknowledged_event_and_resends_are_duplicates) {
  const std::uint64_t seed = seed_from_env();
  std::printf("RELANCE_CRASH_SEED=%llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 random(seed);
  std::vector<ClientState> clients(client_threads);
  for (int i = 0; i < client_threads; ++i) {
    clients[i].number = i;
    clients[i].random.seed(seed + 1 + static_cast<std::uint64_t>(i));
  }

  std::uint64_t resent_before_kill_check = 0;
  for (int round = 0; round < kill_rounds; ++round) {
    const milliseconds kill_after{std::uniform_int_distribution<int>(200, 1500)(random)};
    run_round(clients, round, kill_after);
    if (HasFatalFailure()) return;
    report_client_failures(clients);
    check_journal(clients, "after kill " + std::to_string(round + 1));
    if (HasFatalFailure()) return;
    for (const ClientState& client : clients) resent_before_kill_check += client.unanswered.size();
  }
  // A last clean round resends what the last kill left unanswered.
  run_round(clients, kill_rounds, std::nullopt);
  if (HasFatalFailure()) return;
  report_client_failures(clients);
  check_journal(clients, "after the clean stop");

  std::uint64_t acknowledged = 0, answered = 0, duplicates = 0, accepted_on_resend = 0;
  for (const ClientState& client : clients) {
    EXPECT_TRUE(client.unanswered.empty()) << "client " << client.number << " kept "
                                           << client.unanswered.size() << " requests unanswered";
    acknowledged += client.acknowledged.size();
    answered += client.requests_answered;
    duplicates += client.resent_duplicates;
    accepted_on_resend += client.resent_accepted;
  }
  std::printf(
      "%d kills; %llu requests answered, %llu events acknowledged; %llu requests were cut by a "
      "kill; on resend %llu events were duplicates and %llu were new\n",
      kill_rounds, static_cast<unsigned long long>(answered),
      static_cast<unsigned long long>(acknowledged),
      static_cast<unsigned long long>(resent_before_kill_check),
      static_cast<unsigned long long>(duplicates),
      static_cast<unsigned long long>(accepted_on_resend));
  // Load really ran: every round acknowledged something.
  EXPECT_GT(acknowledged, 0u);
  EXPECT_GT(resent_before_kill_check, 0u) << "no kill cut a request: the test proved nothing";
}

}  // namespace
}  // namespace relance
