#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/spec.hpp"

namespace relance::config {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string shipped_config = RELANCE_SOURCE_DIR "/config/relance.yaml";

Environment fake_environment(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

std::vector<std::string> problems_of(const std::string& yaml,
                                     std::map<std::string, std::string> env = {}) {
  std::vector<std::string> out;
  for (const Problem& p :
       read_config_text(yaml, "config/relance.yaml", fake_environment(env)).problems) {
    out.push_back(p.to_string());
  }
  return out;
}

std::string write_temp_file(const std::string& name, const std::string& text) {
  const std::filesystem::path path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary) << text;
  return path.string();
}

TEST(config, shipped_file_loads_and_equals_the_defaults) {
  const Loaded loaded = read_config_file(shipped_config, fake_environment({}));
  ASSERT_THAT(loaded.problems, ElementsAre());
  EXPECT_TRUE(loaded.config == Config{});
  // And through the public entry points.
  const Result<Config> config = load_config_file(shipped_config);
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_TRUE(*config == Config{});
  EXPECT_THAT(check_config_file(shipped_config), ElementsAre());
}

TEST(config, shipped_file_lists_every_key_with_a_comment) {
  std::ifstream in(shipped_config);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  const YAML::Node root = YAML::LoadFile(shipped_config);
  for (const spec::Field<Config>& field : spec::config_section()) {
    YAML::Node node = root;
    std::stringstream parts(field.path);
    // reset(), not operator=: assigning a YAML::Node writes into the node it refers to.
    for (std::string part; std::getline(parts, part, '.');) node.reset(node[part]);
    ASSERT_TRUE(node.IsDefined()) << field.path << " is missing from config/relance.yaml";
    const int line = node.Mark().line;
    ASSERT_GE(line, 0) << field.path;
    EXPECT_THAT(lines.at(static_cast<std::size_t>(line)), HasSubstr("# "))
        << field.path << " has no comment on its line";
    // A list or map default is shown in flow style ("[]", "{}").
    const std::string shown = !node.IsScalar()        ? YAML::Dump(node)
                              : node.Scalar().empty() ? "\"\""
                                                      : node.Scalar();
    EXPECT_EQ(shown, field.default_text)
        << field.path << " in config/relance.yaml differs from the default in config.hpp";
  }
}

TEST(config, every_key_is_read_into_config) {
  const Loaded loaded = read_config_text(
      "http:\n"
      "  listen_address: 0.0.0.0\n"
      "  port: 9090\n"
      "  threads: 4\n"
      "  body_bytes_max: 512KiB\n"
      "  request_timeout: 5s\n"
      "  idle_timeout: 2m\n"
      "  connections_max: 100\n"
      "store:\n"
      "  backend: postgres\n"
      "  sqlite: {path: /srv/relance.db}\n"
      "  postgres: {url: 'host=db dbname=relance'}\n"
      "writer:\n"
      "  batch_events_max: 500\n"
      "  batch_delay_max: 250us\n"
      "  queue_events_max: 1000\n"
      "email:\n"
      "  sink: smtp\n"
      "  file: {directory: /srv/mail}\n"
      "  smtp: {host: mail.exemple.fr}\n"
      "log: {level: debug}\n"
      "shutdown_timeout: 1m30s\n",
      "t.yaml", fake_environment({}));
  ASSERT_THAT(loaded.problems, ElementsAre());
  const Config& c = loaded.config;
  EXPECT_EQ(c.http.listen_address, "0.0.0.0");
  EXPECT_EQ(c.http.port, 9090);
  EXPECT_EQ(c.http.threads, 4);
  EXPECT_EQ(c.http.body_bytes_max, 512u << 10);
  EXPECT_EQ(c.http.request_timeout, 5s);
  EXPECT_EQ(c.http.idle_timeout, 2min);
  EXPECT_EQ(c.http.connections_max, 100u);
  EXPECT_EQ(c.store.backend, StoreBackend::postgres);
  EXPECT_EQ(c.store.sqlite_path, "/srv/relance.db");
  EXPECT_EQ(c.store.postgres_url, "host=db dbname=relance");
  EXPECT_EQ(c.writer.batch_events_max, 500u);
  EXPECT_EQ(c.writer.batch_delay_max, 250us);
  EXPECT_EQ(c.writer.queue_events_max, 1000u);
  EXPECT_EQ(c.email.sink, EmailSinkKind::smtp);
  EXPECT_EQ(c.email.file_directory, "/srv/mail");
  EXPECT_EQ(c.log_level, LogLevel::debug);
  EXPECT_EQ(c.shutdown_timeout, 90s);
}

TEST(config, unknown_key_names_file_line_and_the_key_it_resembles) {
  EXPECT_THAT(
      problems_of("# comment\nhttp:\n  prot: 8080\n"),
      ElementsAre("config/relance.yaml:3: http.prot: unknown key; did you mean http.port?"));
}

TEST(config, key_in_the_wrong_section_suggests_where_it_belongs) {
  EXPECT_THAT(problems_of("port: 8080\nstore:\n  sqlite_path: x.db\n"),
              ElementsAre("config/relance.yaml:1: port: unknown key; did you mean http.port?",
                          "config/relance.yaml:3: store.sqlite_path: unknown key; did you mean "
                          "store.sqlite.path?"));
}

TEST(config, port_above_its_bound_names_key_value_and_bound) {
  EXPECT_THAT(problems_of("http:\n  port: 70000\n"),
              ElementsAre("config/relance.yaml:2: http.port: 70000 is above the maximum 65535"));
}

TEST(config, every_problem_is_reported_at_once_in_file_order) {
  EXPECT_THAT(
      problems_of("http:\n"
                  "  prot: 8080\n"
                  "  port: -1\n"
                  "  request_timeout: 30\n"
                  "store:\n"
                  "  backend: mysql\n"
                  "log:\n"
                  "  level: ${LEVEL}\n"),
      ElementsAre("config/relance.yaml:2: http.prot: unknown key; did you mean http.port?",
                  "config/relance.yaml:3: http.port: -1 is below the minimum 0",
                  "config/relance.yaml:4: http.request_timeout: '30' has no unit; add one, as in "
                  "30s or 30ms (units are ns, us, ms, s, m, h)",
                  "config/relance.yaml:6: store.backend: 'mysql' is not one of sqlite, postgres",
                  "config/relance.yaml:8: log.level: environment variable LEVEL is not set; set "
                  "it, or give a default with ${LEVEL:-default}"));
}

TEST(config, environment_values_are_interpolated_before_parsing) {
  const Loaded loaded = read_config_text(
      "http:\n  port: ${PORT}\n  listen_address: ${ADDR:-::1}\n"
      "store:\n  sqlite:\n    path: $${literal}/${DIR:-var}/r.db\n",
      "t.yaml", fake_environment({{"PORT", "9999"}}));
  ASSERT_THAT(loaded.problems, ElementsAre());
  EXPECT_EQ(loaded.config.http.port, 9999);
  EXPECT_EQ(loaded.config.http.listen_address, "::1");
  EXPECT_EQ(loaded.config.store.sqlite_path, "${literal}/var/r.db");
}

TEST(config, interpolated_value_is_checked_like_a_written_one) {
  EXPECT_THAT(problems_of("http:\n  port: ${PORT}\n", {{"PORT", "http"}}),
              ElementsAre("config/relance.yaml:2: http.port: 'http' is not an integer"));
}

TEST(config, process_environment_is_the_default_source) {
  ::setenv("RELANCE_CONFIG_TEST_PORT", "8181", 1);
  const Result<Config> config = load_config_text("http: {port: '${RELANCE_CONFIG_TEST_PORT}'}\n");
  ::unsetenv("RELANCE_CONFIG_TEST_PORT");
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->http.port, 8181);
}

