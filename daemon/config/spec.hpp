#pragma once
// The machinery that declares a configuration key once: its YAML path, type, bounds, one-line
// description and where it lands in a struct. The default is whatever the struct's member
// initializer says (config.hpp), so it is written in one place too. A section is a list of
// fields of one struct, with dotted paths for nested maps ("sqlite.path"); a list of maps (CRM
// sinks, policies) is a field whose elements are read with their own section.
//
// Only daemon/config/ and its tests include this header (it includes yaml-cpp).

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/values.hpp"
#include "core/assert.hpp"

namespace relance::config::spec {

// Collects the problems of one file and remembers on which line each key was found.
class Context {
 public:
  Context(std::string file, Environment env) : file_(std::move(file)), env_(std::move(env)) {}

  void problem(int line, const std::string& key, std::string message);
  void seen(const std::string& key, int line) { lines_.emplace(key, line); }
  // 0 when the key is not in the file.
  int line_of(const std::string& key) const;
  bool has_problem(const std::string& key) const { return keys_with_problems_.contains(key); }
  const Environment& env() const { return env_; }
  const std::vector<Problem>& problems() const { return problems_; }
  std::vector<Problem> take_problems() { return std::move(problems_); }

 private:
  std::string file_;
  Environment env_;
  std::map<std::string, int> lines_;
  std::set<std::string> keys_with_problems_;
  std::vector<Problem> problems_;
};

// 1-based line of a node, 0 when yaml-cpp does not know it.
int line_of(const YAML::Node& node);

// The text of a scalar value after `${VAR}` interpolation; nullopt (and a problem) when the value
// is missing, a map or a list, or names an unset variable.
std::optional<std::string> scalar_text(const YAML::Node& value, int line, const std::string& key,
                                       Context& context);

enum class Presence { optional, required };

template <class T>
struct Field {
  std::string path;          // relative to its section, dotted for nested maps: "sqlite.path"
  std::string type;          // for people: "integer 0..65535", "one of sqlite, postgres"
  std::string default_text;  // the value of a default-constructed T, written as in YAML
  std::string description;   // one line
  Presence presence = Presence::optional;
  // Reads `value` (found at `line` under the full `key`) into `target`, or adds a problem.
  std::function<void(const YAML::Node& value, int line, const std::string& key, T& target,
                     Context& context)>
      read;
};

template <class T>
using Section = std::vector<Field<T>>;

// A rule between keys ("store.postgres.url is needed when store.backend is postgres"). It runs
// only when none of `keys` had a problem of its own; the problem is placed on keys.front().
struct Check {
  std::vector<std::string> keys;
  std::function<std::optional<std::string>(const Config&)> problem;
};

// The keys of relance.yaml and the rules between them (spec.cpp).
const Section<Config>& config_section();
const std::vector<Check>& config_checks();

// Message for a key that no field declares: a suggestion when one is close, else the keys that
// exist at that level. `relative` is the key within its section, `known` the section's paths.
std::string unknown_key_message(const std::string& relative, const std::string& key_prefix,
                                const std::vector<std::string>& known);

// -- Reading a section ------------------------------------------------------------------------

namespace detail {

// "<text> is below the minimum <min>" (or above the maximum), nullopt when `value` is within.
template <class V, class Show>
std::optional<std::string> out_of_bounds(const std::string& text, const V& value, const V& min,
                                         const V& max, Show show) {
  if (value < min) return text + " is below the minimum " + show(min);
  if (value > max) return text + " is above the maximum " + show(max);
  return std::nullopt;
}

template <class T>
const Field<T>* find_field(const Section<T>& section, std::string_view path) {
  for (const Field<T>& field : section) {
    if (field.path == path) return &field;
  }
  return nullptr;
}

template <class T>
std::vector<std::string> paths_of(const Section<T>& section) {
  std::vector<std::string> paths;
  paths.reserve(section.size());
  for (const Field<T>& field : section) paths.push_back(field.path);
  return paths;
}

template <class T>
void read_map(const YAML::Node& map, const Section<T>& section, T& target, Context& context,
              const std::string& key_prefix, const std::string& relative_prefix) {
  std::map<std::string, int> here;  // names seen in this map, to report duplicates
  // Dereferencing a yaml-cpp iterator gives a temporary: keep it (entry) alive while used.
  for (const auto& entry : map) {
    const YAML::Node& name_node = entry.first;
    const YAML::Node& value = entry.second;
    const int line = line_of(name_node);
    if (!name_node.IsScalar()) {
      context.problem(line, key_prefix + relative_prefix, "a key must be a plain name");
      continue;
    }
    const std::string relative = relative_prefix + name_node.Scalar();
    const std::string key = key_prefix + relative;
    if (auto [first, inserted] = here.emplace(name_node.Scalar(), line); !inserted) {
      context.problem(
          line, key,
          "appears twice in the same map; the first is on line " + std::to_string(first->second));
      continue;
    }
    context.seen(key, line);
    if (const Field<T>* field = find_field(section, relative)) {
      field->read(value, line, key, target, context);
      continue;
    }
    const std::string nested = relative + ".";
    const auto child = std::find_if(section.begin(), section.end(),
                                    [&](const Field<T>& f) { return f.path.starts_with(nested); });
    if (child == section.end()) {
      context.problem(line, key, unknown_key_message(relative, key_prefix, paths_of(section)));
    } else if (value.IsMap()) {
      read_map(value, section, target, context, key_prefix, nested);
    } else if (!value.IsNull()) {  // "http:" alone is an empty section: all defaults
      context.problem(
          line, key,
          "is a section, not a value; put its keys under it, such as " + key_prefix + child->path);
    }
  }
}

template <class Get, class T>
using MemberOf = std::remove_reference_t<std::invoke_result_t<Get, T&>>;

template <class T, class Get>
std::string default_text_of(Get get, std::string (*show)(const MemberOf<Get, T>&)) {
  T defaults{};
  return show(get(defaults));
}

template <class Duration>
std::string show_duration(const Duration& value) {
  return format_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(value));
}
template <class Integer>
std::string show_integer(const Integer& value) {
  return std::to_string(value);
}
template <class Integer>
std::string show_byte_size(const Integer& value) {
  return format_byte_size(static_cast<std::uint64_t>(value));
}
inline std::string show_string(const std::string& value) { return value.empty() ? "\"\"" : value; }
inline std::string show_boolean(const bool& value) { return value ? "true" : "false"; }

}  // namespace detail

