#pragma once
// Structured logs: one JSON object per line on stderr ({"ts","level","msg", then the fields}).
// Thread-safe; a call below the current level costs one relaxed atomic load.

#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <utility>
#include <variant>

namespace relance::log {

enum class Level : int { debug = 0, info = 1, warn = 2, error = 3 };

using Value = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;
struct Field {
  std::string_view key;
  Value value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <class I>
  requires std::is_integral_v<I> && std::is_signed_v<I> Field(std::string_view k, I v)
      : key(k), value(static_cast<std::int64_t>(v)) {}
  template <class I>
  requires std::is_integral_v<I> && std::is_unsigned_v<I> &&
      (!std::is_same_v<I, bool>)Field(std::string_view k, I v)
      : key(k), value(static_cast<std::uint64_t>(v)) {}
};
using Fields = std::initializer_list<Field>;

namespace detail {
inline std::atomic<int> current_level{static_cast<int>(Level::info)};
void write(Level level, std::string_view msg, Fields fields);
}  // namespace detail

inline void set_level(Level level) {
  detail::current_level.store(static_cast<int>(level), std::memory_order_relaxed);
}
inline bool enabled(Level level) {
  return static_cast<int>(level) >= detail::current_level.load(std::memory_order_relaxed);
}
inline void write(Level level, std::string_view msg, Fields fields = {}) {
  if (enabled(level)) detail::write(level, msg, fields);
}
inline void debug(std::string_view msg, Fields fields = {}) { write(Level::debug, msg, fields); }
inline void info(std::string_view msg, Fields fields = {}) { write(Level::info, msg, fields); }
inline void warn(std::string_view msg, Fields fields = {}) { write(Level::warn, msg, fields); }
inline void error(std::string_view msg, Fields fields = {}) { write(Level::error, msg, fields); }

// Tests capture lines here instead of stderr; nullptr restores stderr. `sink` is called under
// the logger's lock with one whole line (no trailing newline).
using Sink = void (*)(std::string_view line, void* context);
void set_sink(Sink sink, void* context);

}  // namespace relance::log
