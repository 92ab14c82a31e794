#include "core/engine/references.hpp"

#include <algorithm>

namespace relance::core::engine {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }
char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }
// Characters that may appear inside an invoice number ("INV/2026-0042", "F.2026.12").
bool is_token_char(char c) { return is_alnum(c) || c == '-' || c == '/' || c == '.' || c == '_'; }

std::string without_spaces(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != ' ') out.push_back(upper(c));
  }
  return out;
}

void add_key(References& refs, std::string key, std::size_t keys_max) {
  if (refs.keys.size() >= keys_max) return;
  if (std::find(refs.keys.begin(), refs.keys.end(), key) != refs.keys.end()) return;
  refs.keys.push_back(std::move(key));
}

// An RF payload or a free-text token gives a normalized key and, when numeric, a digits key.
void add_token_keys(References& refs, std::string_view token, std::size_t keys_max) {
  std::string normalized = normalize_reference(token);
  if (normalized.empty()) return;
  bool numeric = std::all_of(normalized.begin(), normalized.end(), is_digit);
  if (numeric) {
    std::string digits = digits_key(normalized);
    if (!digits.empty()) add_key(refs, "d:" + digits, keys_max);
    return;
  }
  add_key(refs, "n:" + normalized, keys_max);
}

}  // namespace

std::string normalize_reference(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (is_alnum(c)) out.push_back(upper(c));
  }
  return out;
}

std::string digits_key(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (!is_digit(c)) continue;
    if (out.empty() && c == '0') continue;
    out.push_back(c);
  }
  return out;
}

std::optional<std::string> parse_rf_reference(std::string_view text) {
  std::string compact = without_spaces(text);
  if (compact.size() < 5 || compact.size() > 25) return std::nullopt;
  if (compact[0] != 'R' || compact[1] != 'F' || !is_digit(compact[2]) || !is_digit(compact[3])) {
    return std::nullopt;
  }
  for (std::size_t i = 4; i < compact.size(); ++i) {
    if (!is_alnum(compact[i])) return std::nullopt;
  }
  // ISO 7064 mod 97-10: move "RFcc" to the end, letters become 10..35, the number mod 97 is 1.
  std::string rearranged = compact.substr(4) + compact.substr(0, 4);
  int remainder = 0;
  for (char c : rearranged) {
    if (is_digit(c)) {
      remainder = (remainder * 10 + (c - '0')) % 97;
    } else {
      int value = c - 'A' + 10;
      remainder = (remainder * 100 + value) % 97;
    }
  }
  if (remainder != 1) return std::nullopt;
  return compact.substr(4);
}

std::optional<std::string> parse_qr_reference(std::string_view text) {
  std::string compact = without_spaces(text);
  if (compact.size() != 27) return std::nullopt;
  if (!std::all_of(compact.begin(), compact.end(), is_digit)) return std::nullopt;
  // Mod 10 recursive (Swiss payment standards): carry through the table, check = (10 - c) % 10.
  static constexpr int table[10] = {0, 9, 4, 6, 8, 2, 7, 1, 3, 5};
  int carry = 0;
  for (std::size_t i = 0; i < 26; ++i) carry = table[(carry + (compact[i] - '0')) % 10];
  int check = (10 - carry) % 10;
  if (check != compact[26] - '0') return std::nullopt;
  return compact.substr(0, 26);
}

References extract_references(const std::optional<std::string>& remittance_info,
                              const std::optional<std::string>& structured_reference,
                              std::size_t keys_max) {
  References refs;
  if (structured_reference) {
    if (auto rf = parse_rf_reference(*structured_reference)) {
      add_token_keys(refs, *rf, keys_max);
      refs.structured = !refs.keys.empty();
    } else if (auto qr = parse_qr_reference(*structured_reference)) {
      std::string digits = digits_key(*qr);
      if (!digits.empty()) {
        add_key(refs, "d:" + digits, keys_max);
        refs.structured = true;
      }
    } else {
      // Not a checked reference (a customer's own reference, a typo): a plain token.
      add_token_keys(refs, *structured_reference, keys_max);
    }
  }
  if (!remittance_info) return refs;
  std::string_view text = *remittance_info;
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  while (i < text.size() && tokens.size() < 4 * keys_max) {
    while (i < text.size() && !is_token_char(text[i])) ++i;
    std::size_t start = i;
    while (i < text.size() && is_token_char(text[i])) ++i;
    std::string_view token = text.substr(start, i - start);
    while (!token.empty() && !is_alnum(token.back())) token.remove_suffix(1);
    while (!token.empty() && !is_alnum(token.front())) token.remove_prefix(1);
    if (!token.empty()) tokens.push_back(token);
  }
  for (std::size_t t = 0; t < tokens.size() && refs.keys.size() < keys_max; ++t) {
    std::string_view token = tokens[t];
    // "RF18 5390 0754 7034": an RF reference printed in groups of four.
    if (token.size() >= 2 && upper(token[0]) == 'R' && upper(token[1]) == 'F') {
      std::string joined(token);
      std::optional<std::string> rf = parse_rf_reference(joined);
      for (std::size_t g = t + 1; !rf && g < tokens.size() && g <= t + 6; ++g) {
        if (tokens[g].size() > 4) break;
        joined += tokens[g];
        rf = parse_rf_reference(joined);
        if (rf) t = g;
      }
      if (rf) {
        add_token_keys(refs, *rf, keys_max);
        continue;
      }
    }
    if (std::none_of(token.begin(), token.end(), is_digit) || token.size() < 3) continue;
    add_token_keys(refs, token, keys_max);
  }
  return refs;
}

std::vector<std::string> invoice_reference_keys(std::string_view invoice_id,
                                                std::string_view number) {
  std::string_view printed = number.empty() ? invoice_id : number;
  std::vector<std::string> keys;
  std::string normalized = normalize_reference(printed);
  bool numeric = !normalized.empty() && std::all_of(normalized.begin(), normalized.end(), is_digit);
  if (!normalized.empty() && !numeric) keys.push_back("n:" + normalized);
  std::string digits = digits_key(printed);
  if (!digits.empty()) keys.push_back("d:" + digits);
  return keys;
}

}  // namespace relance::core::engine
