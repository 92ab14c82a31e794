#pragma once
// email.smtp: delivers each message to an SMTP relay (the company's mail server, a transactional
// provider) through libcurl. Answers: 250 delivered; 4xx and transport errors retry; 5xx
// rejected, with the server's reply kept for the operator.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/sink.hpp"
#include "core/result.hpp"

namespace relance::connectors {

enum class SmtpTls {
  none,                    // plain SMTP (a relay on localhost)
  starttls_opportunistic,  // STARTTLS when the server offers it
  starttls_required,       // STARTTLS or fail (submission port 587)
  implicit,                // TLS from the first byte (port 465, "smtps")
};

// Sending a password over a connection that may not be encrypted (tls none or opportunistic,
// where an attacker can strip STARTTLS) is refused unless explicitly allowed.
enum class PlaintextAuth { refused, allowed };

struct SmtpSinkOptions {
  std::string host;
  std::uint16_t port = 587;
  SmtpTls tls = SmtpTls::starttls_required;
  std::string username;  // empty: no AUTH
  std::string password;
  PlaintextAuth plaintext_auth = PlaintextAuth::refused;
  std::string ca_file;            // PEM bundle to verify the server with; empty: system store
  std::string helo_domain;        // EHLO argument; empty: this host's name
  std::string envelope_from;      // MAIL FROM; empty: the From address of each message
  std::string message_id_domain;  // see mime::MimeOptions
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};
  std::size_t message_bytes_max = 10 * 1024 * 1024;
};

Result<std::unique_ptr<Sink>> make_smtp_sink(const SmtpSinkOptions& options);

}  // namespace relance::connectors
