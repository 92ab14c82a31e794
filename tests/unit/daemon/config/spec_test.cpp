// The declaration machinery on a struct of its own, so that every type (boolean, lists of maps,
// required keys) is exercised even where relance.yaml does not use it yet.

#include "config/spec.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace relance::config::spec {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;

enum class Kind { rest, kafka };

struct Sink {
  std::string name;
  Kind kind = Kind::rest;
  std::string url;
  friend bool operator==(const Sink&, const Sink&) = default;
};

struct Sample {
  std::string label = "none";
  std::int32_t count = 5;
  bool enabled = false;
  std::chrono::milliseconds wait{250};
  std::size_t body = 1024;
  std::string bind = "127.0.0.1";
  Kind kind = Kind::rest;
  std::string file = "var/x";
  std::vector<Sink> sinks;
};

const Section<Sink>& sink_section() {
  static const Section<Sink> section = {
      required(string<Sink>(
          "name", [](Sink & s) -> auto& { return s.name; }, Empty::rejected, "name of the sink")),
      enumeration<Sink>(
          "kind", [](Sink & s) -> auto& { return s.kind; },
          {{"rest", Kind::rest}, {"kafka", Kind::kafka}}, "protocol"),
      string<Sink>(
          "endpoint.url", [](Sink & s) -> auto& { return s.url; }, Empty::allowed, "url"),
  };
  return section;
}

const Section<Sample>& sample_section() {
  static const Section<Sample> section = {
      string<Sample>(
          "label", [](Sample & s) -> auto& { return s.label; }, Empty::allowed, "label"),
      integer<Sample>(
          "limits.count", [](Sample & s) -> auto& { return s.count; }, 1, 10, "count"),
      boolean<Sample>(
          "limits.enabled", [](Sample & s) -> auto& { return s.enabled; }, "on/off"),
      duration<Sample>(
          "limits.wait", [](Sample & s) -> auto& { return s.wait; }, 1ms, 1min, "wait"),
      byte_size<Sample>(
          "limits.body", [](Sample & s) -> auto& { return s.body; }, 1, 1 << 20, "body"),
      host<Sample>(
          "bind", [](Sample & s) -> auto& { return s.bind; }, "bind"),
      enumeration<Sample>(
          "kind", [](Sample & s) -> auto& { return s.kind; },
          {{"rest", Kind::rest}, {"kafka", Kind::kafka}}, "kind"),
      path<Sample>(
          "file", [](Sample & s) -> auto& { return s.file; }, "file"),
      list<Sample>(
          "sinks", [](Sample & s) -> auto& { return s.sinks; }, sink_section(), 2, "sinks"),
  };
  return section;
}

struct Read {
  Sample value;
  std::vector<std::string> problems;  // Problem::to_string of each
};

Read read(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  Context context("s.yaml", [env](const std::string& name) -> std::optional<std::string> {
    const auto found = env.find(name);
    if (found == env.end()) return std::nullopt;
    return found->second;
  });
  Read out;
  read_section(YAML::Load(yaml), sample_section(), out.value, context, "", 1);
  for (const Problem& problem : context.problems()) out.problems.push_back(problem.to_string());
  return out;
}

TEST(spec, every_type_is_read_into_its_member) {
  const Read r = read(
      "label: hello\n"
      "limits:\n"
      "  count: 7\n"
      "  enabled: true\n"
      "  wait: 2s\n"
      "  body: 64KiB\n"
      "bind: ::1\n"
      "kind: kafka\n"
      "file: /tmp/f\n"
      "sinks:\n"
      "  - name: crm\n"
      "    kind: kafka\n"
      "    endpoint: {url: 'http://crm'}\n"
      "  - name: other\n");
  ASSERT_THAT(r.problems, ElementsAre());
  EXPECT_EQ(r.value.label, "hello");
  EXPECT_EQ(r.value.count, 7);
  EXPECT_TRUE(r.value.enabled);
  EXPECT_EQ(r.value.wait, 2s);
  EXPECT_EQ(r.value.body, 64u << 10);
  EXPECT_EQ(r.value.bind, "::1");
  EXPECT_EQ(r.value.kind, Kind::kafka);
  EXPECT_EQ(r.value.file, "/tmp/f");
  EXPECT_THAT(r.value.sinks,
              ElementsAre(Sink{"crm", Kind::kafka, "http://crm"}, Sink{"other", Kind::rest, ""}));
}

TEST(spec, missing_keys_keep_the_struct_defaults) {
  const Read r = read("label: x\n");
  ASSERT_THAT(r.problems, ElementsAre());
  EXPECT_EQ(r.value.count, 5);
  EXPECT_EQ(r.value.wait, 250ms);
  EXPECT_TRUE(r.value.sinks.empty());
}

TEST(spec, defaults_are_shown_as_written_in_yaml) {
  std::map<std::string, std::string> defaults;
  for (const Field<Sample>& field : sample_section()) defaults[field.path] = field.default_text;
  EXPECT_EQ(defaults["limits.wait"], "250ms");
  EXPECT_EQ(defaults["limits.body"], "1KiB");
  EXPECT_EQ(defaults["limits.enabled"], "false");
  EXPECT_EQ(defaults["kind"], "rest");
  EXPECT_EQ(defaults["sinks"], "[]");
}

