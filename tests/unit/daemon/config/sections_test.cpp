// The engine, dunning, email (SMTP), CRM, dispatcher and Kafka sink keys, and the rules between
// them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace relance::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

Environment no_environment() {
  return [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
}

std::vector<std::string> problems_of(const std::string& yaml) {
  std::vector<std::string> out;
  for (const Problem& p : read_config_text(yaml, "r.yaml", no_environment()).problems) {
    out.push_back(p.to_string());
  }
  return out;
}

Config config_of(const std::string& yaml) {
  const Loaded loaded = read_config_text(yaml, "r.yaml", no_environment());
  EXPECT_THAT(loaded.problems, IsEmpty()) << yaml;
  return loaded.config;
}

TEST(config_sections, email_smtp_keys_are_read) {
  const Config c = config_of(
      "email:\n"
      "  sink: smtp\n"
      "  from: Compta <compta@exemple.fr>\n"
      "  reply_to: recouvrement@exemple.fr\n"
      "  message_id_domain: relance.exemple.fr\n"
      "  smtp:\n"
      "    host: mail.exemple.fr\n"
      "    port: 465\n"
      "    tls: implicit\n"
      "    username: relance\n"
      "    password: s3cret\n"
      "    ca_file: /etc/ssl/ca.pem\n"
      "    helo_domain: relance.exemple.fr\n"
      "    envelope_from: bounces@exemple.fr\n"
      "    connect_timeout: 2s\n"
      "    total_timeout: 20s\n");
  EXPECT_EQ(c.email.sink, EmailSinkKind::smtp);
  EXPECT_EQ(c.email.from, "Compta <compta@exemple.fr>");
  EXPECT_EQ(c.email.reply_to, "recouvrement@exemple.fr");
  EXPECT_EQ(c.email.message_id_domain, "relance.exemple.fr");
  const SmtpConfig& s = c.email.smtp;
  EXPECT_EQ(s.host, "mail.exemple.fr");
  EXPECT_EQ(s.port, 465);
  EXPECT_EQ(s.tls, SmtpTls::implicit);
  EXPECT_EQ(s.username, "relance");
  EXPECT_EQ(s.password, "s3cret");
  EXPECT_EQ(s.ca_file, "/etc/ssl/ca.pem");
  EXPECT_EQ(s.helo_domain, "relance.exemple.fr");
  EXPECT_EQ(s.envelope_from, "bounces@exemple.fr");
  EXPECT_EQ(s.connect_timeout, 2s);
  EXPECT_EQ(s.total_timeout, 20s);
}

TEST(config_sections, smtp_sink_needs_a_host) {
  EXPECT_THAT(problems_of("email:\n  sink: smtp\n"),
              ElementsAre("r.yaml:2: email.smtp.host: is empty, and email.sink is smtp; give the "
                          "SMTP server's host name"));
  EXPECT_THAT(problems_of("email:\n  sink: smtp\n  smtp:\n    host: mail exemple\n"),
              ElementsAre(HasSubstr("r.yaml:4: email.smtp.host: 'mail exemple' is not an IP "
                                    "address or a host name")));
  // The file sink does not need one.
  EXPECT_THAT(problems_of("email:\n  sink: file\n"), IsEmpty());
}

TEST(config_sections, smtp_authentication_without_tls_must_be_asked_for) {
  EXPECT_THAT(problems_of("email:\n  smtp:\n    tls: none\n    username: u\n    password: p\n"),
              ElementsAre(HasSubstr("r.yaml:4: email.smtp.username: is set, and email.smtp.tls "
                                    "is none: the password would travel in clear")));
  EXPECT_THAT(problems_of("email:\n  smtp:\n    tls: starttls_opportunistic\n    username: u\n"
                          "    password: p\n"),
              ElementsAre(HasSubstr("email.smtp.username: is set, and email.smtp.tls is "
                                    "starttls_opportunistic: the password may travel in clear")));
  EXPECT_THAT(problems_of("email:\n  smtp:\n    tls: none\n    username: u\n    password: p\n"
                          "    plaintext_auth: true\n"),
              IsEmpty());
  EXPECT_THAT(problems_of("email:\n  smtp:\n    username: u\n"),
              ElementsAre("r.yaml:3: email.smtp.password: is empty, but email.smtp.username is "
                          "set; give both, or neither"));
  EXPECT_THAT(problems_of("email:\n  smtp:\n    password: p\n"),
              ElementsAre("r.yaml:3: email.smtp.password: is set, but email.smtp.username is "
                          "empty; give both, or neither"));
  EXPECT_THAT(problems_of("email:\n  smtp:\n    connect_timeout: 30s\n    total_timeout: 10s\n"),
              ElementsAre(HasSubstr("r.yaml:4: email.smtp.total_timeout: is below "
                                    "email.smtp.connect_timeout")));
  EXPECT_THAT(problems_of("email:\n  smtp:\n    tls: starttls\n"),
              ElementsAre(HasSubstr("email.smtp.tls: 'starttls' is not one of none, "
                                    "starttls_opportunistic, starttls_required, implicit")));
}

TEST(config_sections, addresses_are_checked) {
  EXPECT_THAT(problems_of("email:\n  from: Relance\n"),
              ElementsAre(HasSubstr("r.yaml:2: email.from: 'Relance' is not an address")));
  EXPECT_THAT(problems_of("email:\n  from: Relance <relance@x.fr\n"),
              ElementsAre(HasSubstr("email.from: 'Relance <relance@x.fr' has a '<' but does not "
                                    "end with '>'")));
  EXPECT_THAT(problems_of("email:\n  reply_to: \"@x.fr\"\n"),
              ElementsAre(HasSubstr("email.reply_to: '@x.fr' is not an address")));
  EXPECT_THAT(problems_of("email:\n  smtp:\n    envelope_from: <b@x.fr>\n"),
              ElementsAre(HasSubstr("email.smtp.envelope_from: '<b@x.fr>' is not a bare address")));
  EXPECT_THAT(problems_of("email:\n  message_id_domain: \"a b\"\n"),
              ElementsAre(HasSubstr("email.message_id_domain: 'a b' is not an IP address or a "
                                    "host name")));
  EXPECT_THAT(problems_of("email:\n  from: relance@x.fr\n  reply_to: R <r@x.fr>\n"), IsEmpty());
}

TEST(config_sections, crm_keys_are_read) {
  const Config c = config_of(
      "crm:\n"
      "  enabled: true\n"
      "  auth: basic\n"
      "  username: relance\n"
      "  password: pw\n"
      "  task:\n"
      "    url: https://crm.local/api/tasks\n"
      "    body: '{\"title\": \"{{subject}}\"}'\n"
      "  headers: {X-Tenant: acme}\n"
      "  ca_file: /etc/ssl/crm.pem\n"
      "  total_timeout: 10s\n");
  const CrmConfig& crm = c.crm;
  EXPECT_TRUE(crm.enabled);
  EXPECT_EQ(crm.preset, CrmPreset::generic);
  EXPECT_EQ(crm.auth, CrmAuth::basic);
  EXPECT_EQ(crm.username, "relance");
  EXPECT_EQ(crm.password, "pw");
  EXPECT_EQ(crm.task_url, "https://crm.local/api/tasks");
  EXPECT_EQ(crm.task_body, "{\"title\": \"{{subject}}\"}");
  EXPECT_EQ(crm.note_url, "");
  EXPECT_EQ(crm.headers, (std::map<std::string, std::string>{{"X-Tenant", "acme"}}));
  EXPECT_EQ(crm.ca_file, "/etc/ssl/crm.pem");
  EXPECT_EQ(crm.total_timeout, 10s);

  const Config hubspot = config_of(
      "crm: {enabled: true, preset: hubspot, token: pat-1, base_url: 'http://127.0.0.1:9'}\n");
  EXPECT_EQ(hubspot.crm.preset, CrmPreset::hubspot);
  EXPECT_EQ(hubspot.crm.token, "pat-1");
  EXPECT_EQ(hubspot.crm.base_url, "http://127.0.0.1:9");
}

TEST(config_sections, generic_crm_needs_a_request_url_and_body) {
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n"),
              ElementsAre("r.yaml:2: crm.task.url: is empty, and crm.enabled is true with preset "
                          "generic; give crm.task.url and crm.task.body, or crm.note.url and "
                          "crm.note.body"));
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  task:\n    url: https://c/t\n"),
              ElementsAre("r.yaml:4: crm.task.body: is empty, but crm.task.url is set; give the "
                          "JSON body too"));
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  note:\n    body: '{}'\n"),
              ElementsAre("r.yaml:4: crm.note.body: is set, but crm.note.url is empty; give both"));
  // A note alone is enough; disabled, nothing is needed.
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  note: {url: 'https://c/n', body: '{}'}\n"),
              IsEmpty());
  EXPECT_THAT(problems_of("crm:\n  enabled: false\n  task: {url: 'https://c/t'}\n"), IsEmpty());
}

