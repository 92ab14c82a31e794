#pragma once
// A hash map keyed by strings for the tables that grow with the number of receivables: open
// addressing (Boost's flat map), so a lookup is about one cache miss rather than a walk along
// heap nodes, and looked up by std::string_view without building a std::string.

#include <boost/unordered/unordered_flat_map.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace relance::core {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>()(text);
  }
};

template <class Value>
using StringMap = boost::unordered_flat_map<std::string, Value, StringHash, std::equal_to<>>;

}  // namespace relance::core
