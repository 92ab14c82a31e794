#include <gtest/gtest.h>

#include "core/engine/references.hpp"

namespace relance::core::engine {
namespace {

TEST(References, rf_creditor_reference_is_checked) {
  EXPECT_EQ(parse_rf_reference("RF18 5390 0754 7034"), "539007547034");
  EXPECT_EQ(parse_rf_reference("RF19 5390 0754 7034"), std::nullopt);  // bad check digits
  EXPECT_EQ(parse_rf_reference("XX18539007547034"), std::nullopt);
}

TEST(References, swiss_qr_reference_is_checked) {
  EXPECT_EQ(parse_qr_reference("21 00000 00003 13947 14300 09017"), "21000000000313947143000901");
  EXPECT_EQ(parse_qr_reference("21 00000 00003 13947 14300 09018"), std::nullopt);
  EXPECT_EQ(parse_qr_reference("123"), std::nullopt);
}

TEST(References, remittance_text_tokens_with_digits_become_keys) {
  References refs =
      extract_references("Paiement facture INV-2026-0042 et 2026/0043", std::nullopt, 8);
  EXPECT_EQ(refs.keys, (std::vector<std::string>{"n:INV20260042", "d:20260043"}));
  EXPECT_FALSE(refs.structured);
  refs = extract_references("ref RF18 5390 0754 7034", std::nullopt, 8);
  EXPECT_EQ(refs.keys, std::vector<std::string>{"d:539007547034"});
  refs = extract_references(std::nullopt, "RF18539007547034", 8);
  EXPECT_TRUE(refs.structured);
}

TEST(References, invoice_keys_are_its_normalized_number_and_digits) {
  EXPECT_EQ(invoice_reference_keys("id", "INV-2026-0042"),
            (std::vector<std::string>{"n:INV20260042", "d:20260042"}));
  EXPECT_EQ(invoice_reference_keys("00042", ""), std::vector<std::string>{"d:42"});
}

TEST(References, keys_are_bounded) {
  References refs = extract_references("A1 B2 C3 D4 E5 F6 G7 H8 I9", std::nullopt, 3);
  EXPECT_EQ(refs.keys.size(), 0u);  // tokens shorter than 3 characters are noise
  refs = extract_references("AA1 BB2 CC3 DD4 EE5", std::nullopt, 3);
  EXPECT_EQ(refs.keys.size(), 3u);
}

}  // namespace
}  // namespace relance::core::engine
