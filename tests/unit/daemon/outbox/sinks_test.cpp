// daemon/sinks: the sinks and dispatcher options built from relance.yaml.

#include "sinks.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

namespace relance {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

std::vector<std::string> names(const std::vector<std::unique_ptr<connectors::Sink>>& sinks) {
  std::vector<std::string> out;
  for (const auto& sink : sinks) out.emplace_back(sink->name());
  return out;
}

config::Config loaded(const std::string& yaml) {
  const config::Loaded result = config::read_config_text(
      yaml, "t.yaml", [](const std::string&) -> std::optional<std::string> { return {}; });
  EXPECT_TRUE(result.problems.empty()) << result.problems.front().to_string();
  return result.config;
}

TEST(sinks, default_configuration_writes_files_with_the_configured_message_id_domain) {
  const config::Config config = loaded("email:\n  message_id_domain: relance.exemple.fr\n");
  const auto options = file_sink_options(config.email);
  EXPECT_EQ(options.directory, "var/mail");
  EXPECT_EQ(options.message_id_domain, "relance.exemple.fr");
  core::SystemClock clock;
  const auto sinks = make_sinks(config, clock);
  ASSERT_TRUE(sinks) << sinks.error().to_string();
  EXPECT_EQ(names(*sinks), std::vector<std::string>{"email.file"});
  EXPECT_TRUE(sinks->front()->redelivery_safe());
}

TEST(sinks, smtp_sink_takes_every_smtp_key_and_cannot_be_redelivered_safely) {
  const config::Config config = loaded(
      "email:\n"
      "  sink: smtp\n"
      "  message_id_domain: relance.exemple.fr\n"
      "  smtp:\n"
      "    host: mail.exemple.fr\n"
      "    port: 2525\n"
      "    tls: starttls_opportunistic\n"
      "    username: u\n"
      "    password: p\n"
      "    plaintext_auth: true\n"
      "    ca_file: /etc/ca.pem\n"
      "    helo_domain: relance.exemple.fr\n"
      "    envelope_from: bounces@exemple.fr\n"
      "    connect_timeout: 3s\n"
      "    total_timeout: 20s\n");
  const connectors::SmtpSinkOptions o = smtp_sink_options(config.email);
  EXPECT_EQ(o.host, "mail.exemple.fr");
  EXPECT_EQ(o.port, 2525);
  EXPECT_EQ(o.tls, connectors::SmtpTls::starttls_opportunistic);
  EXPECT_EQ(o.username, "u");
  EXPECT_EQ(o.password, "p");
  EXPECT_EQ(o.plaintext_auth, connectors::PlaintextAuth::allowed);
  EXPECT_EQ(o.ca_file, "/etc/ca.pem");
  EXPECT_EQ(o.helo_domain, "relance.exemple.fr");
  EXPECT_EQ(o.envelope_from, "bounces@exemple.fr");
  EXPECT_EQ(o.message_id_domain, "relance.exemple.fr");
  EXPECT_EQ(o.connect_timeout, 3s);
  EXPECT_EQ(o.total_timeout, 20s);
  core::SystemClock clock;
  const auto sinks = make_sinks(config, clock);
  ASSERT_TRUE(sinks) << sinks.error().to_string();
  EXPECT_EQ(names(*sinks), std::vector<std::string>{"email.smtp"});
  EXPECT_FALSE(sinks->front()->redelivery_safe());
}

TEST(sinks, ipv6_smtp_host_is_bracketed_for_the_url) {
  config::EmailConfig email;
  email.smtp.host = "::1";
  EXPECT_EQ(smtp_sink_options(email).host, "[::1]");
}

TEST(sinks, crm_sink_is_built_when_enabled_with_the_clock_and_templates) {
  const config::Config config = loaded(
      "crm:\n"
      "  enabled: true\n"
      "  auth: bearer\n"
      "  token: t0k\n"
      "  task: {url: 'https://crm.local/tasks', body: '{\"s\": \"{{subject}}\"}'}\n"
      "  headers: {X-Tenant: acme}\n"
      "  total_timeout: 10s\n");
  core::SystemClock clock;
  const connectors::RestSinkOptions o = rest_sink_options(config.crm, clock);
  EXPECT_EQ(o.preset, connectors::CrmPreset::generic);
  ASSERT_TRUE(o.task_request.has_value());
  EXPECT_EQ(o.task_request->url, "https://crm.local/tasks");
  EXPECT_EQ(o.task_request->body, "{\"s\": \"{{subject}}\"}");
  EXPECT_FALSE(o.note_request.has_value());
  EXPECT_EQ(o.auth, connectors::HttpAuth::bearer);
  EXPECT_EQ(o.token, "t0k");
  EXPECT_EQ(o.headers, (std::vector<std::pair<std::string, std::string>>{{"X-Tenant", "acme"}}));
  EXPECT_EQ(o.total_timeout, 10s);
  EXPECT_EQ(o.clock, &clock);
  const auto sinks = make_sinks(config, clock);
  ASSERT_TRUE(sinks) << sinks.error().to_string();
  EXPECT_EQ(names(*sinks), (std::vector<std::string>{"email.file", "crm.rest"}));
  EXPECT_TRUE(sinks->back()->redelivery_safe());
}

TEST(sinks, a_sink_that_cannot_work_names_its_key) {
  config::Config config;
  config.crm.enabled = true;
  config.crm.task_url = "https://crm.local/tasks";
  config.crm.task_body = "{{{subject}}}";  // unescaped: refused by the sink
  core::SystemClock clock;
  const auto sinks = make_sinks(config, clock);
  ASSERT_FALSE(sinks);
  EXPECT_THAT(sinks.error().field, ::testing::StartsWith("crm."));
  EXPECT_THAT(sinks.error().message, HasSubstr("unescaped"));
}

TEST(sinks, kafka_topics_each_get_their_sink_named_for_their_outbox_rows) {
  config::Config config;
  config.kafka.brokers = "127.0.0.1:1";  // nothing listens: a producer connects lazily
  core::SystemClock clock;
  config.kafka.alerts_topic = "relance.alerts";
  auto sinks = make_sinks(config, clock);
  ASSERT_TRUE(sinks) << sinks.error().to_string();
  EXPECT_EQ(names(*sinks), (std::vector<std::string>{"email.file", "kafka.alerts"}));
  config.kafka.actions_topic = "relance.actions";
  sinks = make_sinks(config, clock);
  ASSERT_TRUE(sinks) << sinks.error().to_string();
  EXPECT_EQ(names(*sinks), (std::vector<std::string>{"email.file", "kafka", "kafka.alerts"}));
  // An alert handed to an email sink is refused with a reason, not sent.
  connectors::Delivery alert{"alert:a:open:1", connectors::AlertNotice{}, "C-1"};
  const connectors::SinkAnswer answer = sinks->front()->deliver(alert);
  EXPECT_EQ(answer.outcome, connectors::SinkAnswer::Outcome::rejected);
  EXPECT_THAT(answer.detail, HasSubstr("emails only"));
}

TEST(sinks, dispatcher_options_come_from_the_dispatcher_section) {
  const config::Config config = loaded(
      "dispatcher: {batch_max: 7, poll_interval: 20ms, attempts_max: 3, backoff_base: 1s,"
      " backoff_max: 1m, circuit_failures: 4, circuit_cooldown: 9s}\n");
  const outbox::DispatcherOptions o = dispatcher_options(config.dispatcher);
  EXPECT_EQ(o.batch_max, 7u);
  EXPECT_EQ(o.poll_interval, 20ms);
  EXPECT_EQ(o.attempts_max, 3);
  EXPECT_EQ(o.backoff_base, 1s);
  EXPECT_EQ(o.backoff_max, 1min);
  EXPECT_EQ(o.circuit_failures, 4);
  EXPECT_EQ(o.circuit_cooldown, 9s);
  // The defaults of both agree.
  const outbox::DispatcherOptions defaults = dispatcher_options(config::DispatcherConfig{});
  const outbox::DispatcherOptions plain;
  EXPECT_EQ(defaults.batch_max, plain.batch_max);
  EXPECT_EQ(defaults.poll_interval, plain.poll_interval);
  EXPECT_EQ(defaults.attempts_max, plain.attempts_max);
  EXPECT_EQ(defaults.backoff_base, plain.backoff_base);
  EXPECT_EQ(defaults.backoff_max, plain.backoff_max);
  EXPECT_EQ(defaults.circuit_failures, plain.circuit_failures);
  EXPECT_EQ(defaults.circuit_cooldown, plain.circuit_cooldown);
}

}  // namespace
}  // namespace relance