// Reads a whole map into `target`: every key of the map must be declared in `section`, and every
// required field must be present. `line` is the map's own line, for missing keys.
template <class T>
void read_section(const YAML::Node& map, const Section<T>& section, T& target, Context& context,
                  const std::string& key_prefix, int line) {
  detail::read_map(map, section, target, context, key_prefix, "");
  for (const Field<T>& field : section) {
    if (field.presence == Presence::required && context.line_of(key_prefix + field.path) == 0) {
      context.problem(line, key_prefix + field.path, "is required (" + field.description + ")");
    }
  }
}

// -- Declaring fields -------------------------------------------------------------------------
// Each builder takes the path, an accessor `[](Config& c) -> auto& { return c.http.port; }`, the
// bounds, and a description. The member's type is deduced from the accessor.

template <class T, class Get>
Field<T> integer(std::string path, Get get, std::int64_t min, std::int64_t max,
                 std::string description) {
  using V = detail::MemberOf<Get, T>;
  static_assert(std::is_integral_v<V> && !std::is_same_v<V, bool>);
  RELANCE_ASSERT(min <= max);
  RELANCE_ASSERT(std::cmp_greater_equal(min, std::numeric_limits<V>::min()));
  RELANCE_ASSERT(std::cmp_less_equal(max, std::numeric_limits<V>::max()));
  std::string type = "integer " + std::to_string(min) + ".." + std::to_string(max);
  return Field<T>{std::move(path),
                  type,
                  detail::default_text_of<T>(get, &detail::show_integer<V>),
                  std::move(description),
                  Presence::optional,
                  [get, min, max](const YAML::Node& value, int line, const std::string& key,
                                  T& target, Context& context) {
                    const auto text = scalar_text(value, line, key, context);
                    if (!text) return;
                    const Result<std::int64_t> number = parse_integer(*text);
                    if (!number) return context.problem(line, key, number.error().message);
                    const auto show = [](std::int64_t n) { return std::to_string(n); };
                    if (auto wrong = detail::out_of_bounds(*text, *number, min, max, show)) {
                      return context.problem(line, key, std::move(*wrong));
                    }
                    get(target) = static_cast<V>(*number);
                  }};
}

