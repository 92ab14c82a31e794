#pragma once
// Payment references: what in a remittance text or a structured reference can name an invoice.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relance::core::engine {

// Upper-case letters and digits only: "inv-2026/0042" -> "INV20260042".
std::string normalize_reference(std::string_view text);
// Digits only, leading zeros dropped: "INV-2026-0042" -> "20260042"; "" when there are none.
std::string digits_key(std::string_view text);

// ISO 11649 creditor reference ("RF18539007547034", spaces allowed): "RF", two check digits,
// 1 to 21 letters or digits, mod 97 == 1. Returns the creditor's part ("539007547034").
std::optional<std::string> parse_rf_reference(std::string_view text);
// Swiss QR reference: 27 digits (spaces allowed), last one the mod-10 recursive check digit of
// the others. Returns the 26-digit payload.
std::optional<std::string> parse_qr_reference(std::string_view text);

struct References {
  // Keys to look up, best first: "n:<normalized>" matches an invoice number or id once
  // normalized; "d:<digits>" matches the digits of an invoice number (numeric references).
  std::vector<std::string> keys;
  bool structured = false;  // keys[0] comes from a valid RF or QR reference
};

// The reference keys of a payment: its structured reference first (when valid), then tokens of
// the remittance text that contain a digit (and RF references printed in groups of four).
References extract_references(const std::optional<std::string>& remittance_info,
                              const std::optional<std::string>& structured_reference,
                              std::size_t keys_max);

// The keys an invoice answers to: its normalized number (or id when it has no number) and,
// when different, the digits of it.
std::vector<std::string> invoice_reference_keys(std::string_view invoice_id,
                                                std::string_view number);

}  // namespace relance::core::engine
