#pragma once
// Internal to relance_dunning: reading YAML files with problems that name file, line and key.
// yaml-cpp throws; every call that may throw is inside these helpers or a try block of a loader.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/dunning/problem.hpp"

namespace relance::core::dunning::yaml_support {

// Configuration files are small; a larger one is a mistake (or not a configuration file).
inline constexpr std::size_t file_bytes_max = 1 << 20;

class Reporter {
 public:
  explicit Reporter(std::string file) : file_(std::move(file)) {}
  void add(const YAML::Node& at, std::string key, std::string message) {
    problems_.push_back({file_, line_of(at), std::move(key), std::move(message)});
  }
  void add_at_line(int line, std::string key, std::string message) {
    problems_.push_back({file_, line, std::move(key), std::move(message)});
  }
  static int line_of(const YAML::Node& node) {
    if (!node.IsDefined()) return 0;
    const YAML::Mark mark = node.Mark();
    return mark.line < 0 ? 0 : mark.line + 1;
  }
  const std::string& file() const { return file_; }
  std::vector<Problem>& problems() { return problems_; }
  bool empty() const { return problems_.empty(); }

 private:
  std::string file_;
  std::vector<Problem> problems_;
};

inline std::string join(std::string_view parent, std::string_view child) {
  if (parent.empty()) return std::string(child);
  return std::string(parent) + "." + std::string(child);
}

// The file's text, or a problem saying why it cannot be read.
inline std::optional<std::string> read_text_file(const std::string& path, Reporter& reporter) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    reporter.add_at_line(0, "", "cannot open the file");
    return std::nullopt;
  }
  std::string text;
  char buffer[8192];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > file_bytes_max) {
      reporter.add_at_line(0, "",
                           "the file is larger than " + std::to_string(file_bytes_max) + " bytes");
      return std::nullopt;
    }
  }
  return text;
}

inline std::optional<YAML::Node> parse_yaml(const std::string& text, Reporter& reporter) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& error) {
    reporter.add_at_line(error.mark.line + 1, "", "not valid YAML: " + error.msg);
  } catch (const std::exception& error) {
    reporter.add_at_line(0, "", std::string("not valid YAML: ") + error.what());
  }
  return std::nullopt;
}

// Reports every key of `map` that is not in `allowed`. Returns false when `map` is not a map.
inline bool check_map(const YAML::Node& map, std::string_view path,
                      std::initializer_list<std::string_view> allowed, Reporter& reporter) {
  if (!map.IsMap()) {
    reporter.add(map, std::string(path), "expected a mapping of keys to values");
    return false;
  }
  for (const auto& entry : map) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string("?");
    bool known = false;
    for (std::string_view name : allowed) known = known || name == key;
    if (!known) {
      std::string names;
      for (std::string_view name : allowed)
        names += (names.empty() ? "" : ", ") + std::string(name);
      reporter.add(entry.first, join(path, key), "unknown key (expected one of: " + names + ")");
    }
  }
  return true;
}

inline std::optional<std::string> scalar(const YAML::Node& node, std::string_view path,
                                         Reporter& reporter) {
  if (!node.IsScalar()) {
    reporter.add(node, std::string(path), "expected a single value");
    return std::nullopt;
  }
  return node.Scalar();
}

// A decimal integer within [low, high], written without sign noise ("+3" is refused).
inline std::optional<std::int64_t> integer(const YAML::Node& node, std::string_view path,
                                           std::int64_t low, std::int64_t high,
                                           Reporter& reporter) {
  auto text = scalar(node, path, reporter);
  if (!text) return std::nullopt;
  std::int64_t value = 0;
  bool negative = false;
  std::size_t i = 0;
  if (!text->empty() && (*text)[0] == '-') {
    negative = true;
    i = 1;
  }
  if (i == text->size() || text->size() - i > 12) {
    reporter.add(node, std::string(path), "'" + *text + "' is not a whole number");
    return std::nullopt;
  }
  for (; i < text->size(); ++i) {
    const char c = (*text)[i];
    if (c < '0' || c > '9') {
      reporter.add(node, std::string(path), "'" + *text + "' is not a whole number");
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  if (negative) value = -value;
  if (value < low || value > high) {
    reporter.add(node, std::string(path),
                 std::to_string(value) + " is outside [" + std::to_string(low) + ", " +
                     std::to_string(high) + "]");
    return std::nullopt;
  }
  return value;
}

}  // namespace relance::core::dunning::yaml_support
