#include "connectors/email/mime/mime.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>

namespace relance::connectors::mime {
namespace {

// RFC 5322 2.1.1: lines SHOULD be at most 78 characters; RFC 2045 6.7: quoted-printable lines at
// most 76; RFC 5321 4.5.3.1.3: an address is at most 254 octets, a local part 64.
constexpr std::size_t header_line_chars_max = 78;
constexpr std::size_t qp_line_chars_max = 76;
constexpr std::size_t address_bytes_max = 254;
constexpr std::size_t local_part_bytes_max = 64;
constexpr std::size_t display_name_bytes_max = 256;
constexpr std::size_t subject_bytes_max = 2000;
// 39 bytes of UTF-8 give 52 base64 characters: "=?UTF-8?B?" + 52 + "?=" is 64 columns, which
// fits after "Subject: " and after the folding space within 76 (RFC 2047 section 2).
constexpr std::size_t encoded_word_bytes_max = 39;

constexpr std::string_view line_break_message =
    "contains a line break (CR or LF); header values must be a single line";

bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool is_printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

// Length of the UTF-8 sequence starting at `text[i]`, 0 when it is not well-formed (overlong
// forms, surrogates and code points above U+10FFFF included).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  std::uint32_t code_point = 0;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    code_point = lead & 0x0f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3f);
  }
  if (length == 3 && (code_point < 0x800 || (code_point >= 0xd800 && code_point <= 0xdfff))) {
    return 0;
  }
  if (length == 4 && (code_point < 0x10000 || code_point > 0x10ffff)) return 0;
  return length;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence_length(text, i);
    if (length == 0) return false;
    i += length;
  }
  return true;
}

// A header value must be one line of text: CR/LF would end the header and start another.
Result<void> check_header_text(std::string_view text) {
  for (const char c : text) {
    if (c == '\r' || c == '\n') return Error{"", std::string(line_break_message)};
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t') || byte == 0x7f) {
      return Error{"", "contains a control character"};
    }
  }
  if (!is_valid_utf8(text)) return Error{"", "is not valid UTF-8"};
  return {};
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_valid_domain(std::string_view domain) {
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t label_length = 0;
  for (std::size_t i = 0; i < domain.size(); ++i) {
    const char c = domain[i];
    if (c == '.') {
      if (label_length == 0 || domain[i - 1] == '-') return false;
      label_length = 0;
      continue;
    }
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !(c == '-' && label_length > 0)) return false;
    if (++label_length > 63) return false;
  }
  return label_length > 0 && domain.back() != '-';
}

Result<void> check_addr_spec(std::string_view address) {
  if (address.empty()) return Error{"", "has no address"};
  if (!is_printable_ascii(address)) {
    return Error{"", "address \"" + std::string(address) +
                         "\" is not ASCII (internationalised addresses are not supported)"};
  }
  if (address.size() > address_bytes_max) {
    return Error{"", "address is longer than 254 characters"};
  }
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) {
    return Error{"", "\"" + std::string(address) + "\" is not an address of the form local@domain"};
  }
  const std::string_view local = address.substr(0, at);
  const std::string_view domain = address.substr(at + 1);
  if (local.size() > local_part_bytes_max) {
    return Error{"", "the part before @ is longer than 64 characters"};
  }
  // Dot-atom only (RFC 5322 3.4.1): no quoted local parts, no empty atoms.
  bool previous_dot = true;
  for (const char c : local) {
    if (c == '.') {
      if (previous_dot) return Error{"", "\"" + std::string(address) + "\" has a misplaced dot"};
      previous_dot = true;
    } else if (is_atext(c)) {
      previous_dot = false;
    } else {
      return Error{"", "\"" + std::string(address) + "\" is not one address (unexpected '" +
                           std::string(1, c) + "')"};
    }
  }
  if (previous_dot) return Error{"", "\"" + std::string(address) + "\" has a misplaced dot"};
  if (!is_valid_domain(domain)) {
    return Error{"", "\"" + std::string(domain) + "\" is not a valid domain name"};
  }
  return {};
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(written));
  return out;
}

// RFC 2047 "B" encoded-words of at most encoded_word_bytes_max bytes each, never splitting a
// UTF-8 sequence (a decoder may decode words one at a time).
std::vector<std::string> encoded_words(std::string_view utf8) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (start < utf8.size()) {
    std::size_t end = start;
    while (end < utf8.size()) {
      const std::size_t length = std::max<std::size_t>(1, utf8_sequence_length(utf8, end));
      if (end + length - start > encoded_word_bytes_max) break;
      end += length;
    }
    words.push_back("=?UTF-8?B?" + base64(utf8.substr(start, end - start)) + "?=");
    start = end;
  }
  return words;
}