template <class T, class Get>
Field<T> byte_size(std::string path, Get get, std::uint64_t min, std::uint64_t max,
                   std::string description) {
  using V = detail::MemberOf<Get, T>;
  static_assert(std::is_integral_v<V> && std::is_unsigned_v<V>);
  RELANCE_ASSERT(min <= max && max <= std::numeric_limits<V>::max());
  std::string type = "byte size " + format_byte_size(min) + ".." + format_byte_size(max);
  return Field<T>{
      std::move(path),
      type,
      detail::default_text_of<T>(get, &detail::show_byte_size<V>),
      std::move(description),
      Presence::optional,
      [get, min, max](const YAML::Node& value, int line, const std::string& key, T& target,
                      Context& context) {
        const auto text = scalar_text(value, line, key, context);
        if (!text) return;
        const Result<std::uint64_t> bytes = parse_byte_size(*text);
        if (!bytes) return context.problem(line, key, bytes.error().message);
        if (auto wrong = detail::out_of_bounds(*text, *bytes, min, max, &format_byte_size)) {
          return context.problem(line, key, std::move(*wrong));
        }
        get(target) = static_cast<V>(*bytes);
      }};
}

template <class T, class Get>
Field<T> duration(std::string path, Get get, std::chrono::nanoseconds min,
                  std::chrono::nanoseconds max, std::string description) {
  using V = detail::MemberOf<Get, T>;
  RELANCE_ASSERT(min <= max && min.count() >= 0);
  RELANCE_ASSERT(std::chrono::duration_cast<V>(max) == max);  // bounds fit the member exactly
  std::string type = "duration " + format_duration(min) + ".." + format_duration(max);
  return Field<T>{
      std::move(path),
      type,
      detail::default_text_of<T>(get, &detail::show_duration<V>),
      std::move(description),
      Presence::optional,
      [get, min, max](const YAML::Node& value, int line, const std::string& key, T& target,
                      Context& context) {
        const auto text = scalar_text(value, line, key, context);
        if (!text) return;
        const Result<std::chrono::nanoseconds> parsed = parse_duration(*text);
        if (!parsed) return context.problem(line, key, parsed.error().message);
        if (auto wrong = detail::out_of_bounds(*text, *parsed, min, max, &format_duration)) {
          return context.problem(line, key, std::move(*wrong));
        }
        const V exact = std::chrono::duration_cast<V>(*parsed);
        if (exact != *parsed) {
          return context.problem(
              line, key,
              *text + " is finer than this setting counts; write a whole number of " +
                  detail::show_duration(V{1}));
        }
        get(target) = exact;
      }};
}

enum class Empty { allowed, rejected };

template <class T, class Get>
Field<T> string(std::string path, Get get, Empty empty, std::string description) {
  static_assert(std::is_same_v<detail::MemberOf<Get, T>, std::string>);
  return Field<T>{std::move(path),
                  empty == Empty::allowed ? "string" : "non-empty string",
                  detail::default_text_of<T>(get, &detail::show_string),
                  std::move(description),
                  Presence::optional,
                  [get, empty](const YAML::Node& value, int line, const std::string& key, T& target,
                               Context& context) {
                    auto text = scalar_text(value, line, key, context);
                    if (!text) return;
                    if (empty == Empty::rejected && text->empty()) {
                      return context.problem(line, key, "is empty; give a value or remove the key");
                    }
                    get(target) = std::move(*text);
                  }};
}

// A file or directory. Relative paths stay relative to the daemon's working directory.
template <class T, class Get>
Field<T> path(std::string path, Get get, std::string description) {
  Field<T> field = string<T>(std::move(path), get, Empty::rejected, std::move(description));
  field.type = "path";
  return field;
}

