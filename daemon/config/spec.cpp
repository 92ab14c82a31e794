// The keys of relance.yaml, each declared once. Defaults are the member initializers in
// config.hpp; config/relance.yaml lists every key with its default (a test keeps them equal).
// To add a key: add the member to config.hpp, one line here, and the key to config/relance.yaml.

#include "config/spec.hpp"

namespace relance::config::spec {

using namespace std::chrono_literals;

const Section<Config>& config_section() {
  static const Section<Config> section = {
      host<Config>(
          "http.listen_address", [](Config & c) -> auto& { return c.http.listen_address; },
          "address the HTTP API listens on; 0.0.0.0 or :: for every interface"),
      integer<Config>(
          "http.port", [](Config & c) -> auto& { return c.http.port; }, 0, 65535,
          "TCP port of the HTTP API; 0 picks a free port"),
      integer<Config>(
          "http.threads", [](Config & c) -> auto& { return c.http.threads; }, 1, 64,
          "threads serving HTTP connections"),
      byte_size<Config>(
          "http.body_bytes_max", [](Config & c) -> auto& { return c.http.body_bytes_max; }, 1 << 10,
          1 << 30, "larger request bodies are refused with 413"),
      duration<Config>(
          "http.request_timeout", [](Config & c) -> auto& { return c.http.request_timeout; }, 100ms,
          1h, "a request must arrive whole within this"),
      duration<Config>(
          "http.idle_timeout", [](Config & c) -> auto& { return c.http.idle_timeout; }, 1s, 1h,
          "a keep-alive connection without a request is closed after this"),
      integer<Config>(
          "http.connections_max", [](Config & c) -> auto& { return c.http.connections_max; }, 1,
          1'000'000, "open connections; further ones wait to be accepted"),

      enumeration<Config>(
          "store.backend", [](Config & c) -> auto& { return c.store.backend; },
          {{"sqlite", StoreBackend::sqlite}, {"postgres", StoreBackend::postgres}},
          "sqlite for one machine, postgres shared by several daemons"),
      path<Config>(
          "store.sqlite.path", [](Config & c) -> auto& { return c.store.sqlite_path; },
          "SQLite database file, created when missing"),
      string<Config>(
          "store.postgres.url", [](Config & c) -> auto& { return c.store.postgres_url; },
          Empty::allowed, "libpq connection string, when store.backend is postgres"),

      integer<Config>(
          "writer.batch_events_max", [](Config & c) -> auto& { return c.writer.batch_events_max; },
          1, 1'000'000, "events committed in one transaction at most"),
      duration<Config>(
          "writer.batch_delay_max", [](Config & c) -> auto& { return c.writer.batch_delay_max; },
          0us, 1s, "longest wait for more events before a batch is committed"),
      integer<Config>(
          "writer.queue_events_max", [](Config & c) -> auto& { return c.writer.queue_events_max; },
          1, 100'000'000, "events waiting for the writer; inputs slow down beyond"),

      enumeration<Config>(
          "email.sink", [](Config & c) -> auto& { return c.email.sink; },
          {{"file", EmailSinkKind::file}, {"smtp", EmailSinkKind::smtp}},
          "file writes .eml files, smtp sends them"),
      path<Config>(
          "email.file.directory", [](Config & c) -> auto& { return c.email.file_directory; },
          "directory of the .eml files when email.sink is file"),

      boolean<Config>(
          "kafka.enabled", [](Config & c) -> auto& { return c.kafka.enabled; },
          "consume canonical events from Kafka topics"),
      string<Config>(
          "kafka.brokers", [](Config & c) -> auto& { return c.kafka.brokers; }, Empty::rejected,
          "bootstrap brokers, host:port separated by commas"),
      string<Config>(
          "kafka.group_id", [](Config & c) -> auto& { return c.kafka.group_id; }, Empty::rejected,
          "consumer group; the daemons of one group share the topics' partitions"),
      string_list<Config>(
          "kafka.topics", [](Config & c) -> auto& { return c.kafka.topics; }, 100,
          "topics of CloudEvents (structured or binary mode) to consume"),
      string<Config>(
          "kafka.dead_letter_topic", [](Config & c) -> auto& { return c.kafka.dead_letter_topic; },
          Empty::allowed, "messages that are not valid events go here, with the reason in headers"),
      integer<Config>(
          "kafka.batch_messages_max",
          [](Config & c) -> auto& { return c.kafka.batch_messages_max; }, 1, 1'000'000,
          "messages handed to the writer in one request at most"),
      string_map<Config>(
          "kafka.client", [](Config & c) -> auto& { return c.kafka.client; }, 200,
          "librdkafka properties passed as they are (security.protocol, sasl.username...)"),

      enumeration<Config>(
          "log.level", [](Config & c) -> auto& { return c.log_level; },
          {{"debug", LogLevel::debug},
           {"info", LogLevel::info},
           {"warn", LogLevel::warn},
           {"error", LogLevel::error}},
          "least severe messages written to the log"),
      duration<Config>(
          "shutdown_timeout", [](Config & c) -> auto& { return c.shutdown_timeout; }, 100ms, 1h,
          "on SIGTERM, in-flight work must finish within this"),
  };
  return section;
}

const std::vector<Check>& config_checks() {
  static const std::vector<Check> checks = {
      {{"store.postgres.url", "store.backend"},
       [](const Config& c) -> std::optional<std::string> {
         if (c.store.backend != StoreBackend::postgres || !c.store.postgres_url.empty()) return {};
         return "is empty, and store.backend is postgres; give a libpq connection string";
       }},
      {{"writer.queue_events_max", "writer.batch_events_max"},
       [](const Config& c) -> std::optional<std::string> {
         if (c.writer.queue_events_max >= c.writer.batch_events_max) return {};
         return std::to_string(c.writer.queue_events_max) + " is below writer.batch_events_max (" +
                std::to_string(c.writer.batch_events_max) + "); a batch must fit in the queue";
       }},
      {{"kafka.topics", "kafka.enabled"},
       [](const Config& c) -> std::optional<std::string> {
         if (!c.kafka.enabled || !c.kafka.topics.empty()) return {};
         return "is empty, and kafka.enabled is true; list the topics to consume";
       }},
      {{"kafka.dead_letter_topic", "kafka.enabled"},
       [](const Config& c) -> std::optional<std::string> {
         if (!c.kafka.enabled) return {};
         if (c.kafka.dead_letter_topic.empty()) {
           return "is empty, and kafka.enabled is true; a message that is not a valid event "
                  "must go somewhere for the partition to move on";
         }
         const auto& topics = c.kafka.topics;
         if (std::find(topics.begin(), topics.end(), c.kafka.dead_letter_topic) != topics.end()) {
           return c.kafka.dead_letter_topic +
                  " is also in kafka.topics; it would consume its own "
                  "dead letters";
         }
         return {};
       }},
      {{"kafka.batch_messages_max", "writer.queue_events_max"},
       [](const Config& c) -> std::optional<std::string> {
         if (!c.kafka.enabled || c.kafka.batch_messages_max <= c.writer.queue_events_max) return {};
         return std::to_string(c.kafka.batch_messages_max) + " is above writer.queue_events_max (" +
                std::to_string(c.writer.queue_events_max) + "); a batch must fit in the queue";
       }},
  };
  return checks;
}

}  // namespace relance::config::spec
