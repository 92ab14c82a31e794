#include "connectors/email/mime/mime.hpp"

#include <gtest/gtest.h>

#include "tests/unit/connectors/email/mime/mime_parse.hpp"

namespace relance::connectors::mime {
namespace {

using testing::parse_message;

core::Timestamp at(int y, unsigned m, unsigned d, int hours, int minutes) {
  using namespace std::chrono;
  return core::Timestamp(sys_days(year(y) / month(m) / day(d)) + std::chrono::hours(hours) +
                         std::chrono::minutes(minutes));
}

EmailMessage french_reminder() {
  EmailMessage message;
  message.from = "Service Comptabilité <compta@exemple.fr>";
  message.reply_to = "recouvrement@exemple.fr";
  message.to = {"Léa Dupré <lea.dupre@client.fr>", "factures@client.fr"};
  message.cc = {"\"Martin, Paul\" <paul.martin@client.fr>"};
  message.subject = "Relance : facture n° FA-2026-0042 échue — 1 234,56 € à régler";
  message.text =
      "Bonjour Madame Dupré,\n\n"
      "Sauf erreur de notre part, la facture FA-2026-0042 d'un montant de 1 234,56 € TTC, "
      "échue le 3 mars 2026, reste impayée à ce jour. Nous vous remercions de bien vouloir "
      "procéder à son règlement.\n"
      ".\n"
      "Indemnité forfaitaire de recouvrement : 40,00 €   \n"
      "Cordialement,\nLe service comptabilité\n";
  message.html =
      "<p>Bonjour Madame Dupré,</p>\n<p>La facture <b>FA-2026-0042</b> d'un montant de "
      "<b>1&nbsp;234,56&nbsp;€</b> est échue.</p>";
  message.date = at(2026, 3, 5, 9, 30);
  return message;
}

const MimeOptions options{"relance.exemple.fr"};

TEST(Mime, french_message_parses_back_to_the_same_headers_and_parts) {
  const EmailMessage message = french_reminder();
  Result<std::string> built = build_message(message, "cust-42/step-1/2026-03-08", options);
  ASSERT_TRUE(built.ok()) << built.error().to_string();
  const testing::ParsedMessage parsed = parse_message(*built);

  auto header = [&](const std::string& name) {
    return testing::decode_words(parsed.headers.at(name));
  };
  EXPECT_EQ(parsed.headers.at("date"), "Thu, 05 Mar 2026 09:30:00 +0000");
  EXPECT_EQ(header("from"), "Service Comptabilité <compta@exemple.fr>");
  EXPECT_EQ(header("reply-to"), "recouvrement@exemple.fr");
  EXPECT_EQ(header("to"), "Léa Dupré <lea.dupre@client.fr>, factures@client.fr");
  EXPECT_EQ(header("cc"), "\"Martin, Paul\" <paul.martin@client.fr>");
  EXPECT_EQ(header("subject"), message.subject);
  EXPECT_NE(parsed.headers.at("subject").find("=?UTF-8?B?"), std::string::npos);
  EXPECT_EQ(parsed.headers.at("mime-version"), "1.0");
  EXPECT_EQ(parsed.headers.at("message-id"),
            message_id("cust-42/step-1/2026-03-08", "relance.exemple.fr"));
  EXPECT_EQ(parsed.headers.count("bcc"), 0u);

  ASSERT_EQ(parsed.parts.size(), 2u);
  EXPECT_EQ(parsed.parts[0].headers.at("content-type"), "text/plain; charset=UTF-8");
  EXPECT_EQ(parsed.parts[0].content, message.text);
  EXPECT_EQ(parsed.parts[1].headers.at("content-type"), "text/html; charset=UTF-8");
  EXPECT_EQ(parsed.parts[1].content, message.html);
}

TEST(Mime, message_id_is_a_hash_of_the_key_with_the_configured_domain) {
  const std::string id = message_id("cust-42/step-1", "relance.exemple.fr");
  EXPECT_EQ(id, "<" + key_digest("cust-42/step-1").substr(0, 32) + ".relance@relance.exemple.fr>");
  EXPECT_EQ(key_digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Mime, same_key_gives_the_same_bytes_and_another_key_another_message_id) {
  const EmailMessage message = french_reminder();
  Result<std::string> first = build_message(message, "key-1", options);
  Result<std::string> again = build_message(message, "key-1", options);
  Result<std::string> other = build_message(message, "key-2", options);
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_NE(parse_message(*first).headers.at("message-id"),
            parse_message(*other).headers.at("message-id"));
  EXPECT_NE(parse_message(*first).headers.at("content-type"),
            parse_message(*other).headers.at("content-type"));
}

TEST(Mime, text_only_message_is_a_single_text_plain_part) {
  EmailMessage message = french_reminder();
  message.html.clear();
  Result<std::string> built = build_message(message, "key", options);
  ASSERT_TRUE(built.ok());
  const testing::ParsedMessage parsed = parse_message(*built);
  EXPECT_EQ(parsed.headers.at("content-type"), "text/plain; charset=UTF-8");
  ASSERT_EQ(parsed.parts.size(), 1u);
  EXPECT_EQ(parsed.parts[0].content, message.text);
}

TEST(Mime, line_break_in_any_header_value_is_refused) {
  struct Case {
    const char* field;
    void (*inject)(EmailMessage&);
  };
  const Case cases[] = {
      {"subject", [](EmailMessage& m) { m.subject = "Relance\r\nBcc: victime@ailleurs.fr"; }},
      {"subject", [](EmailMessage& m) { m.subject = "Relance\nBcc: victime@ailleurs.fr"; }},
      {"from", [](EmailMessage& m) { m.from = "a@exemple.fr\rBcc: victime@ailleurs.fr"; }},
      {"reply_to", [](EmailMessage& m) { m.reply_to = "a@exemple.fr\nX: y"; }},
      {"to[1]", [](EmailMessage& m) { m.to[1] = "Nom\n <b@client.fr>"; }},
      {"cc[0]", [](EmailMessage& m) { m.cc[0] = "c@client.fr\r\nBcc: victime@ailleurs.fr"; }},
  };
  for (const Case& c : cases) {
    EmailMessage message = french_reminder();
    c.inject(message);
    Result<std::string> built = build_message(message, "key", options);
    ASSERT_FALSE(built.ok()) << c.field;
    EXPECT_EQ(built.error().field, c.field);
    EXPECT_NE(built.error().message.find("line break"), std::string::npos)
        << built.error().to_string();
  }
}

TEST(Mime, malformed_addresses_are_refused_with_the_field_named) {
  for (const char* address : {"", "pas une adresse", "a@b.fr, c@d.fr", "<a@b.fr", "a@@b.fr",
                              ".a@b.fr", "a@-b.fr", "élodie@client.fr", "Nom <a@b.fr> x"}) {
    EmailMessage message = french_reminder();
    message.to = {address};
    Result<std::string> built = build_message(message, "key", options);
    ASSERT_FALSE(built.ok()) << address;
    EXPECT_EQ(built.error().field, "to[0]") << address;
  }
  EmailMessage message = french_reminder();
  message.to.clear();
  Result<std::string> built = build_message(message, "key", options);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().field, "to");
}

TEST(Mime, invalid_utf8_and_missing_parts_are_refused) {
  EmailMessage message = french_reminder();
  message.subject = "facture \xC3";
  EXPECT_EQ(build_message(message, "key", options).error().field, "subject");
  message = french_reminder();
  message.text = "montant \xE2\x82";
  EXPECT_EQ(build_message(message, "key", options).error().field, "text");
  message = french_reminder();
  message.text.clear();
  EXPECT_EQ(build_message(message, "key", options).error().field, "text");
  message = french_reminder();
  message.date = {};
  EXPECT_EQ(build_message(message, "key", options).error().field, "date");
  EXPECT_EQ(build_message(french_reminder(), "", options).error().field, "idempotency_key");
  EXPECT_EQ(build_message(french_reminder(), "key", {"pas un domaine"}).error().field,
            "message_id_domain");
}

TEST(Mime, long_ascii_subject_is_folded_and_unfolds_to_the_same_text) {
  EmailMessage message = french_reminder();
  message.subject =
      "Reminder: invoices INV-0001 INV-0002 INV-0003 INV-0004 INV-0005 INV-0006 INV-0007 "
      "INV-0008 INV-0009 are overdue";
  Result<std::string> built = build_message(message, "key", options);
  ASSERT_TRUE(built.ok());
  const testing::ParsedMessage parsed = parse_message(*built);
  EXPECT_EQ(parsed.headers.at("subject"), message.subject);
  EXPECT_EQ(parsed.headers.at("subject").find("=?"), std::string::npos);
}

TEST(Mime, many_recipients_are_folded_below_78_columns) {
  EmailMessage message = french_reminder();
  message.to.clear();
  std::string expected;
  for (int i = 0; i < 12; ++i) {
    message.to.push_back("Destinataire Numéro " + std::to_string(i) + " <d" + std::to_string(i) +
                         "@client.fr>");
    expected += (i ? ", " : "") + message.to.back();
  }
  Result<std::string> built = build_message(message, "key", options);
  ASSERT_TRUE(built.ok());
  EXPECT_EQ(testing::decode_words(parse_message(*built).headers.at("to")), expected);
}

TEST(Mime, quoted_printable_encodes_what_it_must_and_keeps_lines_short) {
  EXPECT_EQ(encode_quoted_printable("a=b"), "a=3Db");
  EXPECT_EQ(encode_quoted_printable("été"), "=C3=A9t=C3=A9");
  EXPECT_EQ(encode_quoted_printable("fin \nsuite\t"), "fin=20\r\nsuite=09");
  EXPECT_EQ(encode_quoted_printable(".\n.x"), "=2E\r\n=2Ex");
  EXPECT_EQ(encode_quoted_printable("a\r\nb\rc\n"), "a\r\nb\r\nc\r\n");
  const std::string long_line(200, 'x');
  const std::string encoded = encode_quoted_printable(long_line);
  EXPECT_EQ(testing::decode_quoted_printable(encoded), long_line);
  for (std::size_t start = 0; start < encoded.size();) {
    std::size_t end = encoded.find("\r\n", start);
    if (end == std::string::npos) end = encoded.size();
    EXPECT_LE(end - start, 76u);
    start = end + 2;
  }
}

TEST(Mime, date_is_formatted_per_rfc_5322_in_utc) {
  EXPECT_EQ(format_rfc5322_date(at(2026, 3, 1, 0, 5)), "Sun, 01 Mar 2026 00:05:00 +0000");
  EXPECT_EQ(format_rfc5322_date(at(2024, 2, 29, 23, 59)), "Thu, 29 Feb 2024 23:59:00 +0000");
}

TEST(Mime, envelope_lists_to_and_cc_addresses_once) {
  EmailMessage message = french_reminder();
  message.cc.push_back("factures@client.fr");
  Result<Envelope> envelope = envelope_of(message);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(envelope->from, "compta@exemple.fr");
  EXPECT_EQ(envelope->recipients,
            (std::vector<std::string>{"lea.dupre@client.fr", "factures@client.fr",
                                      "paul.martin@client.fr"}));
}

}  // namespace
}  // namespace relance::connectors::mime
