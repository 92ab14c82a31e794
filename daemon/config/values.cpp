#include "config/values.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <limits>

namespace relance::config {
namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

struct Unit {
  std::string_view name;
  std::uint64_t factor;
};

// Longest names first so that "ms" is not read as "m" followed by "s".
constexpr std::array<Unit, 6> duration_units{{{"ns", 1},
                                              {"us", 1000},
                                              {"ms", 1000 * 1000},
                                              {"s", 1000ULL * 1000 * 1000},
                                              {"m", 60ULL * 1000 * 1000 * 1000},
                                              {"h", 3600ULL * 1000 * 1000 * 1000}}};

constexpr std::array<Unit, 7> byte_units{{{"B", 1},
                                          {"KiB", 1ULL << 10},
                                          {"MiB", 1ULL << 20},
                                          {"GiB", 1ULL << 30},
                                          {"kB", 1000},
                                          {"MB", 1000 * 1000},
                                          {"GB", 1000 * 1000 * 1000}}};

// Reads the leading digits of `text` as an unsigned integer; nullopt when there are none or they
// overflow. `text` is advanced past them.
std::optional<std::uint64_t> take_digits(std::string_view& text, bool& overflow) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (end == text.data()) return std::nullopt;
  overflow = ec == std::errc::result_out_of_range;
  text.remove_prefix(static_cast<std::size_t>(end - text.data()));
  return value;
}

bool multiply(std::uint64_t a, std::uint64_t b, std::uint64_t limit, std::uint64_t& out) {
  if (b != 0 && a > limit / b) return false;
  out = a * b;
  return true;
}

bool valid_host_name(std::string_view text) {
  if (text.empty() || text.size() > 253) return false;
  std::size_t start = 0;
  std::string_view last_label;
  while (start <= text.size()) {
    std::size_t end = text.find('.', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view label = text.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    last_label = label;
    start = end + 1;
  }
  // An all-digit last label is a mistyped IPv4 address ("127.0.0.300"), not a name.
  return !std::all_of(last_label.begin(), last_label.end(), is_digit);
}

}  // namespace

std::optional<std::string> process_environment(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<std::string> interpolate(std::string_view text, const Environment& env) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "$${") == 0) {
      out += "${";
      i += 3;
      continue;
    }
    if (text.compare(i, 2, "${") != 0) {
      out += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Error{"", "'${' at column " + std::to_string(i + 1) +
                           " is not closed by '}'; write '$${' for a literal '${'"};
    }
    const std::string_view inside = text.substr(i + 2, close - i - 2);
    const std::size_t colon = inside.find(":-");
    const std::string_view name = inside.substr(0, colon);
    if (name.empty() || !is_name_start(name.front()) ||
        !std::all_of(name.begin(), name.end(), is_name_char)) {
      return Error{"", quoted(name) + " in '${" + std::string(inside) +
                           "}' is not an environment variable name (letters, digits, _)"};
    }
    std::optional<std::string_view> fallback;
    if (colon != std::string_view::npos) {
      fallback = inside.substr(colon + 2);
      if (fallback->find("${") != std::string_view::npos) {
        return Error{"", "'${" + std::string(inside) + "}': a default cannot hold another '${'"};
      }
    }
    std::optional<std::string> value = env ? env(std::string(name)) : std::nullopt;
    if (fallback && (!value || value->empty())) {
      out += *fallback;
    } else if (value) {
      out += *value;
    } else {
      return Error{"", "environment variable " + std::string(name) +
                           " is not set; set it, or give a default with ${" + std::string(name) +
                           ":-default}"};
    }
    i = close + 1;
  }
  return out;
}

Result<std::int64_t> parse_integer(std::string_view text) {
  std::int64_t value = 0;
  const char* first = text.data();
  if (!text.empty() && text.front() == '+') ++first;
  auto [end, ec] = std::from_chars(first, text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() || first == end) {
    return Error{"", quoted(text) + " is not an integer"};
  }
  if (ec == std::errc::result_out_of_range) {
    return Error{"", quoted(text) + " is too large for an integer"};
  }
  return value;
}

Result<bool> parse_boolean(std::string_view text) {
  if (text == "true") return true;
  if (text == "false") return false;
  return Error{"", quoted(text) + " is not a boolean; write true or false"};
}