TEST(config, postgres_backend_needs_a_url) {
  EXPECT_THAT(problems_of("store:\n  backend: postgres\n"),
              ElementsAre("config/relance.yaml:2: store.postgres.url: is empty, and store.backend "
                          "is postgres; give a libpq connection string"));
}

TEST(config, queue_must_hold_a_batch) {
  EXPECT_THAT(problems_of("writer:\n  batch_events_max: 100\n  queue_events_max: 10\n"),
              ElementsAre("config/relance.yaml:3: writer.queue_events_max: 10 is below "
                          "writer.batch_events_max (100); a batch must fit in the queue"));
}

TEST(config, rule_between_keys_is_skipped_when_one_of_them_is_already_wrong) {
  EXPECT_THAT(problems_of("writer:\n  batch_events_max: 0\n  queue_events_max: 10\n"),
              ElementsAre("config/relance.yaml:2: writer.batch_events_max: 0 is below the "
                          "minimum 1"));
}

TEST(config, invalid_yaml_is_reported_with_its_line) {
  const std::vector<std::string> problems = problems_of("http:\n  port: 1\n bad: [\n");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0], HasSubstr("config/relance.yaml:3: not valid YAML: "));
}

TEST(config, top_level_must_be_a_single_map) {
  EXPECT_THAT(problems_of("- a\n- b\n"),
              ElementsAre("config/relance.yaml:1: expected a map of sections (http:, store:, "
                          "...) at the top level"));
  EXPECT_THAT(problems_of("http: {}\n---\nhttp: {}\n"),
              ElementsAre("config/relance.yaml:3: holds 2 YAML documents; a configuration is one "
                          "(remove the '---')"));
}