// `empty` allowed: "" means "not set" (a rule between keys says when one is needed).
template <class T, class Get>
Field<T> host(std::string path, Get get, std::string description, Empty empty = Empty::rejected) {
  static_assert(std::is_same_v<detail::MemberOf<Get, T>, std::string>);
  return Field<T>{
      std::move(path),
      empty == Empty::allowed ? "IP address or host name, or \"\"" : "IP address or host name",
      detail::default_text_of<T>(get, &detail::show_string),
      std::move(description),
      Presence::optional,
      [get, empty](const YAML::Node& value, int line, const std::string& key, T& target,
                   Context& context) {
        const auto text = scalar_text(value, line, key, context);
        if (!text) return;
        if (empty == Empty::allowed && text->empty()) {
          get(target).clear();
          return;
        }
        Result<std::string> parsed = parse_host(*text);
        if (!parsed) return context.problem(line, key, parsed.error().message);
        get(target) = std::move(*parsed);
      }};
}

template <class T, class Get>
Field<T> boolean(std::string path, Get get, std::string description) {
  static_assert(std::is_same_v<detail::MemberOf<Get, T>, bool>);
  return Field<T>{std::move(path),
                  "boolean",
                  detail::default_text_of<T>(get, &detail::show_boolean),
                  std::move(description),
                  Presence::optional,
                  [get](const YAML::Node& value, int line, const std::string& key, T& target,
                        Context& context) {
                    const auto text = scalar_text(value, line, key, context);
                    if (!text) return;
                    const Result<bool> parsed = parse_boolean(*text);
                    if (!parsed) return context.problem(line, key, parsed.error().message);
                    get(target) = *parsed;
                  }};
}

template <class T, class Get>
Field<T> enumeration(std::string path, Get get,
                     std::vector<std::pair<std::string, detail::MemberOf<Get, T>>> names,
                     std::string description) {
  using V = detail::MemberOf<Get, T>;
  static_assert(std::is_enum_v<V>);
  RELANCE_ASSERT(!names.empty());
  std::string list;
  for (const auto& [name, _] : names) list += (list.empty() ? "" : ", ") + name;
  T defaults{};
  std::string default_text;
  for (const auto& [name, enumerator] : names) {
    if (enumerator == get(defaults)) default_text = name;
  }
  RELANCE_ASSERT(!default_text.empty());  // the default must be one of the names
  return Field<T>{std::move(path),
                  "one of " + list,
                  default_text,
                  std::move(description),
                  Presence::optional,
                  [get, names, list](const YAML::Node& value, int line, const std::string& key,
                                     T& target, Context& context) {
                    const auto text = scalar_text(value, line, key, context);
                    if (!text) return;
                    for (const auto& [name, enumerator] : names) {
                      if (name == *text) {
                        get(target) = enumerator;
                        return;
                      }
                    }
                    context.problem(line, key, "'" + *text + "' is not one of " + list);
                  }};
}

// A list of maps, each read with `element` (its keys are reported as "crm.sinks[2].url").
template <class T, class Get, class Element = typename detail::MemberOf<Get, T>::value_type>
Field<T> list(std::string path, Get get, Section<Element> element, std::size_t items_max,
              std::string description) {
  static_assert(std::is_same_v<detail::MemberOf<Get, T>, std::vector<Element>>);
  T defaults{};
  const std::size_t default_size = get(defaults).size();
  return Field<T>{
      std::move(path),
      "list of at most " + std::to_string(items_max) + " maps",
      default_size == 0 ? "[]" : std::to_string(default_size) + " items",
      std::move(description),
      Presence::optional,
      [get, element = std::move(element), items_max](
          const YAML::Node& value, int line, const std::string& key, T& target, Context& context) {
        if (value.IsNull()) return get(target).clear();
        if (!value.IsSequence()) {
          return context.problem(line, key, "expected a list of maps (lines starting with '- ')");
        }
        if (value.size() > items_max) {
          return context.problem(line, key,
                                 std::to_string(value.size()) + " items is above the maximum " +
                                     std::to_string(items_max));
        }
        std::vector<Element> items;
        for (std::size_t i = 0; i < value.size(); ++i) {
          const YAML::Node item = value[i];
          const std::string item_key = key + "[" + std::to_string(i) + "]";
          const int item_line = line_of(item) != 0 ? line_of(item) : line;
          if (!item.IsMap()) {
            context.problem(item_line, item_key, "expected a map of keys");
            continue;
          }
          Element parsed{};
          read_section(item, element, parsed, context, item_key + ".", item_line);
          items.push_back(std::move(parsed));
        }
        get(target) = std::move(items);
      }};
}