TEST(spec, out_of_bounds_values_name_key_value_and_bound) {
  const Read r = read(
      "limits:\n"
      "  count: 11\n"
      "  wait: 0ms\n"
      "  body: 2MiB\n");
  EXPECT_THAT(r.problems, ElementsAre("s.yaml:2: limits.count: 11 is above the maximum 10",
                                      "s.yaml:3: limits.wait: 0ms is below the minimum 1ms",
                                      "s.yaml:4: limits.body: 2MiB is above the maximum 1MiB"));
}

TEST(spec, wrong_types_name_key_and_value) {
  const Read r = read(
      "label: [a, b]\n"
      "limits:\n"
      "  count: many\n"
      "  enabled: yes\n"
      "  wait: 10\n"
      "  body: lots\n"
      "bind: 'not a host'\n"
      "kind: soap\n"
      "file: ''\n"
      "sinks: {name: x}\n");
  EXPECT_THAT(
      r.problems,
      ElementsAre("s.yaml:1: label: expected a single value, found a list",
                  "s.yaml:3: limits.count: 'many' is not an integer",
                  "s.yaml:4: limits.enabled: 'yes' is not a boolean; write true or false",
                  "s.yaml:5: limits.wait: '10' has no unit; add one, as in 10s or 10ms (units are "
                  "ns, us, ms, s, m, h)",
                  "s.yaml:6: limits.body: 'lots' is not a size such as 16MiB or 1048576",
                  "s.yaml:7: bind: 'not a host' is not an IP address or a host name (write IPv6 "
                  "addresses without [])",
                  "s.yaml:8: kind: 'soap' is not one of rest, kafka",
                  "s.yaml:9: file: is empty; give a value or remove the key",
                  "s.yaml:10: sinks: expected a list of maps (lines starting with '- ')"));
}

TEST(spec, duration_finer_than_the_member_is_refused) {
  const Read r = read("limits:\n  wait: 1500us\n");
  EXPECT_THAT(r.problems, ElementsAre("s.yaml:2: limits.wait: 1500us is finer than this setting "
                                      "counts; write a whole number of 1ms"));
}

TEST(spec, value_without_text_and_section_given_a_value_are_problems) {
  const Read r = read("label:\nlimits: 3\n");
  EXPECT_THAT(r.problems,
              ElementsAre("s.yaml:1: label: has no value; give one, or remove the key to keep the "
                          "default",
                          "s.yaml:2: limits: is a section, not a value; put its keys under it, "
                          "such as limits.count"));
}

TEST(spec, empty_section_keeps_defaults) {
  const Read r = read("limits:\n");
  EXPECT_THAT(r.problems, ElementsAre());
  EXPECT_EQ(r.value.count, 5);
}

TEST(spec, duplicate_key_is_reported_with_the_first_line) {
  // yaml-cpp keeps both entries of a duplicated key; a silent "last wins" hides mistakes.
  const Read r = read("label: a\nlabel: b\n");
  EXPECT_THAT(
      r.problems,
      ElementsAre("s.yaml:2: label: appears twice in the same map; the first is on line 1"));
}

TEST(spec, unknown_keys_in_list_items_are_located_and_suggested) {
  const Read r = read(
      "sinks:\n"
      "  - name: a\n"
      "    knid: rest\n"
      "  - name: b\n"
      "    endpoint:\n"
      "      ulr: x\n");
  EXPECT_THAT(r.problems,
              ElementsAre("s.yaml:3: sinks[0].knid: unknown key; did you mean sinks[0].kind?",
                          "s.yaml:6: sinks[1].endpoint.ulr: unknown key; did you mean "
                          "sinks[1].endpoint.url?"));
}

TEST(spec, required_key_missing_from_a_list_item_is_a_problem) {
  const Read r = read("sinks:\n  - kind: rest\n");
  EXPECT_THAT(r.problems, ElementsAre("s.yaml:2: sinks[0].name: is required (name of the sink)"));
}

TEST(spec, list_longer_than_its_maximum_is_refused) {
  const Read r = read("sinks:\n  - name: a\n  - name: b\n  - name: c\n");
  EXPECT_THAT(r.problems, ElementsAre("s.yaml:1: sinks: 3 items is above the maximum 2"));
}

TEST(spec, environment_applies_to_every_scalar_including_list_items) {
  const Read r =
      read("limits:\n  count: ${N}\nsinks:\n  - name: ${SINK:-fallback}\n", {{"N", "9"}});
  ASSERT_THAT(r.problems, ElementsAre());
  EXPECT_EQ(r.value.count, 9);
  EXPECT_EQ(r.value.sinks.at(0).name, "fallback");
}

TEST(spec, unknown_key_without_close_match_lists_the_keys_of_its_level) {
  const Read r = read("limits:\n  zzzzzzzz: 1\n");
  EXPECT_THAT(r.problems, ElementsAre("s.yaml:2: limits.zzzzzzzz: unknown key; limits accepts "
                                      "count, enabled, wait, body"));
}

}  // namespace
}  // namespace relance::config::spec
