#include "core/event_json.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace relance::core::detail {

namespace json = boost::json;

namespace {

// Builds the value like Boost.JSON's own parser does, and records each object's member count as
// read from the text, in closing order. Boost keeps only the last of duplicate keys, so an
// object whose built size is smaller than its recorded count had a duplicate.
class Handler {
 public:
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);

  Handler(unsigned char* temp, std::size_t temp_size, std::vector<std::size_t>& object_sizes)
      : stack(json::storage_ptr(), temp, temp_size), object_sizes_(object_sizes) {}

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    object_sizes_.push_back(n);
    stack.push_object(n);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack.push_string(s);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_text_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_text_.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_text_.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view s, json::error_code& ec) {
    // Boost 1.81 reads decimals to within an ulp, not exactly, so a kept number could drift
    // each time the journal text is read and written again; from_chars rounds correctly, and
    // Boost's serializer writes the shortest text that reads back to the same double.
    number_text_.append(s.data(), s.size());
    double exact = 0;
    const auto [end, error] =
        std::from_chars(number_text_.data(), number_text_.data() + number_text_.size(), exact);
    const bool parsed = error == std::errc() && end == number_text_.data() + number_text_.size();
    number_text_.clear();
    if (parsed) d = exact;
    // Beyond the double range Boost gives infinity, which it would write back as `Infinity`:
    // not JSON, and the journal would keep a text no reader can parse.
    if (!std::isfinite(d)) {
      ec = json::error::exponent_overflow;
      return false;
    }
    stack.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

  json::value_stack stack;

 private:
  std::vector<std::size_t>& object_sizes_;
  std::string number_text_;  // a number split across on_number_part calls
};

// Walks objects in the order the parser closed them (post-order) and compares sizes.
bool sizes_match(const json::value& value, const std::vector<std::size_t>& sizes,
                 std::size_t& next) {
  if (const auto* array = value.if_array()) {
    for (const auto& element : *array) {
      if (!sizes_match(element, sizes, next)) return false;
    }
    return true;
  }
  if (const auto* object = value.if_object()) {
    for (const auto& member : *object) {
      if (!sizes_match(member.value(), sizes, next)) return false;
    }
    if (next >= sizes.size() || sizes[next] != object->size()) return false;
    ++next;
  }
  return true;
}

}  // namespace

Result<json::value> parse_json_strict(std::string_view text, json::storage_ptr sp,
                                      std::size_t depth_max) {
  json::parse_options options;
  options.max_depth = depth_max;
  // Sized for the usual event so that only large batches reach the heap.
  unsigned char temp[2048];
  thread_local std::vector<std::size_t> object_sizes;
  object_sizes.clear();

  json::basic_parser<Handler> parser(options, temp, sizeof temp, object_sizes);
  parser.handler().stack.reset(std::move(sp));
  json::error_code ec;
  const std::size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    if (ec == json::error::too_deep) {
      return Error{"", "the JSON of an event nests deeper than " + std::to_string(json_depth_max) +
                           " levels"};
    }
    if (ec == json::error::exponent_overflow) {
      return Error{"", "the JSON has a number too large to hold (beyond 1.7e308) at byte " +
                           std::to_string(used)};
    }
    return Error{"", "the text is not valid JSON (" + ec.message() + " at byte " +
                         std::to_string(used) + ")"};
  }
  if (used != text.size()) {
    return Error{"", "the text is not valid JSON (unexpected data after the value at byte " +
                         std::to_string(used) + ")"};
  }
  json::value value = parser.handler().stack.release();
  std::size_t next = 0;
  if (!sizes_match(value, object_sizes, next) || next != object_sizes.size()) {
    return Error{"", "the JSON has an object with the same key twice; each key must appear once"};
  }
  return value;
}

std::string_view json_kind_name(const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a JSON boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return "a JSON number";
    case json::kind::string:
      return "a JSON string";
    case json::kind::array:
      return "a JSON array";
    case json::kind::object:
      return "a JSON object";
  }
  return "an unknown JSON value";
}

}  // namespace relance::core::detail