// Writes a structured header, folding (CRLF + space) between tokens so lines stay within 78
// columns. A fold replaces the space between two tokens, so unfolding restores the value.
class HeaderFolder {
 public:
  explicit HeaderFolder(std::string_view name) : text_(std::string(name) + ":"), column_(0) {
    column_ = text_.size();
  }
  void add(std::string_view token) {
    if (column_ + 1 + token.size() > header_line_chars_max && !first_) {
      text_ += "\r\n ";
      column_ = 1;
    } else {
      text_ += ' ';
      ++column_;
    }
    text_ += token;
    column_ += token.size();
    first_ = false;
  }
  std::string finish() { return std::move(text_) + "\r\n"; }

 private:
  std::string text_;
  std::size_t column_;
  bool first_ = true;
};

// The display name as phrase tokens: atoms as they are, ASCII with specials as one quoted
// string, anything else as encoded-words.
std::vector<std::string> display_name_tokens(std::string_view name) {
  std::vector<std::string> tokens;
  if (name.empty()) return tokens;
  if (!is_printable_ascii(name)) return encoded_words(name);
  const bool atoms_only =
      std::all_of(name.begin(), name.end(), [](char c) { return c == ' ' || is_atext(c); }) &&
      name.find("=?") == std::string_view::npos;
  if (atoms_only) {
    std::size_t start = 0;
    while (start < name.size()) {
      std::size_t end = name.find(' ', start);
      if (end == std::string_view::npos) end = name.size();
      if (end > start) tokens.emplace_back(name.substr(start, end - start));
      start = end + 1;
    }
    return tokens;
  }
  std::string quoted = "\"";
  for (const char c : name) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  quoted += '"';
  tokens.push_back(std::move(quoted));
  return tokens;
}

std::string address_header(std::string_view name, const std::vector<Mailbox>& mailboxes) {
  HeaderFolder folder(name);
  for (std::size_t i = 0; i < mailboxes.size(); ++i) {
    const std::string separator = i + 1 < mailboxes.size() ? "," : "";
    const std::vector<std::string> phrase = display_name_tokens(mailboxes[i].display_name);
    for (const std::string& token : phrase) folder.add(token);
    if (phrase.empty()) {
      folder.add(mailboxes[i].address + separator);
    } else {
      folder.add("<" + mailboxes[i].address + ">" + separator);
    }
  }
  return folder.finish();
}

Result<std::vector<Mailbox>> parse_mailboxes(const std::vector<std::string>& texts,
                                             std::string_view field) {
  std::vector<Mailbox> mailboxes;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    Result<Mailbox> mailbox = parse_mailbox(texts[i]);
    if (!mailbox) {
      return mailbox.error().within(std::string(field) + "[" + std::to_string(i) + "]");
    }
    mailboxes.push_back(std::move(mailbox).value());
  }
  return mailboxes;
}

// Text bodies may hold line breaks and tabs, but no other control character: they would not
// survive transport and usually mean the template produced garbage.
Result<void> check_body_text(std::string_view text) {
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\t' && c != '\r' && c != '\n') || byte == 0x7f) {
      return Error{"", "contains a control character"};
    }
  }
  if (!is_valid_utf8(text)) return Error{"", "is not valid UTF-8"};
  return {};
}

}  // namespace

Result<void> check_options(const MimeOptions& options) {
  if (!is_valid_domain(options.message_id_domain)) {
    return Error{"message_id_domain", "\"" + options.message_id_domain +
                                          "\" is not a domain name (e.g. mail.example.fr)"};
  }
  return {};
}

Result<Mailbox> parse_mailbox(std::string_view text) {
  if (Result<void> checked = check_header_text(text); !checked) return checked.error();
  text = trim(text);
  if (text.empty()) return Error{"", "is empty"};
  Mailbox mailbox;
  const std::size_t open = text.find('<');
  if (open == std::string_view::npos) {
    mailbox.address = std::string(text);
  } else {
    const std::size_t close = text.find('>', open);
    if (close == std::string_view::npos || close + 1 != text.size() ||
        text.find('<', open + 1) != std::string_view::npos) {
      return Error{"", "\"" + std::string(text) + "\" is not of the form Name <local@domain>"};
    }
    mailbox.address = std::string(trim(text.substr(open + 1, close - open - 1)));
    std::string_view name = trim(text.substr(0, open));
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
      for (std::size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '\\' && i + 1 < name.size()) ++i;
        mailbox.display_name += name[i];
      }
    } else if (name.find('"') != std::string_view::npos) {
      return Error{"", "display name \"" + std::string(name) + "\" has an unbalanced quote"};
    } else {
      mailbox.display_name = std::string(name);
    }
    if (mailbox.display_name.size() > display_name_bytes_max) {
      return Error{"", "display name is longer than 256 bytes"};
    }
  }
  if (Result<void> checked = check_addr_spec(mailbox.address); !checked) return checked.error();
  return mailbox;
}

