// Reading relance.yaml: YAML parse, then every key through its declaration in spec.cpp, then the
// rules between keys. All problems are collected; none stops the reading of the others.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "config/spec.hpp"

namespace relance::config {

std::string Problem::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!key.empty()) out += key + ": ";
  return out + message;
}

namespace spec {

void Context::problem(int line, const std::string& key, std::string message) {
  keys_with_problems_.insert(key);
  problems_.push_back(Problem{file_, line, key, std::move(message)});
}

int Context::line_of(const std::string& key) const {
  const auto found = lines_.find(key);
  return found == lines_.end() ? 0 : found->second;
}

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

std::optional<std::string> scalar_text(const YAML::Node& value, int line, const std::string& key,
                                       Context& context) {
  // A missing value's mark is where the parser looked next (the following line): keep the key's.
  if (!value.IsNull() && line_of(value) != 0) line = line_of(value);
  if (value.IsNull()) {
    context.problem(line, key, "has no value; give one, or remove the key to keep the default");
    return std::nullopt;
  }
  if (!value.IsScalar()) {
    context.problem(
        line, key,
        std::string("expected a single value, found a ") + (value.IsMap() ? "map" : "list"));
    return std::nullopt;
  }
  Result<std::string> text = interpolate(value.Scalar(), context.env());
  if (!text) {
    context.problem(line, key, text.error().message);
    return std::nullopt;
  }
  return std::move(*text);
}

std::string unknown_key_message(const std::string& relative, const std::string& key_prefix,
                                const std::vector<std::string>& known) {
  // Candidates are the declared keys and the sections above them ("http", "store.sqlite").
  std::vector<std::string> candidates;
  for (const std::string& path : known) {
    for (std::size_t dot = path.find('.'); dot != std::string::npos;
         dot = path.find('.', dot + 1)) {
      candidates.push_back(path.substr(0, dot));
    }
    candidates.push_back(path);
  }
  const std::string last = relative.substr(relative.rfind('.') + 1);
  const std::size_t allowed = std::clamp<std::size_t>(last.size() / 3, 1, 3);
  const std::string* best = nullptr;
  std::size_t best_distance = allowed + 1;
  for (const std::string& candidate : candidates) {
    const std::size_t distance = edit_distance(relative, candidate);
    if (distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  // A key written in the wrong section: same last name elsewhere ("port" for "http.port").
  if (best == nullptr) {
    for (const std::string& candidate : candidates) {
      if (candidate == last || candidate.ends_with("." + last)) {
        best = &candidate;
        break;
      }
    }
  }
  if (best != nullptr) return "unknown key; did you mean " + key_prefix + *best + "?";

  // No close key: list what this level accepts.
  const std::size_t dot = relative.rfind('.');
  const std::string parent = dot == std::string::npos ? "" : relative.substr(0, dot + 1);
  std::vector<std::string> names;
  for (const std::string& path : known) {
    if (!path.starts_with(parent)) continue;
    std::string name = path.substr(parent.size());
    name = name.substr(0, name.find('.'));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::string list;
  for (const std::string& name : names) list += (list.empty() ? "" : ", ") + name;
  std::string where = key_prefix + parent;
  if (where.empty())
    where = "the top level";
  else
    where.pop_back();  // the trailing '.'

  return "unknown key; " + where + " accepts " + list;
}

}  // namespace spec

Loaded read_config_text(const std::string& yaml_text, const std::string& name,
                        const Environment& env) {
  spec::Context context(name, env);
  Loaded loaded;
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(yaml_text);
    if (documents.size() > 1) {
      context.problem(spec::line_of(documents[1]), "",
                      "holds " + std::to_string(documents.size()) +
                          " YAML documents; a configuration is one (remove the '---')");
    } else if (!documents.empty() && !documents[0].IsNull()) {
      const YAML::Node& root = documents[0];
      if (!root.IsMap()) {
        context.problem(spec::line_of(root), "",
                        "expected a map of sections (http:, store:, ...) at the top level");
      } else {
        spec::read_section(root, spec::config_section(), loaded.config, context, "", 1);
        for (const spec::Check& check : spec::config_checks()) {
          if (std::any_of(check.keys.begin(), check.keys.end(),
                          [&](const std::string& key) { return context.has_problem(key); })) {
            continue;
          }
          if (std::optional<std::string> message = check.problem(loaded.config)) {
            const std::string& key = check.keys.front();
            int line = context.line_of(key);
            for (const std::string& other : check.keys) line = line ? line : context.line_of(other);
            context.problem(line, key, std::move(*message));
          }
        }
      }
    }
  } catch (const YAML::Exception& e) {
    context.problem(e.mark.is_null() ? 0 : e.mark.line + 1, "", "not valid YAML: " + e.msg);
  } catch (const std::exception& e) {
    context.problem(0, "", std::string("could not be read: ") + e.what());
  }
  loaded.problems = context.take_problems();
  if (!loaded.problems.empty()) loaded.config = Config{};
  return loaded;
}

Loaded read_config_file(const std::string& path, const Environment& env) {
  const auto fail = [&](std::string message) {
    Loaded loaded;
    loaded.problems.push_back(Problem{path, 0, "", std::move(message)});
    return loaded;
  };
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string("cannot open: ") + std::strerror(errno));
  std::string text(config_file_bytes_max + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return fail(std::string("cannot read: ") + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > config_file_bytes_max) {
    return fail("is larger than " + format_byte_size(config_file_bytes_max) +
                "; a configuration file is expected to be small");
  }
  return read_config_text(text, path, env);
}

std::vector<Problem> check_config_file(const std::string& path) {
  return read_config_file(path).problems;
}

namespace {
Result<Config> first_problem_or_config(Loaded loaded) {
  if (loaded.problems.empty()) return std::move(loaded.config);
  const Problem& first = loaded.problems.front();
  std::string where = first.file + (first.line > 0 ? ":" + std::to_string(first.line) : "");
  return Error{first.key, first.message + " (" + where + ")"};
}
}  // namespace

Result<Config> load_config_file(const std::string& path) {
  return first_problem_or_config(read_config_file(path));
}

Result<Config> load_config_text(const std::string& yaml_text, const std::string& name) {
  return first_problem_or_config(read_config_text(yaml_text, name));
}

}  // namespace relance::config
