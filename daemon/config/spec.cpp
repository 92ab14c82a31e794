// The keys of relance.yaml, each declared once. Defaults are the member initializers in
// config.hpp; config/relance.yaml lists every key with its default (a test keeps them equal).
// To add a key: add the member to config.hpp, one line here, and the key to config/relance.yaml.

#include "config/spec.hpp"

#include <algorithm>

#include "core/dunning/send_window.hpp"
#include "core/money.hpp"

namespace relance::config::spec {

using namespace std::chrono_literals;

namespace {

// "Name <local@domain>" or "local@domain": enough to refuse what no server would take.
std::optional<std::string> mail_address_problem(const std::string& text) {
  std::string address = text;
  if (const auto open = text.rfind('<'); open != std::string::npos) {
    if (!text.ends_with(">")) return "'" + text + "' has a '<' but does not end with '>'";
    address = text.substr(open + 1, text.size() - open - 2);
  }
  const auto at = address.find('@');
  if (text.find_first_of("\r\n") != std::string::npos || at == std::string::npos || at == 0 ||
      at + 1 == address.size() || address.find_first_of(" \t<>") != std::string::npos) {
    return "'" + text + "' is not an address such as \"Relance <relance@example.fr>\"";
  }
  return {};
}

// A generic request needs both its URL and its body.
std::optional<std::string> pair_problem(const CrmConfig& crm, const std::string& url,
                                        const std::string& body, const std::string& prefix) {
  if (!crm.enabled || crm.preset != CrmPreset::generic) return {};
  if (url.empty() == body.empty()) return {};
  return url.empty() ? "is set, but " + prefix + ".url is empty; give both"
                     : "is empty, but " + prefix + ".url is set; give the JSON body too";
}

// A topic this daemon publishes to must not be one it consumes as events.
std::optional<std::string> own_topic_problem(const KafkaConfig& kafka, const std::string& topic) {
  if (topic.empty()) return {};
  if (std::find(kafka.topics.begin(), kafka.topics.end(), topic) != kafka.topics.end()) {
    return topic + " is also in kafka.topics; the daemon would consume what it publishes";
  }
  if (topic == kafka.dead_letter_topic) return topic + " is also kafka.dead_letter_topic";
  return {};
}

}  // namespace

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

      host<Config>(
          "email.smtp.host", [](Config & c) -> auto& { return c.email.smtp.host; },
          "SMTP server (submission relay); needed when email.sink is smtp", Empty::allowed),
      integer<Config>(
          "email.smtp.port", [](Config & c) -> auto& { return c.email.smtp.port; }, 1, 65535,
          "TCP port of the SMTP server: 587 submission, 465 implicit TLS, 25 relay"),
      enumeration<Config>(
          "email.smtp.tls", [](Config & c) -> auto& { return c.email.smtp.tls; },
          {{"none", SmtpTls::none},
           {"starttls_opportunistic", SmtpTls::starttls_opportunistic},
           {"starttls_required", SmtpTls::starttls_required},
           {"implicit", SmtpTls::implicit}},
          "TLS: STARTTLS required or when offered, implicit (smtps), or none"),
      string<Config>(
          "email.smtp.username", [](Config & c) -> auto& { return c.email.smtp.username; },
          Empty::allowed, "AUTH user name; empty: no authentication"),
      string<Config>(
          "email.smtp.password", [](Config & c) -> auto& { return c.email.smtp.password; },
          Empty::allowed, "AUTH password; better given as ${VARIABLE}"),
      boolean<Config>(
          "email.smtp.plaintext_auth",
          [](Config & c) -> auto& { return c.email.smtp.plaintext_auth; },
          "allow AUTH over a connection without TLS (the password travels in clear)"),
      string<Config>(
          "email.smtp.ca_file", [](Config & c) -> auto& { return c.email.smtp.ca_file; },
          Empty::allowed, "PEM bundle to verify the server with; empty: the system store"),
      string<Config>(
          "email.smtp.helo_domain", [](Config & c) -> auto& { return c.email.smtp.helo_domain; },
          Empty::allowed, "name given in EHLO; empty: this host's name"),
      string<Config>(
          "email.smtp.envelope_from",
          [](Config & c) -> auto& { return c.email.smtp.envelope_from; }, Empty::allowed,
          "MAIL FROM address (bounces); empty: the From address"),
      duration<Config>(
          "email.smtp.connect_timeout",
          [](Config & c) -> auto& { return c.email.smtp.connect_timeout; }, 100ms, 5min,
          "the TCP (and TLS) connection must be up within this"),
      duration<Config>(
          "email.smtp.total_timeout",
          [](Config & c) -> auto& { return c.email.smtp.total_timeout; }, 1s, 1h,
          "one whole message exchange must end within this"),
      string<Config>(
          "email.from", [](Config & c) -> auto& { return c.email.from; }, Empty::rejected,
          "From: of every message, \"Name <address>\" or an address"),
      string<Config>(
          "email.reply_to", [](Config & c) -> auto& { return c.email.reply_to; }, Empty::allowed,
          "Reply-To: of every message; empty: none"),
      host<Config>(
          "email.message_id_domain", [](Config & c) -> auto& { return c.email.message_id_domain; },
          "right-hand side of Message-IDs; the same on every daemon so copies share an id"),

