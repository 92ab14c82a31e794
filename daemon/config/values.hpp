#pragma once
// How one scalar of relance.yaml is read: environment interpolation, then the text of a value
// parsed by its type. Each parser returns a message a user can act on, without the key: the
// loader adds where the value is.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/result.hpp"

namespace relance::config {

// Replaces `${VAR}` and `${VAR:-default}` (default when VAR is unset or empty, as in sh) and turns
// `$${` into a literal `${`. A `$` not followed by `{` is kept as it is.
Result<std::string> interpolate(std::string_view text, const Environment& env);

// A decimal integer, optionally signed: "8080", "-1". No unit, no separators.
Result<std::int64_t> parse_integer(std::string_view text);

// "true" or "false".
Result<bool> parse_boolean(std::string_view text);

// One or more <integer><unit> groups, units us, ms, s, m, h: "250ms", "30s", "1h30m".
// A bare number is an error that asks for a unit.
Result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// An integer of bytes ("1048576"), or an integer with a unit: B, KiB, MiB, GiB (powers of 1024)
// or kB, MB, GB (powers of 1000): "16MiB", "512KiB".
Result<std::uint64_t> parse_byte_size(std::string_view text);

// A host name (RFC 1123) or an IPv4 / IPv6 literal without brackets: "127.0.0.1", "::1",
// "localhost".
Result<std::string> parse_host(std::string_view text);

// Shortest exact writing of a duration or a byte size, as the parsers read it back ("30s",
// "16MiB"), for defaults and bounds in messages.
std::string format_duration(std::chrono::nanoseconds value);
std::string format_byte_size(std::uint64_t value);

// Damerau (optimal string alignment) distance, to suggest the key a typo meant.
std::size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace relance::config
