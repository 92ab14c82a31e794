#pragma once
// A strict reader of the messages the MIME builder writes, used to check them independently of
// the builder: CRLF only, 7-bit, line lengths, unfolding, RFC 2047 words, multipart boundaries
// and quoted-printable decoding. It fails the test on anything it does not expect.

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

namespace relance::connectors::mime::testing {

struct ParsedPart {
  std::map<std::string, std::string> headers;  // lowercase name -> unfolded value
  std::string content;                         // decoded, line ends as "\n"
};

struct ParsedMessage {
  std::map<std::string, std::string> headers;  // lowercase name -> unfolded raw value
  std::vector<ParsedPart> parts;               // one for a single-part message
};

inline std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

inline std::string base64_decode(const std::string& text) {
  std::string out(text.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  EXPECT_GE(n, 0) << "bad base64: " << text;
  std::size_t length = static_cast<std::size_t>(std::max(n, 0));
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --length;
  out.resize(length);
  return out;
}

// Decodes RFC 2047 "=?UTF-8?B?...?=" words (whitespace between adjacent words is dropped).
inline std::string decode_words(const std::string& value) {
  std::string out;
  std::size_t i = 0;
  bool previous_word = false;
  while (i < value.size()) {
    if (value.compare(i, 10, "=?UTF-8?B?") == 0) {
      const std::size_t end = value.find("?=", i + 10);
      EXPECT_NE(end, std::string::npos) << value;
      if (end == std::string::npos) return out;
      EXPECT_LE(end + 2 - i, 75u) << "encoded-word longer than 75 characters";
      out += base64_decode(value.substr(i + 10, end - i - 10));
      i = end + 2;
      previous_word = true;
      continue;
    }
    if (previous_word && value[i] == ' ') {
      std::size_t next = value.find_first_not_of(' ', i);
      if (next != std::string::npos && value.compare(next, 10, "=?UTF-8?B?") == 0) {
        i = next;
        continue;
      }
    }
    previous_word = false;
    out += value[i++];
  }
  return out;
}

inline std::string decode_quoted_printable(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '=') {
      if (text.compare(i + 1, 2, "\r\n") == 0) {
        i += 2;
        continue;
      }
      EXPECT_LE(i + 2, text.size() - 1) << "truncated =XX";
      const std::string hex = text.substr(i + 1, 2);
      // RFC 2045 6.7: uppercase hexadecimal digits.
      EXPECT_EQ(hex.find_first_not_of("0123456789ABCDEF"), std::string::npos)
          << "bad escape =" << hex;
      out += static_cast<char>(std::stoi(hex, nullptr, 16));
      i += 2;
    } else if (text.compare(i, 2, "\r\n") == 0) {
      out += '\n';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Splits "headers CRLF CRLF body"; checks lines and unfolds headers.
inline std::map<std::string, std::string> parse_headers(const std::string& block) {
  std::map<std::string, std::string> headers;
  std::string current_name;
  std::size_t start = 0;
  while (start < block.size()) {
    std::size_t end = block.find("\r\n", start);
    if (end == std::string::npos) end = block.size();
    const std::string line = block.substr(start, end - start);
    start = end + 2;
    EXPECT_LE(line.size(), 78u) << "header line too long: " << line;
    if (line.empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {
      EXPECT_FALSE(current_name.empty()) << "continuation without header";
      EXPECT_NE(line.find_first_not_of(" \t"), std::string::npos) << "whitespace-only line";
      headers[current_name] += line;
      continue;
    }
    const std::size_t colon = line.find(':');
    EXPECT_NE(colon, std::string::npos) << "not a header: " << line;
    if (colon == std::string::npos) continue;
    current_name = lowercase(line.substr(0, colon));
    EXPECT_EQ(headers.count(current_name), 0u) << "duplicate header " << current_name;
    std::string value = line.substr(colon + 1);
    EXPECT_TRUE(value.empty() || value[0] == ' ');
    headers[current_name] = value.empty() ? value : value.substr(1);
  }
  return headers;
}

inline ParsedPart parse_part(const std::string& raw) {
  ParsedPart part;
  const std::size_t split = raw.find("\r\n\r\n");
  EXPECT_NE(split, std::string::npos) << "part without blank line";
  part.headers = parse_headers(raw.substr(0, split));
  const std::string body = raw.substr(split + 4);
  EXPECT_EQ(part.headers["content-transfer-encoding"], "quoted-printable");
  for (std::size_t start = 0; start <= body.size();) {
    std::size_t end = body.find("\r\n", start);
    if (end == std::string::npos) end = body.size();
    EXPECT_LE(end - start, 76u) << "quoted-printable line too long";
    const std::string line = body.substr(start, end - start);
    EXPECT_TRUE(line.empty() || (line.back() != ' ' && line.back() != '\t'))
        << "trailing whitespace in: " << line;
    EXPECT_FALSE(!line.empty() && line[0] == '.') << "line starts with a dot: " << line;
    start = end + 2;
  }
  part.content = decode_quoted_printable(body);
  return part;
}

inline ParsedMessage parse_message(const std::string& raw) {
  ParsedMessage message;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto byte = static_cast<unsigned char>(raw[i]);
    EXPECT_LT(byte, 0x80u) << "non-ASCII byte at " << i;
    if (raw[i] == '\n') {
      EXPECT_TRUE(i > 0 && raw[i - 1] == '\r') << "bare LF at " << i;
    }
    if (raw[i] == '\r') {
      EXPECT_TRUE(i + 1 < raw.size() && raw[i + 1] == '\n') << "bare CR at " << i;
    }
    if (byte >= 0x80) return message;
  }
  const std::size_t split = raw.find("\r\n\r\n");
  EXPECT_NE(split, std::string::npos);
  if (split == std::string::npos) return message;
  message.headers = parse_headers(raw.substr(0, split + 2));
  const std::string body = raw.substr(split + 4);
  const std::string content_type = message.headers["content-type"];
  if (content_type.rfind("multipart/alternative;", 0) != 0) {
    const std::string part_headers =
        "Content-Type: " + content_type +
        "\r\nContent-Transfer-Encoding: " + message.headers["content-transfer-encoding"];
    EXPECT_TRUE(body.size() >= 2 && body.substr(body.size() - 2) == "\r\n");
    message.parts.push_back(
        parse_part(part_headers + "\r\n\r\n" + body.substr(0, body.size() - 2)));
    return message;
  }
  const std::size_t b = content_type.find("boundary=\"");
  EXPECT_NE(b, std::string::npos);
  const std::size_t b_end = content_type.find('"', b + 10);
  const std::string boundary = content_type.substr(b + 10, b_end - b - 10);
  EXPECT_FALSE(boundary.empty());
  EXPECT_LE(boundary.size(), 70u);
  const std::string delimiter = "\r\n--" + boundary;
  // The preamble ends at the first delimiter; the first one may start the body directly.
  std::size_t position = ("\r\n" + body).find(delimiter);
  EXPECT_NE(position, std::string::npos);
  std::string rest = ("\r\n" + body).substr(position + delimiter.size());
  while (true) {
    if (rest.rfind("--\r\n", 0) == 0) {
      EXPECT_EQ(rest, "--\r\n") << "bytes after the close delimiter";
      break;
    }
    EXPECT_EQ(rest.substr(0, 2), "\r\n");
    rest = rest.substr(2);
    const std::size_t next = rest.find(delimiter);
    EXPECT_NE(next, std::string::npos) << "unterminated part";
    if (next == std::string::npos) break;
    message.parts.push_back(parse_part(rest.substr(0, next)));
    rest = rest.substr(next + delimiter.size());
  }
  return message;
}

}  // namespace relance::connectors::mime::testing
