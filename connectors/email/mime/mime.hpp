#pragma once
// Builds the RFC 5322 / MIME bytes of a reminder email, shared by the email sinks.
//
// The output is a pure function of (message, idempotency key, options): the Message-ID and the
// multipart boundary derive from the key, so a retried delivery sends the very same bytes and a
// receiver (or a human) can spot the duplicate. All output is 7-bit ASCII with CRLF line ends:
// headers are folded below 78 columns, non-ASCII header text uses RFC 2047 encoded-words and the
// bodies are quoted-printable UTF-8 with lines of at most 76 characters.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sink.hpp"
#include "core/result.hpp"

namespace relance::connectors::mime {

struct MimeOptions {
  // Right-hand side of the Message-ID ("relance.example.fr"): a domain the sender controls.
  std::string message_id_domain;
};

// Checked when a sink is made, so a bad domain is a configuration error and not a rejected
// message.
Result<void> check_options(const MimeOptions& options);

// "Name <local@domain>" or "local@domain".
struct Mailbox {
  std::string display_name;  // UTF-8, may be empty
  std::string address;       // ASCII addr-spec
};

// A mailbox as written in EmailMessage fields. Refuses CR/LF and other control characters (they
// would let a value inject headers), quoted local parts and non-ASCII addresses (SMTPUTF8 is not
// supported), and anything that is not one address.
Result<Mailbox> parse_mailbox(std::string_view text);

// Where an SMTP transaction sends the message: MAIL FROM and RCPT TO (To then Cc, without
// duplicates).
struct Envelope {
  std::string from;
  std::vector<std::string> recipients;
};
Result<Envelope> envelope_of(const EmailMessage& message);

// Lowercase hex SHA-256 of an idempotency key: the seed of Message-ID, boundary and file names.
std::string key_digest(std::string_view idempotency_key);

// "<first 32 hex digits of the key digest.relance@domain>".
std::string message_id(std::string_view idempotency_key, std::string_view domain);

// RFC 5322 date-time in UTC: "Thu, 05 Mar 2026 09:30:00 +0000".
std::string format_rfc5322_date(core::Timestamp instant);

// Quoted-printable (RFC 2045 6.7) of UTF-8 text; any line break in the input (LF, CRLF or CR)
// becomes a CRLF hard break, and encoded lines are at most 76 characters.
std::string encode_quoted_printable(std::string_view text);

// An unstructured header value (after "Name: ") as it must be written: as is when it is short
// printable ASCII, else RFC 2047 "=?UTF-8?B?...?=" words folded on their own lines.
// `name_length` is the length of "Name: " on the first line.
std::string encode_unstructured_header(std::string_view utf8, std::size_t name_length);

// The complete message: headers, blank line, body; CRLF line ends. Errors name the field
// ("to[1]", "subject") and say what is wrong with it.
Result<std::string> build_message(const EmailMessage& message, std::string_view idempotency_key,
                                  const MimeOptions& options);

}  // namespace relance::connectors::mime