// A list of non-empty strings ("topics: [a, b]"), each at most once.
template <class T, class Get>
Field<T> string_list(std::string path, Get get, std::size_t items_max, std::string description) {
  static_assert(std::is_same_v<detail::MemberOf<Get, T>, std::vector<std::string>>);
  T defaults{};
  RELANCE_ASSERT(get(defaults).empty());  // the shipped file shows the default as []
  return Field<T>{std::move(path),
                  "list of at most " + std::to_string(items_max) + " strings",
                  "[]",
                  std::move(description),
                  Presence::optional,
                  [get, items_max](const YAML::Node& value, int line, const std::string& key,
                                   T& target, Context& context) {
                    if (value.IsNull()) return get(target).clear();
                    if (!value.IsSequence()) {
                      return context.problem(line, key, "expected a list, such as [a, b]");
                    }
                    if (value.size() > items_max) {
                      return context.problem(line, key,
                                             std::to_string(value.size()) +
                                                 " items is above the maximum " +
                                                 std::to_string(items_max));
                    }
                    std::vector<std::string> items;
                    for (std::size_t i = 0; i < value.size(); ++i) {
                      const YAML::Node item = value[i];
                      const std::string item_key = key + "[" + std::to_string(i) + "]";
                      const int item_line = line_of(item) != 0 ? line_of(item) : line;
                      auto text = scalar_text(item, item_line, item_key, context);
                      if (!text) continue;
                      if (text->empty()) {
                        context.problem(item_line, item_key, "is empty");
                      } else if (std::find(items.begin(), items.end(), *text) != items.end()) {
                        context.problem(item_line, item_key, "'" + *text + "' is listed twice");
                      } else {
                        items.push_back(std::move(*text));
                      }
                    }
                    get(target) = std::move(items);
                  }};
}

// A map of free-form names to strings, handed to a library as they are (librdkafka properties);
// the library checks the names when it is configured.
template <class T, class Get>
Field<T> string_map(std::string path, Get get, std::size_t items_max, std::string description) {
  static_assert(std::is_same_v<detail::MemberOf<Get, T>, std::map<std::string, std::string>>);
  T defaults{};
  RELANCE_ASSERT(get(defaults).empty());  // the shipped file shows the default as {}
  return Field<T>{
      std::move(path),
      "map of at most " + std::to_string(items_max) + " names to strings",
      "{}",
      std::move(description),
      Presence::optional,
      [get, items_max](const YAML::Node& value, int line, const std::string& key, T& target,
                       Context& context) {
        if (value.IsNull()) return get(target).clear();
        if (!value.IsMap()) {
          return context.problem(line, key, "expected a map of names to values");
        }
        if (value.size() > items_max) {
          return context.problem(line, key,
                                 std::to_string(value.size()) + " entries is above the maximum " +
                                     std::to_string(items_max));
        }
        std::map<std::string, std::string> items;
        for (const auto& entry : value) {
          const YAML::Node& name = entry.first;
          const int entry_line = line_of(name) != 0 ? line_of(name) : line;
          if (!name.IsScalar() || name.Scalar().empty()) {
            context.problem(entry_line, key, "a name must be a plain, non-empty string");
            continue;
          }
          const std::string entry_key = key + "." + name.Scalar();
          context.seen(entry_key, entry_line);
          auto text = scalar_text(entry.second, entry_line, entry_key, context);
          if (!text) continue;
          if (!items.emplace(name.Scalar(), std::move(*text)).second) {
            context.problem(entry_line, entry_key, "appears twice in the same map");
          }
        }
        get(target) = std::move(items);
      }};
}

template <class T>
Field<T> required(Field<T> field) {
  field.presence = Presence::required;
  return field;
}

}  // namespace relance::config::spec
