#include "config/dunning_files.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "core/dunning/calendar.hpp"
#include "core/dunning/late_payment.hpp"
#include "core/dunning/policy.hpp"
#include "core/dunning/problem.hpp"
#include "core/dunning/scheduler.hpp"
#include "core/dunning/templates.hpp"

namespace relance::config {

namespace {

namespace fs = std::filesystem;
namespace dunning = core::dunning;

// Some loaders give their problems as lines of one error ("path:12: key: message"): split the
// file and line back out so that every problem prints the same way.
Problem from_line(const std::string& text, const std::string& fallback_file) {
  const std::size_t colon = text.find(": ");
  if (colon == std::string::npos || colon == 0) return Problem{fallback_file, 0, "", text};
  std::string head = text.substr(0, colon);
  std::string rest = text.substr(colon + 2);
  int line = 0;
  const std::size_t last = head.rfind(':');
  if (last != std::string::npos && last + 1 < head.size() &&
      std::all_of(head.begin() + static_cast<std::ptrdiff_t>(last) + 1, head.end(),
                  [](unsigned char c) { return std::isdigit(c) != 0; }) &&
      head.size() - last <= 8) {
    line = std::stoi(head.substr(last + 1));
    head.resize(last);
  }
  // Only a path-looking head is a file; otherwise the line is a sentence of its own.
  if (head.find(' ') != std::string::npos) return Problem{fallback_file, 0, "", text};
  return Problem{head, line, "", rest};
}

void add(const dunning::Problem& problem, const std::string& fallback_file,
         std::vector<Problem>& out) {
  if (!problem.file.empty()) {
    out.push_back(Problem{problem.file, problem.line, problem.key, problem.message});
  } else {
    out.push_back(from_line(problem.message, fallback_file));
  }
}

void add_error_lines(const Error& error, const std::string& fallback_file,
                     std::vector<Problem>& out) {
  const std::string& message = error.message;
  std::size_t start = 0;
  while (start < message.size()) {
    const std::size_t end = std::min(message.find('\n', start), message.size());
    if (end > start) out.push_back(from_line(message.substr(start, end - start), fallback_file));
    start = end + 1;
  }
}

// *.yaml of a folder in name order, or a problem naming the folder and the key.
std::vector<std::string> yaml_files(const std::string& directory, const std::string& key,
                                    std::vector<Problem>& out) {
  std::vector<std::string> paths;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    if (entry.is_regular_file() && entry.path().extension() == ".yaml") {
      paths.push_back(entry.path().string());
    }
  }
  if (error) {
    out.push_back(Problem{directory, 0, key, "cannot list the folder: " + error.message()});
    return {};
  }
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) out.push_back(Problem{directory, 0, key, "holds no *.yaml file"});
  return paths;
}

std::optional<std::string> read_file(const std::string& path, std::vector<Problem>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.push_back(Problem{path, 0, "", "cannot open the file"});
    return std::nullopt;
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Payment plans replace any policy's steps with reminders on the instalments, written with one
// template that no policy names: the daemon refuses to start without it, and a language folder
// without it would send those customers the reminder in another language.
void check_instalment_template(const dunning::TemplateSet& templates, const std::string& directory,
                               std::vector<Problem>& out) {
  const std::string_view name = dunning::default_instalment_template;
  const auto file = [&](std::string_view language) {
    return (fs::path(directory) / language / (std::string(name) + ".text.mustache")).string();
  };
  if (!templates.has(name)) {
    out.push_back(Problem{file("fr"), 0, "dunning.templates_directory",
                          "missing in every language: the template '" + std::string(name) +
                              "' writes the reminders of payment plans (the daemon will not "
                              "start without it)"});
    return;
  }
  for (const dunning::Language language : templates.languages()) {
    if (templates.has(name, language)) continue;
    const std::string code(dunning::language_code(language));
    auto fallback = templates.choose_language(name, code);
    out.push_back(Problem{file(code), 0, "dunning.templates_directory",
                          "missing: the template '" + std::string(name) +
                              "' writes the reminders of payment plans; customers writing " + code +
                              " would get them in " +
                              (fallback ? std::string(dunning::language_code(*fallback))
                                        : std::string("no language")) +
                              " (add " + code + "/" + std::string(name) +
                              ".{subject,text,html}.mustache)"});
  }
}

}  // namespace

std::vector<Problem> check_dunning_files(const Config& config) {
  std::vector<Problem> out;
  const DunningConfig& d = config.dunning;
  if (!d.enabled) return out;

  // Templates first: policies name them.
  for (const dunning::Problem& problem : dunning::TemplateSet::check(d.templates_directory)) {
    add(problem, d.templates_directory, out);
  }
  const std::size_t template_problems = out.size();
  Result<dunning::TemplateSet> templates = dunning::TemplateSet::load(d.templates_directory);

  dunning::PolicyReferences references;
  if (!d.calendars_directory.empty()) {
    for (const std::string& path :
         yaml_files(d.calendars_directory, "dunning.calendars_directory", out)) {
      const std::optional<std::string> text = read_file(path, out);
      if (!text) continue;
      const std::vector<dunning::Problem> problems = dunning::check_calendar_text(*text, path);
      for (const dunning::Problem& problem : problems) add(problem, path, out);
      if (!problems.empty()) continue;
      if (Result<dunning::BusinessCalendar> calendar = dunning::load_calendar_text(*text, path)) {
        references.calendars.insert(calendar->name());
      }
    }
  }

  std::vector<dunning::PolicyFile> files;
  for (const std::string& path :
       yaml_files(d.policies_directory, "dunning.policies_directory", out)) {
    if (std::optional<std::string> text = read_file(path, out)) {
      files.push_back({path, std::move(*text)});
    }
  }
  if (!templates) {
    // Without the templates, every step would look like it names an unknown one.
    if (template_problems == 0) add_error_lines(templates.error(), d.templates_directory, out);
    out.push_back(Problem{d.policies_directory, 0, "dunning.policies_directory",
                          "not checked: the templates they name did not load"});
  } else {
    check_instalment_template(*templates, d.templates_directory, out);
    if (!files.empty()) {
      references.templates = &*templates;
      for (const dunning::Problem& problem : dunning::check_policies(files, references)) {
        add(problem, d.policies_directory, out);
      }
    }
  }

  if (Result<dunning::LatePaymentRates> rates = dunning::load_late_payment_rates(d.rates_directory);
      !rates) {
    add_error_lines(rates.error(), d.rates_directory, out);
  }
  return out;
}

}  // namespace relance::config