TEST(config, empty_file_means_every_default) {
  const Loaded loaded = read_config_text("# nothing\n", "t.yaml", fake_environment({}));
  ASSERT_THAT(loaded.problems, ElementsAre());
  EXPECT_TRUE(loaded.config == Config{});
}

TEST(config, load_returns_the_first_problem_as_an_error) {
  const Result<Config> config = load_config_text("http:\n  port: 70000\n  threads: 0\n", "x.yaml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.error().field, "http.port");
  EXPECT_EQ(config.error().to_string(), "http.port: 70000 is above the maximum 65535 (x.yaml:2)");
}

TEST(config, missing_file_is_a_problem_naming_it) {
  const std::vector<Problem> problems = check_config_file("/nonexistent/relance.yaml");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].to_string(),
            "/nonexistent/relance.yaml: cannot open: No such file or directory");
}

TEST(config, file_above_the_size_limit_is_refused_unread) {
  const std::string path =
      write_temp_file("relance_too_large.yaml", std::string(config_file_bytes_max + 1, '#'));
  const std::vector<Problem> problems = check_config_file(path);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_THAT(problems[0].message, HasSubstr("is larger than 1MiB"));
}

TEST(config, file_problems_carry_the_file_name) {
  const std::string path = write_temp_file("relance_bad_port.yaml", "http:\n  port: x\n");
  EXPECT_THAT(check_config_file(path)[0].to_string(),
              path + ":2: http.port: 'x' is not an integer");
}

TEST(problem, to_string_leaves_out_what_is_unknown) {
  EXPECT_EQ((Problem{"f.yaml", 3, "http.port", "bad"}.to_string()), "f.yaml:3: http.port: bad");
  EXPECT_EQ((Problem{"f.yaml", 0, "http.port", "bad"}.to_string()), "f.yaml: http.port: bad");
  EXPECT_EQ((Problem{"f.yaml", 2, "", "bad"}.to_string()), "f.yaml:2: bad");
}

TEST(config, kafka_section_is_read_with_its_lists_and_client_properties) {
  const Loaded loaded = read_config_text(
      "kafka:\n"
      "  enabled: true\n"
      "  brokers: k1:9092,k2:9092\n"
      "  group_id: relance-prod\n"
      "  topics: [erp.invoices, erp.payments]\n"
      "  dead_letter_topic: erp.dead\n"
      "  batch_messages_max: 500\n"
      "  client:\n"
      "    security.protocol: sasl_ssl\n"
      "    sasl.password: ${KAFKA_PASSWORD}\n",
      "t.yaml", fake_environment({{"KAFKA_PASSWORD", "s3cret"}}));
  ASSERT_THAT(loaded.problems, ElementsAre());
  const KafkaConfig& k = loaded.config.kafka;
  EXPECT_TRUE(k.enabled);
  EXPECT_EQ(k.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(k.group_id, "relance-prod");
  EXPECT_THAT(k.topics, ElementsAre("erp.invoices", "erp.payments"));
  EXPECT_EQ(k.dead_letter_topic, "erp.dead");
  EXPECT_EQ(k.batch_messages_max, 500u);
  EXPECT_EQ(k.client, (std::map<std::string, std::string>{{"sasl.password", "s3cret"},
                                                          {"security.protocol", "sasl_ssl"}}));
}

TEST(config, kafka_enabled_needs_topics_and_a_dead_letter_topic_outside_them) {
  EXPECT_THAT(problems_of("kafka:\n  enabled: true\n"),
              ElementsAre(HasSubstr("kafka.topics: is empty, and kafka.enabled is true"),
                          HasSubstr("kafka.dead_letter_topic: is empty, and kafka.enabled")));
  EXPECT_THAT(problems_of("kafka:\n  enabled: true\n  topics: [a, b]\n  dead_letter_topic: b\n"),
              ElementsAre("config/relance.yaml:4: kafka.dead_letter_topic: b is also in "
                          "kafka.topics; it would consume its own dead letters"));
  EXPECT_THAT(
      problems_of("kafka:\n  topics: [a, a, \"\"]\n  client: [x]\n"),
      ElementsAre("config/relance.yaml:2: kafka.topics[1]: 'a' is listed twice",
                  "config/relance.yaml:2: kafka.topics[2]: is empty",
                  "config/relance.yaml:3: kafka.client: expected a map of names to values"));
}

}  // namespace
}  // namespace relance::config