Result<Envelope> envelope_of(const EmailMessage& message) {
  Result<Mailbox> from = parse_mailbox(message.from);
  if (!from) return from.error().within("from");
  Envelope envelope;
  envelope.from = from->address;
  if (message.to.empty()) return Error{"to", "has no recipient"};
  Result<std::vector<Mailbox>> to = parse_mailboxes(message.to, "to");
  if (!to) return to.error();
  Result<std::vector<Mailbox>> cc = parse_mailboxes(message.cc, "cc");
  if (!cc) return cc.error();
  for (const std::vector<Mailbox>* list : {&to.value(), &cc.value()}) {
    for (const Mailbox& mailbox : *list) {
      if (std::find(envelope.recipients.begin(), envelope.recipients.end(), mailbox.address) ==
          envelope.recipients.end()) {
        envelope.recipients.push_back(mailbox.address);
      }
    }
  }
  return envelope;
}

std::string key_digest(std::string_view idempotency_key) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const int done = EVP_Digest(idempotency_key.data(), idempotency_key.size(), digest.data(),
                              &length, EVP_sha256(), nullptr);
  RELANCE_ASSERT(done == 1 && length == 32);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0x0f];
  }
  return out;
}

std::string message_id(std::string_view idempotency_key, std::string_view domain) {
  return "<" + key_digest(idempotency_key).substr(0, 32) + ".relance@" + std::string(domain) + ">";
}

