#pragma once
// Strict JSON text -> Boost.JSON value, shared by the event parsers. Private to daemon/core.

#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>
#include <string_view>

#include "core/result.hpp"

namespace relance::core::detail {

// Nesting deeper than this is refused: no canonical event needs more than a handful of levels,
// and unknown fields kept verbatim should not be able to exhaust the stack.
inline constexpr std::size_t json_depth_max = 32;

// Parses exactly one JSON document (RFC 8259, UTF-8) into storage `sp`. Refuses what a lenient
// reader would guess at: comments, trailing commas, invalid UTF-8, trailing data, and an object
// with the same key twice (which key would win differs between readers). A batch passes
// json_depth_max + 1 so that an event nests as deep in a batch as alone.
Result<boost::json::value> parse_json_strict(std::string_view text, boost::json::storage_ptr sp,
                                             std::size_t depth_max = json_depth_max);

// "a JSON number", "an array"...: for messages that say what was found instead.
std::string_view json_kind_name(const boost::json::value& value);

}  // namespace relance::core::detail