Result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  const std::string units_hint = "units are ns, us, ms, s, m, h";
  if (text.empty()) return Error{"", "an empty value is not a duration; write one such as 30s"};
  if (text.front() == '-') return Error{"", quoted(text) + " is negative; a duration cannot be"};
  constexpr auto ns_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    bool overflow = false;
    const bool amount_is_whole_text = rest.size() == text.size();
    std::optional<std::uint64_t> amount = take_digits(rest, overflow);
    if (!amount) return Error{"", quoted(text) + " is not a duration such as 250ms, 30s or 1h30m"};
    if (overflow) return Error{"", quoted(text) + " is too long a duration"};
    if (rest.empty()) {
      if (rest.size() == 0 && amount_is_whole_text) {
        return Error{"", quoted(text) + " has no unit; add one, as in " + std::string(text) +
                             "s or " + std::string(text) + "ms (" + units_hint + ")"};
      }
      return Error{"", quoted(text) + " ends with a number without a unit; " + units_hint};
    }
    std::size_t unit_end = 0;
    while (unit_end < rest.size() && std::isalpha(static_cast<unsigned char>(rest[unit_end]))) {
      ++unit_end;
    }
    const std::string_view unit_name = rest.substr(0, unit_end);
    auto unit = std::find_if(duration_units.begin(), duration_units.end(),
                             [&](const Unit& u) { return u.name == unit_name; });
    if (unit == duration_units.end()) {
      return Error{"", quoted(text) + ": " + quoted(unit_name) + " is not a unit; " + units_hint};
    }
    rest.remove_prefix(unit_end);
    std::uint64_t part = 0;
    if (!multiply(*amount, unit->factor, ns_max, part) || total > ns_max - part) {
      return Error{"", quoted(text) + " is too long a duration"};
    }
    total += part;
  }
  return std::chrono::nanoseconds(static_cast<std::int64_t>(total));
}

Result<std::uint64_t> parse_byte_size(std::string_view text) {
  const std::string units_hint = "units are B, KiB, MiB, GiB, kB, MB, GB";
  if (!text.empty() && text.front() == '-') {
    return Error{"", quoted(text) + " is negative; a size cannot be"};
  }
  std::string_view rest = text;
  bool overflow = false;
  std::optional<std::uint64_t> amount = take_digits(rest, overflow);
  if (!amount) return Error{"", quoted(text) + " is not a size such as 16MiB or 1048576"};
  if (overflow) return Error{"", quoted(text) + " is too large a size"};
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  if (rest.empty()) return *amount;
  auto unit = std::find_if(byte_units.begin(), byte_units.end(),
                           [&](const Unit& u) { return u.name == rest; });
  if (unit == byte_units.end()) {
    return Error{"", quoted(text) + ": " + quoted(rest) + " is not a unit; " + units_hint};
  }
  std::uint64_t bytes = 0;
  if (!multiply(*amount, unit->factor, std::numeric_limits<std::uint64_t>::max(), bytes)) {
    return Error{"", quoted(text) + " is too large a size"};
  }
  return bytes;
}

Result<std::string> parse_host(std::string_view text) {
  const std::string host(text);
  std::array<unsigned char, 16> buffer{};
  if (inet_pton(AF_INET, host.c_str(), buffer.data()) == 1 ||
      inet_pton(AF_INET6, host.c_str(), buffer.data()) == 1 || valid_host_name(text)) {
    return host;
  }
  return Error{
      "", quoted(text) + " is not an IP address or a host name (write IPv6 addresses without [])"};
}

std::string format_duration(std::chrono::nanoseconds value) {
  const auto count = static_cast<std::uint64_t>(value.count());
  if (count == 0) return "0s";
  for (auto unit = duration_units.rbegin(); unit != duration_units.rend(); ++unit) {
    if (count % unit->factor == 0)
      return std::to_string(count / unit->factor) + std::string(unit->name);
  }
  return std::to_string(count) + "ns";
}

std::string format_byte_size(std::uint64_t value) {
  if (value == 0) return "0";
  for (std::string_view name : {"GiB", "MiB", "KiB"}) {
    auto unit = std::find_if(byte_units.begin(), byte_units.end(),
                             [&](const Unit& u) { return u.name == name; });
    if (value % unit->factor == 0) return std::to_string(value / unit->factor) + std::string(name);
  }
  return std::to_string(value);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic-programming table are enough for the transposition rule.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace relance::config
