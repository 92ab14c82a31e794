#include "connectors/email/smtp/smtp_sink.hpp"

#include <algorithm>
#include <variant>

#include "connectors/email/mime/mime.hpp"
#include "connectors/internal/curl.hpp"

namespace relance::connectors {
namespace {

// A reply longer than this is cut: it is kept for an operator, not parsed.
constexpr std::size_t reply_bytes_max = 2048;

struct Upload {
  std::string_view bytes;
  std::size_t offset = 0;
};

size_t read_upload(char* buffer, size_t size, size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, upload->bytes.size() - upload->offset);
  std::copy_n(upload->bytes.data() + upload->offset, n, buffer);
  upload->offset += n;
  return n;
}

// libcurl hands the server's replies to the debug callback as "header in" data; the last
// complete reply (all lines of a multi-line one) is what an operator needs to see.
// After a refusal libcurl still sends QUIT, so the last reply is then "221 Bye": the last
// 4xx/5xx reply is kept apart, as it says why the message was refused.
struct ReplyCapture {
  std::string current;
  std::string last;
  std::string last_failure;
};

int capture_reply(CURL*, curl_infotype type, char* data, size_t size, void* user) {
  if (type != CURLINFO_HEADER_IN) return 0;
  auto* capture = static_cast<ReplyCapture*>(user);
  std::string_view text(data, size);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (capture->current.size() < reply_bytes_max) {
    if (!capture->current.empty()) capture->current += " / ";
    capture->current += text.substr(0, reply_bytes_max - capture->current.size());
  }
  // "250-..." continues a reply, "250 ..." (or a bare code) ends it.
  const bool final_line = text.size() < 4 || text[3] != '-';
  if (final_line) {
    if (!capture->current.empty() && (capture->current[0] == '4' || capture->current[0] == '5')) {
      capture->last_failure = capture->current;
    }
    capture->last = std::move(capture->current);
    capture->current.clear();
  }
  return 0;
}

bool is_valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (host.front() == '[') return host.back() == ']';  // IPv6 literal
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-';
  });
}

class SmtpSink final : public Sink {
 public:
  explicit SmtpSink(SmtpSinkOptions options) : options_(std::move(options)) {
    const std::string scheme = options_.tls == SmtpTls::implicit ? "smtps://" : "smtp://";
    url_ =
        scheme + options_.host + ":" + std::to_string(options_.port) + "/" + options_.helo_domain;
  }

  std::string_view name() const override { return "email.smtp"; }
  // A receiving server accepts a second message with the same Message-ID: a send cut by a crash
  // must not be repeated without an operator.
  bool redelivery_safe() const override { return false; }

