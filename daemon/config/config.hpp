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
  std::chrono::microseconds batch_delay_max{200};
  std::size_t queue_events_max = 200000;

  friend bool operator==(const WriterConfig&, const WriterConfig&) = default;
};

enum class EmailSinkKind { file, smtp };

enum class SmtpTls { none, starttls_opportunistic, starttls_required, implicit };

struct SmtpConfig {
  std::string host;  // empty: not set; needed when email.sink is smtp
  std::uint16_t port = 587;
  SmtpTls tls = SmtpTls::starttls_required;
  std::string username;  // empty: no AUTH
  std::string password;
  bool plaintext_auth = false;  // AUTH over a connection without TLS
  std::string ca_file;          // PEM bundle; empty: the system store
  std::string helo_domain;      // empty: this host's name
  std::string envelope_from;    // MAIL FROM; empty: each message's From address
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds total_timeout{60000};

  friend bool operator==(const SmtpConfig&, const SmtpConfig&) = default;
};

struct EmailConfig {
  EmailSinkKind sink = EmailSinkKind::file;
  std::string file_directory = "var/mail";
  std::string from = "Relance <relance@localhost>";  // From: of every message
  std::string reply_to;                              // empty: none
  // Right-hand side of Message-IDs; the same on every daemon so receivers can deduplicate.
  std::string message_id_domain = "relance.invalid";
  SmtpConfig smtp;

  friend bool operator==(const EmailConfig&, const EmailConfig&) = default;
};

enum class CrmPreset { generic, hubspot, pipedrive };
enum class CrmAuth { none, bearer, basic };

// The CRM sink (crm_task and crm_note steps): generic JSON over HTTP, or a preset.
struct CrmConfig {
  bool enabled = false;
  CrmPreset preset = CrmPreset::generic;
  std::string base_url;  // presets: the API root; empty: the preset's default
  CrmAuth auth = CrmAuth::none;
  std::string token;  // bearer token, or Pipedrive api_token
  std::string username;
  std::string password;
  // generic: mustache templates of the request per activity kind
  std::string task_url;
  std::string task_body;
  std::string note_url;
  std::string note_body;
  std::map<std::string, std::string> headers;
  std::string ca_file;
  std::chrono::milliseconds total_timeout{30000};

  friend bool operator==(const CrmConfig&, const CrmConfig&) = default;
};

// Delivery of the outbox (see outbox::DispatcherOptions).
struct DispatcherConfig {
  std::size_t batch_max = 64;
  std::chrono::milliseconds poll_interval{1000};
  int attempts_max = 8;
  std::chrono::milliseconds backoff_base{30000};
  std::chrono::milliseconds backoff_max{6 * 3600 * 1000};
  int circuit_failures = 5;
  std::chrono::milliseconds circuit_cooldown{60000};

  friend bool operator==(const DispatcherConfig&, const DispatcherConfig&) = default;
};

// The receivable engine (see core::engine::EngineOptions).
struct EngineConfig {
  // A short payment leaving at most this much open closes the receivable with a write-off;
  // money strings per currency, e.g. {EUR: "1.00"}.
  std::map<std::string, std::string> write_off_tolerance;
  int promise_grace_days = 3;
  int instalment_grace_days = 3;

  friend bool operator==(const EngineConfig&, const EngineConfig&) = default;
};

// Dunning: policies, templates and rate tables read at start; the scheduler runs in the writer.
struct DunningConfig {
  bool enabled = true;
  std::string policies_directory = "config/policies";    // *.yaml, in name order
  std::string templates_directory = "config/templates";  // {fr,en}/<name>.{subject,txt,html}
  std::string rates_directory = "config/rates";          // ECB and legal interest rates
  std::string calendars_directory;                       // extra business calendars; empty: none
  std::string default_timezone = "Europe/Paris";         // customers without a time zone
  int statement_soon_due_days = 0;  // statements also list invoices due within this many days
  std::chrono::milliseconds tick_interval{30000};  // how often due steps are looked for
  // A step that could not be rendered (held) is tried again after this long, in the send window.
  std::chrono::milliseconds retry_interval{std::chrono::hours(1)};
  // Printed in messages (payment details).
  std::string company_name = "Relance";
  std::string company_iban;
  std::string company_bic;
  std::string company_email;

  friend bool operator==(const DunningConfig&, const DunningConfig&) = default;
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
  // Several daemons: POST /v1/events publishes to the first of `topics` (keyed by customer)
  // instead of writing, so that the owner of the customer's partition applies it.
  bool webhook_publish = false;
  // The Kafka sink: actions and alerts published through the outbox, keyed by customer, with
  // the idempotent producer. Empty: not published.
  std::string actions_topic;
  std::string alerts_topic;

  friend bool operator==(const KafkaConfig&, const KafkaConfig&) = default;
};

enum class LogLevel { debug, info, warn, error };

struct Config {
  HttpConfig http;
  StoreConfig store;
  WriterConfig writer;
  EngineConfig engine;
  DunningConfig dunning;
  EmailConfig email;
  CrmConfig crm;
  DispatcherConfig dispatcher;
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
