// The C++ parser and the JSON Schemas in schemas/events/ must agree: every valid example is
// accepted by both, every invalid one refused by both (check.py covers the schema side). Here
// the parser must also refuse each invalid example at the field expected_errors.json names.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/event.hpp"

namespace relance::core {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr std::size_t examples_per_kind_min = 2;

fs::path examples_dir() { return fs::path(RELANCE_SOURCE_DIR) / "schemas" / "events" / "examples"; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> examples(std::string_view type, std::string_view kind) {
  std::vector<fs::path> files;
  const fs::path dir = examples_dir() / type / kind;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string relative_name(const fs::path& path) {
  return fs::relative(path, examples_dir()).generic_string();
}

std::map<std::string, std::string> expected_errors() {
  std::map<std::string, std::string> fields;
  const json::value manifest = json::parse(read_file(examples_dir() / "expected_errors.json"));
  for (const auto& [name, field] : manifest.as_object()) {
    fields.emplace(std::string(name), std::string(field.as_string()));
  }
  return fields;
}

class EventExamples : public ::testing::TestWithParam<EventType> {};

TEST_P(EventExamples, every_valid_example_is_accepted_with_its_type) {
  const std::string_view type = event_type_name(GetParam());
  const auto files = examples(type, "valid");
  ASSERT_GE(files.size(), examples_per_kind_min) << "too few examples in " << type << "/valid";
  for (const auto& file : files) {
    const std::string text = read_file(file);
    auto event = parse_event(text);
    ASSERT_TRUE(event.ok()) << relative_name(file) << ": " << event.error().to_string();
    EXPECT_EQ(event->type, GetParam()) << relative_name(file);
    // What the journal keeps is the whole envelope, unknown fields included.
    EXPECT_EQ(json::parse(event->json), json::parse(text)) << relative_name(file);
    // The same event as a one-element batch.
    auto batch = parse_event_batch("[" + text + "]");
    ASSERT_TRUE(batch.ok()) << relative_name(file) << ": " << batch.error().to_string();
    EXPECT_EQ(batch->front().json, event->json);
  }
}

TEST_P(EventExamples, every_invalid_example_is_refused_at_the_expected_field) {
  const std::string_view type = event_type_name(GetParam());
  const auto files = examples(type, "invalid");
  ASSERT_GE(files.size(), examples_per_kind_min) << "too few examples in " << type << "/invalid";
  const auto fields = expected_errors();
  for (const auto& file : files) {
    const std::string name = relative_name(file);
    auto event = parse_event(read_file(file));
    ASSERT_FALSE(event.ok()) << name << " was accepted";
    const auto expected = fields.find(name);
    ASSERT_NE(expected, fields.end()) << name << " is not listed in expected_errors.json";
    EXPECT_EQ(event.error().field, expected->second) << name << ": " << event.error().to_string();
    EXPECT_FALSE(event.error().message.empty()) << name;
  }
}

TEST_P(EventExamples, an_invalid_example_in_a_batch_is_refused_with_its_index) {
  const std::string_view type = event_type_name(GetParam());
  const auto valid = examples(type, "valid");
  const auto invalid = examples(type, "invalid");
  ASSERT_FALSE(valid.empty());
  ASSERT_FALSE(invalid.empty());
  const auto fields = expected_errors();
  const std::string batch = "[" + read_file(valid.front()) + "," + read_file(invalid.front()) + "]";
  auto events = parse_event_batch(batch);
  ASSERT_FALSE(events.ok());
  const std::string& field = fields.at(relative_name(invalid.front()));
  EXPECT_EQ(events.error().field, field.empty() ? "[1]" : "[1]." + field);
}

std::vector<EventType> all_types() {
  std::vector<EventType> types;
  for (int i = 0; i < event_type_count; ++i) types.push_back(static_cast<EventType>(i));
  return types;
}

std::string test_name(const ::testing::TestParamInfo<EventType>& info) {
  std::string name(event_type_name(info.param));
  std::replace(name.begin(), name.end(), '.', '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, EventExamples, ::testing::ValuesIn(all_types()), test_name);

TEST(EventExamplesFolder, has_one_folder_per_type_and_nothing_else) {
  std::vector<std::string> folders;
  for (const auto& entry : fs::directory_iterator(examples_dir())) {
    if (entry.is_directory()) folders.push_back(entry.path().filename().string());
  }
  std::sort(folders.begin(), folders.end());
  std::vector<std::string> types;
  for (EventType type : all_types()) types.emplace_back(event_type_name(type));
  std::sort(types.begin(), types.end());
  EXPECT_EQ(folders, types);
}

TEST(EventExamplesFolder, every_listed_expected_error_has_its_example) {
  for (const auto& [name, field] : expected_errors()) {
    EXPECT_TRUE(fs::exists(examples_dir() / name)) << name;
  }
}

}  // namespace
}  // namespace relance::core