      boolean<Config>(
          "crm.enabled", [](Config & c) -> auto& { return c.crm.enabled; },
          "deliver crm_task and crm_note steps to a CRM over HTTP"),
      enumeration<Config>(
          "crm.preset", [](Config & c) -> auto& { return c.crm.preset; },
          {{"generic", CrmPreset::generic},
           {"hubspot", CrmPreset::hubspot},
           {"pipedrive", CrmPreset::pipedrive}},
          "generic (templated URL and body), hubspot or pipedrive"),
      string<Config>(
          "crm.base_url", [](Config & c) -> auto& { return c.crm.base_url; }, Empty::allowed,
          "presets: the API root, http:// or https://; empty: the preset's default"),
      enumeration<Config>(
          "crm.auth", [](Config & c) -> auto& { return c.crm.auth; },
          {{"none", CrmAuth::none}, {"bearer", CrmAuth::bearer}, {"basic", CrmAuth::basic}},
          "generic: none, bearer (token) or basic (username, password)"),
      string<Config>(
          "crm.token", [](Config & c) -> auto& { return c.crm.token; }, Empty::allowed,
          "bearer token, HubSpot access token or Pipedrive api_token; better ${VARIABLE}"),
      string<Config>(
          "crm.username", [](Config & c) -> auto& { return c.crm.username; }, Empty::allowed,
          "user name when auth is basic"),
      string<Config>(
          "crm.password", [](Config & c) -> auto& { return c.crm.password; }, Empty::allowed,
          "password when auth is basic; better ${VARIABLE}"),
      string<Config>(
          "crm.task.url", [](Config & c) -> auto& { return c.crm.task_url; }, Empty::allowed,
          "generic: mustache URL of a task request, such as https://crm/api/tasks"),
      string<Config>(
          "crm.task.body", [](Config & c) -> auto& { return c.crm.task_body; }, Empty::allowed,
          "generic: mustache JSON body of a task request"),
      string<Config>(
          "crm.note.url", [](Config & c) -> auto& { return c.crm.note_url; }, Empty::allowed,
          "generic: mustache URL of a note request"),
      string<Config>(
          "crm.note.body", [](Config & c) -> auto& { return c.crm.note_body; }, Empty::allowed,
          "generic: mustache JSON body of a note request"),
      string_map<Config>(
          "crm.headers", [](Config & c) -> auto& { return c.crm.headers; }, 50,
          "extra request headers sent as they are"),
      string<Config>(
          "crm.ca_file", [](Config & c) -> auto& { return c.crm.ca_file; }, Empty::allowed,
          "PEM bundle to verify the server with; empty: the system store"),
      duration<Config>(
          "crm.total_timeout", [](Config & c) -> auto& { return c.crm.total_timeout; }, 5s, 10min,
          "one request and its answer must end within this"),

