#pragma once
// relance.yaml, typed. Each key is declared once (config/spec.cpp) with its type, default,
// bounds and a one-line description; unknown keys are errors; `${VAR}` and `${VAR:-default}`
// are replaced from the environment before a value is read.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace relance::config {

struct HttpConfig {
  std::string listen_address = "127.0.0.1";
  std::uint16_t port = 8080;                         // 0: any free port (tests)
  int threads = 2;                                   // I/O threads
  std::size_t body_bytes_max = 16 << 20;             // larger request bodies get 413
  std::chrono::milliseconds request_timeout{30000};  // a request must arrive whole within this
  std::chrono::milliseconds idle_timeout{60000};     // keep-alive connection with no request
  std::size_t connections_max = 10000;

  friend bool operator==(const HttpConfig&, const HttpConfig&) = default;
};

enum class StoreBackend { sqlite, postgres };

struct StoreConfig {
  StoreBackend backend = StoreBackend::sqlite;
  std::string sqlite_path = "var/relance.db";
  std::string postgres_url;  // libpq connection string, when backend is postgres

  friend bool operator==(const StoreConfig&, const StoreConfig&) = default;
};

struct WriterConfig {
  std::size_t batch_events_max = 10000;
  std::chrono::microseconds batch_delay_max{1000};
  std::size_t queue_events_max = 200000;

  friend bool operator==(const WriterConfig&, const WriterConfig&) = default;
};

enum class EmailSinkKind { file, smtp };

struct EmailConfig {
  EmailSinkKind sink = EmailSinkKind::file;
  std::string file_directory = "var/mail";

  friend bool operator==(const EmailConfig&, const EmailConfig&) = default;
};

// The Kafka source: canonical events consumed from topics in a consumer group, offsets stored
// with the state they produced.
struct KafkaConfig {
  bool enabled = false;
  std::string brokers = "127.0.0.1:9092";  // bootstrap.servers
  std::string group_id = "relanced";
  std::vector<std::string> topics;
  std::string dead_letter_topic;           // where messages that are not valid events go
  std::size_t batch_messages_max = 10000;  // messages handed to the writer as one request
  // Passed to librdkafka as they are (security.protocol, sasl.*, fetch sizes...).
  std::map<std::string, std::string> client;

  friend bool operator==(const KafkaConfig&, const KafkaConfig&) = default;
};

enum class LogLevel { debug, info, warn, error };

struct Config {
  HttpConfig http;
  StoreConfig store;
  WriterConfig writer;
  EmailConfig email;
  KafkaConfig kafka;
  LogLevel log_level = LogLevel::info;
  std::chrono::milliseconds shutdown_timeout{10000};  // SIGTERM: finish in-flight work within

  friend bool operator==(const Config&, const Config&) = default;
};

// One thing wrong with a configuration file, with where it is.
struct Problem {
  std::string file;
  int line = 0;     // 1-based; 0 when the problem is not at one place
  std::string key;  // "http.port"
  std::string message;
  std::string to_string() const;  // "config/relance.yaml:12: http.port: 70000 is above 65535"
};

// Every problem in the file (not just the first), empty when valid.
std::vector<Problem> check_config_file(const std::string& path);
// The configuration, or the first problem as an error.
Result<Config> load_config_file(const std::string& path);
// The same from text, for tests; `name` stands in for the file name in problems.
Result<Config> load_config_text(const std::string& yaml_text, const std::string& name = "<text>");

// Looks up an environment variable for `${VAR}`; nullopt when it is not set.
using Environment = std::function<std::optional<std::string>(const std::string& name)>;
// The variables of the running process (getenv); what the functions above use.
std::optional<std::string> process_environment(const std::string& name);

// The configuration and every problem found, in one read. `config` holds the file's values
// only when `problems` is empty.
struct Loaded {
  Config config;
  std::vector<Problem> problems;
};
// Relative paths in the file (store.sqlite.path, email.file.directory, later policies and
// templates) are kept as written: they are relative to the daemon's working directory.
Loaded read_config_file(const std::string& path, const Environment& env = process_environment);
Loaded read_config_text(const std::string& yaml_text, const std::string& name,
                        const Environment& env = process_environment);

// A configuration file larger than this is refused rather than parsed.
inline constexpr std::size_t config_file_bytes_max = 1 << 20;

}  // namespace relance::config