TEST(config_sections, crm_credentials_follow_auth_and_preset) {
  const std::string task = "  task: {url: 'https://c/t', body: '{}'}\n";
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  auth: bearer\n" + task),
              ElementsAre("r.yaml:3: crm.token: is empty, and crm.auth is bearer; give the token"));
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  auth: basic\n" + task),
              ElementsAre("r.yaml:3: crm.username: is empty, and crm.auth is basic; give the "
                          "user name"));
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  preset: hubspot\n"),
              ElementsAre("r.yaml:3: crm.token: is empty, and crm.preset is hubspot; give a "
                          "private app access token"));
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  preset: pipedrive\n"),
              ElementsAre(HasSubstr("crm.token: is empty, and crm.preset is pipedrive")));
  EXPECT_THAT(problems_of("crm:\n  enabled: true\n  preset: pipedrive\n  token: t\n" + task),
              ElementsAre(HasSubstr("crm.task.url: is set, and crm.preset builds its own "
                                    "requests")));
  EXPECT_THAT(problems_of("crm:\n  base_url: ftp://crm\n"),
              ElementsAre("r.yaml:2: crm.base_url: 'ftp://crm' does not start with http:// or "
                          "https://"));
}

TEST(config_sections, dispatcher_keys_are_read_and_backoff_ordered) {
  const Config c = config_of(
      "dispatcher:\n"
      "  batch_max: 10\n"
      "  poll_interval: 50ms\n"
      "  attempts_max: 3\n"
      "  backoff_base: 100ms\n"
      "  backoff_max: 2s\n"
      "  circuit_failures: 2\n"
      "  circuit_cooldown: 5s\n");
  EXPECT_EQ(c.dispatcher.batch_max, 10u);
  EXPECT_EQ(c.dispatcher.poll_interval, 50ms);
  EXPECT_EQ(c.dispatcher.attempts_max, 3);
  EXPECT_EQ(c.dispatcher.backoff_base, 100ms);
  EXPECT_EQ(c.dispatcher.backoff_max, 2s);
  EXPECT_EQ(c.dispatcher.circuit_failures, 2);
  EXPECT_EQ(c.dispatcher.circuit_cooldown, 5s);
  EXPECT_THAT(problems_of("dispatcher:\n  backoff_base: 1m\n  backoff_max: 10s\n"),
              ElementsAre(HasSubstr("r.yaml:3: dispatcher.backoff_max: is below "
                                    "dispatcher.backoff_base")));
  EXPECT_THAT(problems_of("dispatcher:\n  attempts_max: 0\n"),
              ElementsAre("r.yaml:2: dispatcher.attempts_max: 0 is below the minimum 1"));
}