      integer<Config>(
          "dispatcher.batch_max", [](Config & c) -> auto& { return c.dispatcher.batch_max; }, 1,
          10'000, "outbox rows claimed per turn"),
      duration<Config>(
          "dispatcher.poll_interval",
          [](Config & c) -> auto& { return c.dispatcher.poll_interval; }, 10ms, 1h,
          "idle wait between turns when nothing was due"),
      integer<Config>(
          "dispatcher.attempts_max", [](Config & c) -> auto& { return c.dispatcher.attempts_max; },
          1, 100, "failed sends before an action is dead (listed, replayed by an operator)"),
      duration<Config>(
          "dispatcher.backoff_base", [](Config & c) -> auto& { return c.dispatcher.backoff_base; },
          10ms, 1h, "backoff before the first retry; doubles each time, with full jitter"),
      duration<Config>(
          "dispatcher.backoff_max", [](Config & c) -> auto& { return c.dispatcher.backoff_max; },
          10ms, 168h, "longest backoff between two sends"),
      integer<Config>(
          "dispatcher.circuit_failures",
          [](Config & c) -> auto& { return c.dispatcher.circuit_failures; }, 1, 1000,
          "consecutive failed sends of one sink that open its circuit"),
      duration<Config>(
          "dispatcher.circuit_cooldown",
          [](Config & c) -> auto& { return c.dispatcher.circuit_cooldown; }, 1s, 1h,
          "how long an open circuit holds its sink's actions before one probe"),

      string_map<Config>(
          "engine.write_off_tolerance",
          [](Config & c) -> auto& { return c.engine.write_off_tolerance; }, 200,
          "per currency, a short payment leaving at most this open is written off: {EUR: "
          "\"1.00\"}"),
      integer<Config>(
          "engine.promise_grace_days",
          [](Config & c) -> auto& { return c.engine.promise_grace_days; }, 0, 365,
          "days after a promised date before the promise counts as broken"),
      integer<Config>(
          "engine.instalment_grace_days",
          [](Config & c) -> auto& { return c.engine.instalment_grace_days; }, 0, 365,
          "days after an instalment's date before it counts as missed"),

      boolean<Config>(
          "dunning.enabled", [](Config & c) -> auto& { return c.dunning.enabled; },
          "schedule reminders from the policies; false: track receivables only"),
      path<Config>(
          "dunning.policies_directory",
          [](Config & c) -> auto& { return c.dunning.policies_directory; },
          "policies, *.yaml read in name order"),
      path<Config>(
          "dunning.templates_directory",
          [](Config & c) -> auto& { return c.dunning.templates_directory; },
          "message templates, {fr,en}/<name>.{subject,txt,html}"),
      path<Config>(
          "dunning.rates_directory", [](Config & c) -> auto& { return c.dunning.rates_directory; },
          "ECB main refinancing and legal interest rate tables"),
      string<Config>(
          "dunning.calendars_directory",
          [](Config & c) -> auto& { return c.dunning.calendars_directory; }, Empty::allowed,
          "extra business calendars (*.yaml); empty: the built-in ones only"),
      string<Config>(
          "dunning.default_timezone",
          [](Config & c) -> auto& { return c.dunning.default_timezone; }, Empty::rejected,
          "IANA time zone of customers that have none, such as Europe/Paris"),
      integer<Config>(
          "dunning.statement_soon_due_days",
          [](Config & c) -> auto& { return c.dunning.statement_soon_due_days; }, 0, 90,
          "statements also list invoices due within this many days"),
      duration<Config>(
          "dunning.tick_interval", [](Config & c) -> auto& { return c.dunning.tick_interval; },
          100ms, 1h, "how often due steps are looked for"),
      duration<Config>(
          "dunning.retry_interval", [](Config & c) -> auto& { return c.dunning.retry_interval; },
          1min, 7 * 24h,
          "a step that could not be rendered (no address, a rate missing) is tried again after "
          "this long, sooner when the customer changes (or the invoice, for a rate missing)"),
      string<Config>(
          "dunning.company_name", [](Config & c) -> auto& { return c.dunning.company_name; },
          Empty::rejected, "the creditor's name printed in messages"),
      string<Config>(
          "dunning.company_iban", [](Config & c) -> auto& { return c.dunning.company_iban; },
          Empty::allowed, "IBAN printed in the payment details of messages"),
      string<Config>(
          "dunning.company_bic", [](Config & c) -> auto& { return c.dunning.company_bic; },
          Empty::allowed, "BIC printed with the IBAN"),
      string<Config>(
          "dunning.company_email", [](Config & c) -> auto& { return c.dunning.company_email; },
          Empty::allowed, "contact address printed in messages"),

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

      boolean<Config>(
          "kafka.webhook_publish", [](Config & c) -> auto& { return c.kafka.webhook_publish; },
          "POST /v1/events publishes to the first topic instead of writing (several daemons)"),
      string<Config>(
          "kafka.actions_topic", [](Config & c) -> auto& { return c.kafka.actions_topic; },
          Empty::allowed, "dunning actions are published here, keyed by customer; empty: not"),
      string<Config>(
          "kafka.alerts_topic", [](Config & c) -> auto& { return c.kafka.alerts_topic; },
          Empty::allowed, "reconciliation alerts are published here; empty: not"),

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
      {{"email.smtp.host", "email.sink"},
       [](const Config& c) -> std::optional<std::string> {
         if (c.email.sink != EmailSinkKind::smtp || !c.email.smtp.host.empty()) return {};
         return "is empty, and email.sink is smtp; give the SMTP server's host name";
       }},
      {{"email.smtp.username", "email.smtp.tls", "email.smtp.plaintext_auth"},
       [](const Config& c) -> std::optional<std::string> {
         const SmtpConfig& smtp = c.email.smtp;
         if (smtp.username.empty() || smtp.plaintext_auth) return {};
         // Opportunistic STARTTLS can be stripped by whoever sits on the path.
         if (smtp.tls == SmtpTls::none) {
           return "is set, and email.smtp.tls is none: the password would travel in clear; use "
                  "TLS, or set email.smtp.plaintext_auth to true on a trusted network";
         }
         if (smtp.tls == SmtpTls::starttls_opportunistic) {
           return "is set, and email.smtp.tls is starttls_opportunistic: the password may travel "
                  "in clear; use starttls_required, or set email.smtp.plaintext_auth to true";
         }
         return {};
       }},
      {{"email.smtp.password", "email.smtp.username"},
       [](const Config& c) -> std::optional<std::string> {
         const SmtpConfig& smtp = c.email.smtp;
         if (smtp.password.empty() == smtp.username.empty()) return {};
         return smtp.username.empty()
                    ? "is set, but email.smtp.username is empty; give both, or neither"
                    : "is empty, but email.smtp.username is set; give both, or neither";
       }},
      {{"email.smtp.total_timeout", "email.smtp.connect_timeout"},
       [](const Config& c) -> std::optional<std::string> {
         if (c.email.smtp.total_timeout >= c.email.smtp.connect_timeout) return {};
         return "is below email.smtp.connect_timeout; the exchange includes the connection";
       }},
      {{"email.from"},
       [](const Config& c) -> std::optional<std::string> {
         return mail_address_problem(c.email.from);
       }},
      {{"email.reply_to"},
       [](const Config& c) -> std::optional<std::string> {
         if (c.email.reply_to.empty()) return {};
         return mail_address_problem(c.email.reply_to);
       }},
      {{"email.smtp.envelope_from"},
       [](const Config& c) -> std::optional<std::string> {
         const std::string& from = c.email.smtp.envelope_from;
         if (from.empty()) return {};
         if (from.find_first_of("<> \t\r\n") != std::string::npos || from.find('@') == 0 ||
             from.find('@') == std::string::npos || from.find('@') + 1 == from.size()) {
           return "'" + from + "' is not a bare address such as bounces@example.fr";
         }
         return {};
       }},

      {{"crm.task.url", "crm.enabled", "crm.preset"},
       [](const Config& c) -> std::optional<std::string> {
         const CrmConfig& crm = c.crm;
         if (!crm.enabled || crm.preset != CrmPreset::generic) return {};
         if (crm.task_url.empty() && crm.task_body.empty() && crm.note_url.empty() &&
             crm.note_body.empty()) {
           return "is empty, and crm.enabled is true with preset generic; give crm.task.url and "
                  "crm.task.body, or crm.note.url and crm.note.body";
         }
         return {};
       }},
      {{"crm.task.body", "crm.task.url", "crm.enabled"},
       [](const Config& c) -> std::optional<std::string> {
         return pair_problem(c.crm, c.crm.task_url, c.crm.task_body, "crm.task");
       }},
      {{"crm.note.body", "crm.note.url", "crm.enabled"},
       [](const Config& c) -> std::optional<std::string> {
         return pair_problem(c.crm, c.crm.note_url, c.crm.note_body, "crm.note");
       }},
      {{"crm.task.url", "crm.preset"},
       [](const Config& c) -> std::optional<std::string> {
         const CrmConfig& crm = c.crm;
         if (!crm.enabled || crm.preset == CrmPreset::generic) return {};
         if (crm.task_url.empty() && crm.task_body.empty() && crm.note_url.empty() &&
             crm.note_body.empty()) {
           return {};
         }
         return "is set, and crm.preset builds its own requests; remove crm.task and crm.note";
       }},
      {{"crm.token", "crm.auth", "crm.preset"},
       [](const Config& c) -> std::optional<std::string> {
         const CrmConfig& crm = c.crm;
         if (!crm.enabled || !crm.token.empty()) return {};
         if (crm.preset == CrmPreset::hubspot) {
           return "is empty, and crm.preset is hubspot; give a private app access token";
         }
         if (crm.preset == CrmPreset::pipedrive) {
           return "is empty, and crm.preset is pipedrive; give the api_token";
         }
         if (crm.auth == CrmAuth::bearer) return "is empty, and crm.auth is bearer; give the token";
         return {};
       }},
      {{"crm.username", "crm.auth"},
       [](const Config& c) -> std::optional<std::string> {
         if (!c.crm.enabled || c.crm.auth != CrmAuth::basic || !c.crm.username.empty()) return {};
         return "is empty, and crm.auth is basic; give the user name";
       }},
      {{"crm.base_url"},
       [](const Config& c) -> std::optional<std::string> {
         const std::string& url = c.crm.base_url;
         if (url.empty() || url.starts_with("http://") || url.starts_with("https://")) return {};
         return "'" + url + "' does not start with http:// or https://";
       }},

      {{"dispatcher.backoff_max", "dispatcher.backoff_base"},
       [](const Config& c) -> std::optional<std::string> {
         if (c.dispatcher.backoff_max >= c.dispatcher.backoff_base) return {};
         return "is below dispatcher.backoff_base; the longest backoff cannot be shorter than "
                "the first";
       }},

      {{"engine.write_off_tolerance"},
       [](const Config& c) -> std::optional<std::string> {
         for (const auto& [code, amount] : c.engine.write_off_tolerance) {
           const Result<core::Currency> currency = core::Currency::from_code(code);
           if (!currency) return code + ": " + currency.error().message;
           const Result<core::Money> money = core::parse_money(amount, *currency);
           if (!money) return code + ": '" + amount + "': " + money.error().message;
         }
         return {};
       }},

      {{"dunning.default_timezone"},
       [](const Config& c) -> std::optional<std::string> {
         const Result<core::dunning::TimeZone> zone =
             core::dunning::TimeZone::find(c.dunning.default_timezone);
         if (zone) return {};
         return zone.error().message;
       }},

      {{"kafka.webhook_publish", "kafka.enabled", "kafka.topics"},
       [](const Config& c) -> std::optional<std::string> {
         if (!c.kafka.webhook_publish) return {};
         if (!c.kafka.enabled) {
           return "is true, and kafka.enabled is false; publishing needs the Kafka connection "
                  "and the daemons consuming the topics";
         }
         if (c.kafka.topics.empty()) {
           return "is true, and kafka.topics is empty; events are published to the first topic";
         }
         return {};
       }},
      {{"kafka.actions_topic", "kafka.topics"},
       [](const Config& c) -> std::optional<std::string> {
         return own_topic_problem(c.kafka, c.kafka.actions_topic);
       }},
      {{"kafka.alerts_topic", "kafka.topics"},
       [](const Config& c) -> std::optional<std::string> {
         return own_topic_problem(c.kafka, c.kafka.alerts_topic);
       }},
  };
  return checks;
}

}  // namespace relance::config::spec