  SinkAnswer deliver(const Delivery& delivery) override {
    using Outcome = SinkAnswer::Outcome;
    const auto* message = std::get_if<EmailMessage>(&delivery.content);
    if (message == nullptr) {
      return {Outcome::rejected, std::nullopt,
              "email.smtp delivers emails only, not CRM activities or alerts"};
    }
    Result<std::string> bytes =
        mime::build_message(*message, delivery.idempotency_key, {options_.message_id_domain});
    if (!bytes) {
      return {Outcome::rejected, std::nullopt,
              "message cannot be built: " + bytes.error().to_string()};
    }
    if (bytes->size() > options_.message_bytes_max) {
      return {Outcome::rejected, std::nullopt,
              "message is " + std::to_string(bytes->size()) + " bytes, above message_bytes_max " +
                  std::to_string(options_.message_bytes_max)};
    }
    Result<mime::Envelope> envelope = mime::envelope_of(*message);
    if (!envelope) {
      return {Outcome::rejected, std::nullopt, "bad envelope: " + envelope.error().to_string()};
    }
    const std::string mail_from =
        options_.envelope_from.empty() ? envelope->from : options_.envelope_from;

    internal::CurlEasy curl = internal::make_curl_easy();
    internal::CurlList recipients;
    bool listed = curl != nullptr;
    for (const std::string& recipient : envelope->recipients) {
      listed = listed && recipients.append("<" + recipient + ">");
    }
    if (!listed) return {Outcome::retry, std::nullopt, "out of memory preparing the transfer"};

    Upload upload{*bytes};
    ReplyCapture capture;
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* handle = curl.get();
    curl_easy_setopt(handle, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
    switch (options_.tls) {
      case SmtpTls::none:
        curl_easy_setopt(handle, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
        break;
      case SmtpTls::starttls_opportunistic:
        curl_easy_setopt(handle, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
        break;
      case SmtpTls::starttls_required:
      case SmtpTls::implicit:
        curl_easy_setopt(handle, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
        break;
    }
    if (!options_.ca_file.empty())
      curl_easy_setopt(handle, CURLOPT_CAINFO, options_.ca_file.c_str());
    if (!options_.username.empty()) {
      curl_easy_setopt(handle, CURLOPT_USERNAME, options_.username.c_str());
      curl_easy_setopt(handle, CURLOPT_PASSWORD, options_.password.c_str());
    }
    curl_easy_setopt(handle, CURLOPT_MAIL_FROM, ("<" + mail_from + ">").c_str());
    curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get());
    curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(handle, CURLOPT_READFUNCTION, &read_upload);
    curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
    curl_easy_setopt(handle, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(bytes->size()));
    curl_easy_setopt(handle, CURLOPT_VERBOSE, 1L);  // feeds capture_reply, prints nothing
    curl_easy_setopt(handle, CURLOPT_DEBUGFUNCTION, &capture_reply);
    curl_easy_setopt(handle, CURLOPT_DEBUGDATA, &capture);

    const CURLcode code = curl_easy_perform(handle);
    long reply_code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &reply_code);
    if (code == CURLE_OK) {
      return {Outcome::delivered, std::nullopt, capture.last};
    }
    const std::string failure = internal::curl_error_text(code, error_buffer);
    const std::string& refusal = capture.last_failure.empty() ? capture.last : capture.last_failure;
    if (reply_code >= 500 && reply_code < 600) {
      return {Outcome::rejected, std::nullopt, "SMTP " + refusal + " (" + failure + ")"};
    }
    if (reply_code >= 400 && reply_code < 500) {
      return {Outcome::retry, std::nullopt, "SMTP " + refusal + " (" + failure + ")"};
    }
    // No failing reply: the connection, TLS or a deadline failed; the server may be back soon.
    std::string detail = "SMTP transport error: " + failure;
    if (!capture.last.empty()) detail += " (last reply: " + capture.last + ")";
    return {Outcome::retry, std::nullopt, std::move(detail)};
  }

 private:
  SmtpSinkOptions options_;
  std::string url_;
};

}  // namespace

Result<std::unique_ptr<Sink>> make_smtp_sink(const SmtpSinkOptions& options) {
  if (!is_valid_host(options.host)) {
    return Error{"host", "\"" + options.host + "\" is not a host name or IP address"};
  }
  if (options.port == 0) return Error{"port", "must be between 1 and 65535"};
  if (!options.helo_domain.empty() && !is_valid_host(options.helo_domain)) {
    return Error{"helo_domain", "\"" + options.helo_domain + "\" is not a host name"};
  }
  if (Result<void> checked = mime::check_options({options.message_id_domain}); !checked) {
    return checked.error();
  }
  if (!options.envelope_from.empty()) {
    Result<mime::Mailbox> mailbox = mime::parse_mailbox(options.envelope_from);
    if (!mailbox) return mailbox.error().within("envelope_from");
    if (!mailbox->display_name.empty()) {
      return Error{"envelope_from", "must be a bare address (local@domain)"};
    }
  }
  if (options.username.empty() != options.password.empty()) {
    return Error{"password", "username and password go together"};
  }
  if (!options.username.empty() &&
      (options.tls == SmtpTls::none || options.tls == SmtpTls::starttls_opportunistic) &&
      options.plaintext_auth == PlaintextAuth::refused) {
    return Error{"tls",
                 "a password would be sent over a connection that may not be encrypted; use "
                 "starttls_required or implicit (or allow plaintext_auth explicitly)"};
  }
  if (options.connect_timeout <= std::chrono::milliseconds::zero()) {
    return Error{"connect_timeout", "must be above 0"};
  }
  if (options.total_timeout < options.connect_timeout) {
    return Error{"total_timeout", "must be at least connect_timeout"};
  }
  if (options.message_bytes_max == 0) return Error{"message_bytes_max", "must be above 0"};
  return std::unique_ptr<Sink>(std::make_unique<SmtpSink>(options));
}

}  // namespace relance::connectors