TEST(config_sections, write_off_tolerance_is_an_amount_per_iso_currency) {
  const Config c = config_of(
      "engine:\n  write_off_tolerance: {EUR: \"1.00\", JPY: \"100\"}\n  promise_grace_days: 5\n"
      "  instalment_grace_days: 0\n");
  EXPECT_EQ(c.engine.write_off_tolerance,
            (std::map<std::string, std::string>{{"EUR", "1.00"}, {"JPY", "100"}}));
  EXPECT_EQ(c.engine.promise_grace_days, 5);
  EXPECT_EQ(c.engine.instalment_grace_days, 0);

  const std::vector<std::string> unknown =
      problems_of("engine:\n  write_off_tolerance: {EUX: \"1.00\"}\n");
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_THAT(unknown[0], HasSubstr("r.yaml:2: engine.write_off_tolerance: EUX: "));
  EXPECT_THAT(unknown[0], HasSubstr("EUX"));
  const std::vector<std::string> decimals =
      problems_of("engine:\n  write_off_tolerance: {JPY: \"0.50\"}\n");
  ASSERT_EQ(decimals.size(), 1u);
  EXPECT_THAT(decimals[0], HasSubstr("engine.write_off_tolerance: JPY: '0.50': "));
  EXPECT_THAT(problems_of("engine:\n  write_off_tolerance: {EUR: \"-1\"}\n"),
              ElementsAre(HasSubstr("engine.write_off_tolerance: EUR: '-1': ")));
  EXPECT_THAT(problems_of("engine:\n  promise_grace_days: 400\n"),
              ElementsAre(HasSubstr("engine.promise_grace_days: 400 is above the maximum 365")));
}