std::string format_rfc5322_date(core::Timestamp instant) {
  using namespace std::chrono;
  const sys_seconds seconds = floor<std::chrono::seconds>(instant);
  const sys_days days = floor<std::chrono::days>(seconds);
  const year_month_day date(days);
  const hh_mm_ss<std::chrono::seconds> time(seconds - days);
  static constexpr std::array<const char*, 7> weekdays = {"Sun", "Mon", "Tue", "Wed",
                                                          "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%s, %02u %s %04d %02d:%02d:%02d +0000",
                weekdays[weekday(days).c_encoding()], static_cast<unsigned>(date.day()),
                months[static_cast<unsigned>(date.month()) - 1], static_cast<int>(date.year()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return buffer;
}

std::string encode_quoted_printable(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  std::size_t column = 0;
  const auto put = [&](std::string_view piece) {
    // Keep room for the soft-break "=" so no encoded line exceeds 76 characters.
    if (column + piece.size() > qp_line_chars_max - 1) {
      out += "=\r\n";
      column = 0;
    }
    // A "." alone at the start of a line ends an SMTP DATA in naive relays: encode it.
    if (piece == "." && column == 0) piece = "=2E";
    out += piece;
    column += piece.size();
  };
  const auto put_encoded = [&](unsigned char byte) {
    const char triplet[3] = {'=', hex[byte >> 4], hex[byte & 0x0f]};
    put(std::string_view(triplet, 3));
  };
  std::size_t i = 0;
  while (i <= text.size()) {
    std::size_t end = text.find_first_of("\r\n", i);
    if (end == std::string_view::npos) end = text.size();
    for (std::size_t k = i; k < end; ++k) {
      const char c = text[k];
      const auto byte = static_cast<unsigned char>(c);
      const bool last_on_line = k + 1 == end;
      if ((c == ' ' || c == '\t') && !last_on_line) {
        put(std::string_view(&text[k], 1));
      } else if (byte >= 33 && byte <= 126 && c != '=') {
        put(std::string_view(&text[k], 1));
      } else {
        put_encoded(byte);
      }
    }
    if (end == text.size()) break;
    out += "\r\n";
    column = 0;
    i = end + ((text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ? 2 : 1);
  }
  return out;
}

std::string encode_unstructured_header(std::string_view utf8, std::size_t name_length) {
  const bool plain = is_printable_ascii(utf8) && utf8.find("=?") == std::string_view::npos;
  if (plain && name_length + utf8.size() <= header_line_chars_max) return std::string(utf8);
  if (plain) {
    // Fold long ASCII text before a space (unfolding removes only the CRLF, so the value is
    // unchanged); fall back to encoded-words when a run without space is too long.
    std::string out;
    std::size_t column = name_length;
    std::size_t start = 0;
    bool folded_ok = true;
    while (column + (utf8.size() - start) > header_line_chars_max) {
      const std::size_t room = header_line_chars_max - column;
      std::size_t split = std::string_view::npos;
      for (std::size_t k = std::min(start + room, utf8.size() - 1); k > start; --k) {
        if (utf8[k] == ' ' && utf8[k - 1] != ' ' && k + 1 < utf8.size() && utf8[k + 1] != ' ') {
          split = k;
          break;
        }
      }
      if (split == std::string_view::npos) {
        folded_ok = false;
        break;
      }
      out += utf8.substr(start, split - start);
      out += "\r\n";
      start = split;
      column = 0;
    }
    if (folded_ok) return out + std::string(utf8.substr(start));
  }
  std::string out;
  for (const std::string& word : encoded_words(utf8)) {
    if (!out.empty()) out += "\r\n ";
    out += word;
  }
  return out;
}

Result<std::string> build_message(const EmailMessage& message, std::string_view idempotency_key,
                                  const MimeOptions& options) {
  if (idempotency_key.empty()) return Error{"idempotency_key", "is empty"};
  if (Result<void> checked = check_options(options); !checked) return checked.error();
  Result<Mailbox> from = parse_mailbox(message.from);
  if (!from) return from.error().within("from");
  std::optional<Mailbox> reply_to;
  if (!message.reply_to.empty()) {
    Result<Mailbox> parsed = parse_mailbox(message.reply_to);
    if (!parsed) return parsed.error().within("reply_to");
    reply_to = std::move(parsed).value();
  }
  if (message.to.empty()) return Error{"to", "has no recipient"};
  Result<std::vector<Mailbox>> to = parse_mailboxes(message.to, "to");
  if (!to) return to.error();
  Result<std::vector<Mailbox>> cc = parse_mailboxes(message.cc, "cc");
  if (!cc) return cc.error();
  if (Result<void> checked = check_header_text(message.subject); !checked) {
    return checked.error().within("subject");
  }
  if (trim(message.subject).empty()) return Error{"subject", "is empty"};
  if (message.subject.size() > subject_bytes_max) {
    return Error{"subject", "is longer than 2000 bytes"};
  }
  if (message.text.empty()) return Error{"text", "is empty: every message needs a text part"};
  if (Result<void> checked = check_body_text(message.text); !checked) {
    return checked.error().within("text");
  }
  if (Result<void> checked = check_body_text(message.html); !checked) {
    return checked.error().within("html");
  }
  if (message.date == core::Timestamp{}) return Error{"date", "is not set"};

  const std::string digest = key_digest(idempotency_key);
  std::string out;
  out += "Date: " + format_rfc5322_date(message.date) + "\r\n";
  out += address_header("From", {from.value()});
  if (reply_to) out += address_header("Reply-To", {*reply_to});
  out += address_header("To", to.value());
  if (!cc->empty()) out += address_header("Cc", cc.value());
  // A msg-id cannot be folded inside; with a long domain it goes on its own continuation line.
  const std::string id = message_id(idempotency_key, options.message_id_domain);
  out +=
      (12 + id.size() <= header_line_chars_max ? "Message-ID: " : "Message-ID:\r\n ") + id + "\r\n";
  out += "Subject: " + encode_unstructured_header(message.subject, 9) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  // RFC 3834: a machine wrote this; auto-responders must not answer it.
  out += "Auto-Submitted: auto-generated\r\n";
  const std::string text_headers =
      "Content-Type: text/plain; charset=UTF-8\r\n"
      "Content-Transfer-Encoding: quoted-printable\r\n";
  if (message.html.empty()) {
    out += text_headers + "\r\n";
    out += encode_quoted_printable(message.text) + "\r\n";
    return out;
  }
  // "=_" never occurs in quoted-printable output, so the boundary cannot collide with a body.
  const std::string boundary = "=_relance_" + digest.substr(0, 32);
  out += "Content-Type: multipart/alternative;\r\n boundary=\"" + boundary + "\"\r\n\r\n";
  out += "This is a multi-part message in MIME format.\r\n";
  out += "--" + boundary + "\r\n" + text_headers + "\r\n";
  out += encode_quoted_printable(message.text) + "\r\n";
  out += "--" + boundary +
         "\r\n"
         "Content-Type: text/html; charset=UTF-8\r\n"
         "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += encode_quoted_printable(message.html) + "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

}  // namespace relance::connectors::mime
