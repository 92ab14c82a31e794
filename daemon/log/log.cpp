#include "log/log.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

namespace relance::log {
namespace {

std::mutex& log_mutex() {
  static std::mutex mutex;
  return mutex;
}
Sink sink_fn = nullptr;
void* sink_context = nullptr;

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "unknown";
}

// RFC 3339 UTC with milliseconds: log lines are read by people and by log shippers.
std::string now_text() {
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const std::time_t seconds = static_cast<std::time_t>(ms.count() / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  // Sized for the widest ints snprintf could be given, so no build warns about truncation.
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms.count() % 1000));
  return buffer;
}

}  // namespace

void detail::write(Level level, std::string_view msg, Fields fields) {
  boost::json::object line;
  line["ts"] = now_text();
  line["level"] = level_name(level);
  line["msg"] = msg;
  for (const Field& field : fields) {
    std::visit([&](const auto& v) { line[field.key] = v; }, field.value);
  }
  std::string text = boost::json::serialize(line);
  std::lock_guard lock(log_mutex());
  if (sink_fn != nullptr) {
    sink_fn(text, sink_context);
    return;
  }
  text.push_back('\n');
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

void set_sink(Sink sink, void* context) {
  std::lock_guard lock(log_mutex());
  sink_fn = sink;
  sink_context = context;
}

}  // namespace relance::log