TEST(config_sections, dunning_keys_are_read_and_the_time_zone_checked) {
  const Config c = config_of(
      "dunning:\n"
      "  enabled: false\n"
      "  policies_directory: /etc/relance/policies\n"
      "  templates_directory: /etc/relance/templates\n"
      "  rates_directory: /etc/relance/rates\n"
      "  calendars_directory: /etc/relance/calendars\n"
      "  default_timezone: America/Montreal\n"
      "  statement_soon_due_days: 7\n"
      "  tick_interval: 1s\n"
      "  retry_interval: 15m\n"
      "  company_name: ACME SAS\n"
      "  company_iban: FR7630006000011234567890189\n"
      "  company_bic: AGRIFRPP\n"
      "  company_email: compta@acme.fr\n");
  const DunningConfig& d = c.dunning;
  EXPECT_FALSE(d.enabled);
  EXPECT_EQ(d.policies_directory, "/etc/relance/policies");
  EXPECT_EQ(d.templates_directory, "/etc/relance/templates");
  EXPECT_EQ(d.rates_directory, "/etc/relance/rates");
  EXPECT_EQ(d.calendars_directory, "/etc/relance/calendars");
  EXPECT_EQ(d.default_timezone, "America/Montreal");
  EXPECT_EQ(d.statement_soon_due_days, 7);
  EXPECT_EQ(d.tick_interval, 1s);
  EXPECT_EQ(d.retry_interval, 15min);
  // A held step is retried hourly unless told otherwise, never in a loop nor after weeks.
  EXPECT_EQ(config_of("dunning:\n  enabled: true\n").dunning.retry_interval, 1h);
  EXPECT_THAT(problems_of("dunning:\n  retry_interval: 10s\n"),
              ElementsAre(HasSubstr("r.yaml:2: dunning.retry_interval: 10s is below the minimum")));
  EXPECT_THAT(
      problems_of("dunning:\n  retry_interval: 169h\n"),
      ElementsAre(HasSubstr("r.yaml:2: dunning.retry_interval: 169h is above the maximum")));
  EXPECT_EQ(d.company_name, "ACME SAS");
  EXPECT_EQ(d.company_iban, "FR7630006000011234567890189");
  EXPECT_EQ(d.company_bic, "AGRIFRPP");
  EXPECT_EQ(d.company_email, "compta@acme.fr");

  EXPECT_THAT(problems_of("dunning:\n  default_timezone: Europe/Lutece\n"),
              ElementsAre("r.yaml:2: dunning.default_timezone: 'Europe/Lutece' is not a time "
                          "zone of the IANA database (e.g. Europe/Paris)"));
  EXPECT_THAT(problems_of("dunning:\n  policies_directory: \"\"\n"),
              ElementsAre("r.yaml:2: dunning.policies_directory: is empty; give a value or "
                          "remove the key"));
}

TEST(config_sections, kafka_publishing_needs_the_connection_and_its_own_topics) {
  EXPECT_THAT(problems_of("kafka:\n  webhook_publish: true\n"),
              ElementsAre(HasSubstr("r.yaml:2: kafka.webhook_publish: is true, and kafka.enabled "
                                    "is false")));
  const std::string enabled = "kafka:\n  enabled: true\n  topics: [erp]\n  dead_letter_topic: dl\n";
  const Config c = config_of(enabled +
                             "  webhook_publish: true\n  actions_topic: relance.actions\n"
                             "  alerts_topic: relance.alerts\n");
  EXPECT_TRUE(c.kafka.webhook_publish);
  EXPECT_EQ(c.kafka.actions_topic, "relance.actions");
  EXPECT_EQ(c.kafka.alerts_topic, "relance.alerts");
  EXPECT_THAT(problems_of(enabled + "  actions_topic: erp\n"),
              ElementsAre("r.yaml:5: kafka.actions_topic: erp is also in kafka.topics; the "
                          "daemon would consume what it publishes"));
  EXPECT_THAT(problems_of(enabled + "  alerts_topic: dl\n"),
              ElementsAre("r.yaml:5: kafka.alerts_topic: dl is also kafka.dead_letter_topic"));
}

}  // namespace
}  // namespace relance::config
