#pragma once
// The outbox's invoice_ids column: a JSON array of strings, the same text in every backend.
// Private to the store backends.

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace relance::store {

inline std::string invoice_ids_json(const std::vector<std::string>& ids) {
  boost::json::array array;
  array.reserve(ids.size());
  for (const auto& id : ids) array.emplace_back(id);
  return boost::json::serialize(array);
}

inline Result<std::vector<std::string>> parse_invoice_ids(std::string_view text) {
  boost::system::error_code failed;
  const boost::json::value parsed = boost::json::parse(text, failed);
  if (failed || !parsed.is_array()) {
    return Error{"outbox.invoice_ids", "is not a JSON array: " + std::string(text)};
  }
  std::vector<std::string> ids;
  for (const auto& element : parsed.get_array()) {
    if (!element.is_string()) {
      return Error{"outbox.invoice_ids", "holds a non-string: " + std::string(text)};
    }
    ids.emplace_back(element.get_string());
  }
  return ids;
}

}  // namespace relance::store
