#include "metrics/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <variant>

#include "core/assert.hpp"

namespace relance::metrics {

namespace {

enum class Kind { counter, gauge, histogram };

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::counter:
      return "counter";
    case Kind::gauge:
      return "gauge";
    case Kind::histogram:
      return "histogram";
  }
  RELANCE_ASSERT(false && "unknown metric kind");
}

bool valid_name(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

// Label values escape backslash, double quote and line feed; HELP text only the first and last.
void append_escaped(std::string& out, std::string_view text, bool escape_quote) {
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void append_number(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    // Whole numbers print as integers (a queue of 123456 events, not 1.23456e+05); others as the
    // shortest %g text that reads back to the same double, as the Go client does ("0.0001").
    if (std::trunc(value) == value && std::fabs(value) < 9007199254740992.0) {
      out += std::to_string(static_cast<std::int64_t>(value));
      return;
    }
    char buffer[64];
    const auto [end, ec] =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general);
    RELANCE_ASSERT(ec == std::errc());
    out.append(buffer, end);
  }
}

void append_number(std::string& out, std::uint64_t value) { out += std::to_string(value); }

// `{a="1",b="2"}`, with an extra trailing label (the histogram's `le`) when given.
void append_labels(std::string& out, const Labels& labels, std::string_view extra_name = {},
                   std::string_view extra_value = {}) {
  if (labels.empty() && extra_name.empty()) return;
  out += '{';
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) out += ',';
    first = false;
    out += name;
    out += "=\"";
    append_escaped(out, value, true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void check_labels(const Labels& labels) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    RELANCE_ASSERT(valid_name(labels[i].first, false) && "metric label name is not valid");
    RELANCE_ASSERT(labels[i].first.rfind("__", 0) != 0 &&
                   "label names starting with __ are reserved");
    RELANCE_ASSERT(labels[i].first != "le" && "label le is reserved for histogram buckets");
    for (std::size_t j = 0; j < i; ++j) {
      RELANCE_ASSERT(labels[i].first != labels[j].first && "metric label repeated");
    }
  }
}

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(new std::atomic<std::uint64_t>[upper_bounds_.size() + 1]) {
  for (std::size_t i = 0; i < upper_bounds_.size(); ++i) {
    RELANCE_ASSERT(std::isfinite(upper_bounds_[i]) &&
                   "histogram bounds are finite (+Inf is implicit)");
    RELANCE_ASSERT((i == 0 || upper_bounds_[i - 1] < upper_bounds_[i]) &&
                   "histogram bounds strictly increase");
  }
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::observe(double value) {
  // Buckets are inclusive upper bounds (le): the first bound >= value.
  const auto it = std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value);
  const auto index = static_cast<std::size_t>(it - upper_bounds_.begin());
  buckets_[index].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot snap;
  snap.upper_bounds = upper_bounds_;
  snap.cumulative_counts.reserve(upper_bounds_.size() + 1);
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= upper_bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snap.cumulative_counts.push_back(running);
  }
  // The count is the +Inf bucket by construction, so a scrape never shows them disagreeing.
  snap.count = running;
  snap.sum = sum_.load(std::memory_order_relaxed);
  return snap;
}

struct Registry::Family {
  std::string name;
  std::string help;
  Kind kind{};
  std::vector<double> upper_bounds;  // histograms only
  struct Child {
    Labels labels;
    std::variant<std::unique_ptr<Counter>, std::unique_ptr<Gauge>, std::unique_ptr<Histogram>>
        instrument;
  };
  std::vector<Child> children;
};

Registry::Registry() = default;
Registry::~Registry() = default;

namespace {

template <class Families>
auto* find_or_add_family(Families& families, const std::string& name, const std::string& help,
                         Kind kind) {
  RELANCE_ASSERT(valid_name(name, true) && "metric name is not valid");
  for (auto& family : families) {
    if (family->name == name) {
      RELANCE_ASSERT(family->kind == kind && "metric registered twice with different types");
      return family.get();
    }
  }
  auto& added =
      families.emplace_back(std::make_unique<typename Families::value_type::element_type>());
  added->name = name;
  added->help = help;
  added->kind = kind;
  return added.get();
}

template <class Instrument, class Family, class Make>
Instrument& find_or_add_child(Family& family, const Labels& labels, Make make) {
  check_labels(labels);
  for (auto& child : family.children) {
    if (child.labels == labels) return *std::get<std::unique_ptr<Instrument>>(child.instrument);
  }
  auto instrument = make();
  Instrument& ref = *instrument;
  family.children.push_back({labels, std::move(instrument)});
  return ref;
}

}  // namespace

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family* family = find_or_add_family(families_, name, help, Kind::counter);
  return find_or_add_child<Counter>(*family, labels, [] { return std::make_unique<Counter>(); });
}

Gauge& Registry::gauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family* family = find_or_add_family(families_, name, help, Kind::gauge);
  return find_or_add_child<Gauge>(*family, labels, [] { return std::make_unique<Gauge>(); });
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::vector<double>& upper_bounds, const Labels& labels) {
  std::lock_guard lock(mutex_);
  Family* family = find_or_add_family(families_, name, help, Kind::histogram);
  if (family->children.empty()) {
    family->upper_bounds = upper_bounds;
  } else {
    RELANCE_ASSERT(family->upper_bounds == upper_bounds &&
                   "histogram registered twice with different buckets");
  }
  return find_or_add_child<Histogram>(*family, labels,
                                      [&] { return std::make_unique<Histogram>(upper_bounds); });
}

std::string Registry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& family : families_) {
    out += "# HELP ";
    out += family->name;
    out += ' ';
    append_escaped(out, family->help, false);
    out += "\n# TYPE ";
    out += family->name;
    out += ' ';
    out += kind_name(family->kind);
    out += '\n';
    for (const auto& child : family->children) {
      if (const auto* counter = std::get_if<std::unique_ptr<Counter>>(&child.instrument)) {
        out += family->name;
        append_labels(out, child.labels);
        out += ' ';
        append_number(out, (*counter)->value());
        out += '\n';
      } else if (const auto* gauge = std::get_if<std::unique_ptr<Gauge>>(&child.instrument)) {
        out += family->name;
        append_labels(out, child.labels);
        out += ' ';
        append_number(out, (*gauge)->value());
        out += '\n';
      } else {
        const auto snap = std::get<std::unique_ptr<Histogram>>(child.instrument)->snapshot();
        for (std::size_t i = 0; i < snap.cumulative_counts.size(); ++i) {
          std::string le;
          append_number(le, i < snap.upper_bounds.size() ? snap.upper_bounds[i]
                                                         : std::numeric_limits<double>::infinity());
          out += family->name;
          out += "_bucket";
          append_labels(out, child.labels, "le", le);
          out += ' ';
          append_number(out, snap.cumulative_counts[i]);
          out += '\n';
        }
        out += family->name;
        out += "_sum";
        append_labels(out, child.labels);
        out += ' ';
        append_number(out, snap.sum);
        out += '\n';
        out += family->name;
        out += "_count";
        append_labels(out, child.labels);
        out += ' ';
        append_number(out, snap.count);
        out += '\n';
      }
    }
  }
  return out;
}

std::vector<double> latency_buckets_seconds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
          0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
}

}  // namespace relance::metrics
