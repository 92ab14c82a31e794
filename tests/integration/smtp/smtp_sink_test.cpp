// email.smtp against a real SMTP server (aiosmtpd) started by the test on a free loopback port.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "connectors/email/smtp/smtp_sink.hpp"
#include "tests/integration/servers/server_process.hpp"
#include "tests/unit/connectors/email/mime/mime_parse.hpp"

namespace relance::connectors {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::ServerProcess;

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string lf_line_ends(std::string text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

Delivery french_reminder(const std::string& key) {
  EmailMessage message;
  message.from = "Service Comptabilité <compta@exemple.fr>";
  message.reply_to = "recouvrement@exemple.fr";
  message.to = {"Léa Dupré <lea.dupre@client.fr>"};
  message.cc = {"direction@client.fr"};
  message.subject = "Relance : factures échues — 2 469,12 € à régler";
  message.text =
      "Bonjour Madame Dupré,\n\nSauf erreur de notre part, les factures suivantes restent "
      "impayées :\n  FA-2026-0042  échue le 03/03/2026  1 234,56 €\n"
      "  FA-2026-0051  échue le 10/03/2026  1 234,56 €\nTotal dû : 2 469,12 €\n\n"
      "Cordialement,\nLe service comptabilité\n";
  message.html =
      "<p>Bonjour Madame Dupré,</p><table><tr><td>FA-2026-0042</td><td>1&nbsp;234,56&nbsp;€"
      "</td></tr></table><p>Total dû : <b>2 469,12 €</b></p>";
  message.date = core::Timestamp(std::chrono::sys_days(std::chrono::year(2026) / 3 / 12) +
                                 std::chrono::hours(8));
  return Delivery{key, message};
}

class SmtpSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { folder_ = testing::make_temp_dir("relance-smtp"); }
  void TearDown() override {
    if (server_) server_->stop();
    fs::remove_all(folder_);
  }

  void start_server(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {
        testing::python3_path(), testing::servers_dir() + "/smtp_server.py", "--folder", folder_};
    argv.insert(argv.end(), extra.begin(), extra.end());
    Result<std::unique_ptr<ServerProcess>> server =
        ServerProcess::start(argv, std::chrono::seconds(10));
    ASSERT_TRUE(server.ok()) << "SMTP test server did not start: " << server.error().to_string();
    server_ = std::move(server).value();
  }

  std::unique_ptr<Sink> sink(SmtpTls tls = SmtpTls::none, std::string user = "",
                             std::string password = "") {
    SmtpSinkOptions options;
    options.host = "127.0.0.1";
    options.port = server_->port();
    options.tls = tls;
    options.username = std::move(user);
    options.password = std::move(password);
    options.plaintext_auth = PlaintextAuth::allowed;  // loopback test server, no certificate
    options.message_id_domain = "relance.exemple.fr";
    options.helo_domain = "relance.test";
    options.connect_timeout = std::chrono::seconds(5);
    options.total_timeout = std::chrono::seconds(20);
    Result<std::unique_ptr<Sink>> made = make_smtp_sink(options);
    EXPECT_TRUE(made.ok()) << made.error().to_string();
    return std::move(made).value();
  }

  void script(const std::string& stage, const std::string& reply) {
    std::ofstream(fs::path(folder_) / ("answer-" + stage)) << reply << "\n";
  }

  std::string folder_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SmtpSinkTest, delivered_message_has_the_headers_both_parts_and_the_french_text) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  const Delivery delivery = french_reminder("cust-42/level-1/2026-03-12");
  const SinkAnswer answer = sink()->deliver(delivery);
  ASSERT_EQ(answer.outcome, SinkAnswer::Outcome::delivered) << answer.detail;
  EXPECT_NE(answer.detail.find("250"), std::string::npos) << answer.detail;

  // What Python's email package (an independent MIME parser) read from the received bytes.
  const json::value received = json::parse(read(fs::path(folder_) / "msg-1.json"));
  EXPECT_EQ(received.at("mail_from").as_string(), "compta@exemple.fr");
  EXPECT_EQ(received.at("rcpt_tos"), (json::array{"lea.dupre@client.fr", "direction@client.fr"}));
  EXPECT_TRUE(received.at("defects").as_array().empty()) << received.at("defects");
  const json::object& headers = received.at("headers").as_object();
  const EmailMessage& sent = std::get<EmailMessage>(delivery.content);
  EXPECT_EQ(headers.at("subject").as_string(), sent.subject);
  EXPECT_EQ(headers.at("from").as_string(), "Service Comptabilité <compta@exemple.fr>");
  EXPECT_EQ(headers.at("to").as_string(), "Léa Dupré <lea.dupre@client.fr>");
  EXPECT_EQ(headers.at("cc").as_string(), "direction@client.fr");
  EXPECT_EQ(headers.at("reply-to").as_string(), "recouvrement@exemple.fr");
  EXPECT_EQ(headers.at("date").as_string(), "Thu, 12 Mar 2026 08:00:00 +0000");
  EXPECT_EQ(headers.at("mime-version").as_string(), "1.0");
  EXPECT_TRUE(headers.at("message-id").as_string().ends_with(".relance@relance.exemple.fr>"));
  const json::array& parts = received.at("parts").as_array();
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].at("content_type").as_string(), "text/plain");
  EXPECT_EQ(parts[0].at("charset").as_string(), "utf-8");
  // On the wire text is in canonical form (RFC 2046 4.1.1: CRLF line breaks), and Python
  // decodes the quoted-printable body as it is; a mail client shows it with local line ends.
  const std::string text_received(parts[0].at("content").as_string());
  EXPECT_EQ(text_received.find('\n'), text_received.find("\r\n") + 1) << "not CRLF";
  EXPECT_EQ(lf_line_ends(text_received), sent.text);
  EXPECT_NE(text_received.find("Total dû : 2 469,12 €"), std::string::npos);
  EXPECT_EQ(parts[1].at("content_type").as_string(), "text/html");
  // The CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1): the HTML comes back
  // exactly as sent, without an added line end.
  EXPECT_EQ(parts[1].at("content").as_string(), sent.html);

  // And the raw bytes pass the strict reader of the unit tests too.
  const auto parsed = mime::testing::parse_message(read(fs::path(folder_) / "msg-1.eml"));
  ASSERT_EQ(parsed.parts.size(), 2u);
  EXPECT_EQ(parsed.parts[0].content, sent.text);
  EXPECT_EQ(parsed.parts[1].content, sent.html);
}

TEST_F(SmtpSinkTest, temporary_failure_4xx_is_retried_with_the_reply) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  script("data", "451 4.7.1 Greylisted, please try again later");
  const SinkAnswer answer = sink()->deliver(french_reminder("k"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::retry);
  EXPECT_NE(answer.detail.find("451 4.7.1 Greylisted"), std::string::npos) << answer.detail;
  EXPECT_FALSE(fs::exists(fs::path(folder_) / "msg-1.eml"));
}

TEST_F(SmtpSinkTest, permanent_failure_5xx_is_rejected_with_the_reply) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  script("data", "550 5.7.1 Message refused by policy");
  const SinkAnswer answer = sink()->deliver(french_reminder("k"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(answer.detail.find("550 5.7.1 Message refused by policy"), std::string::npos)
      << answer.detail;
}

TEST_F(SmtpSinkTest, unknown_recipient_is_rejected) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  script("rcpt", "550 5.1.1 No such user here");
  const SinkAnswer answer = sink()->deliver(french_reminder("k"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(answer.detail.find("550 5.1.1 No such user here"), std::string::npos) << answer.detail;
}

TEST_F(SmtpSinkTest, auth_with_the_right_password_delivers_and_a_wrong_one_is_rejected) {
  ASSERT_NO_FATAL_FAILURE(start_server({"--user", "relance", "--password", "s3cret"}));
  EXPECT_EQ(sink(SmtpTls::none, "relance", "s3cret")->deliver(french_reminder("a")).outcome,
            SinkAnswer::Outcome::delivered);
  EXPECT_TRUE(fs::exists(fs::path(folder_) / "msg-1.eml"));
  const SinkAnswer wrong = sink(SmtpTls::none, "relance", "wrong")->deliver(french_reminder("b"));
  EXPECT_EQ(wrong.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(wrong.detail.find("535"), std::string::npos) << wrong.detail;
}

TEST_F(SmtpSinkTest, required_starttls_on_a_server_without_it_is_retried_not_sent_in_clear) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  const SinkAnswer answer = sink(SmtpTls::starttls_required)->deliver(french_reminder("k"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::retry);
  EXPECT_NE(answer.detail.find("transport"), std::string::npos) << answer.detail;
  EXPECT_FALSE(fs::exists(fs::path(folder_) / "msg-1.eml"));
  // Opportunistic falls back to plain SMTP on the same server.
  EXPECT_EQ(sink(SmtpTls::starttls_opportunistic)->deliver(french_reminder("k")).outcome,
            SinkAnswer::Outcome::delivered);
}

TEST_F(SmtpSinkTest, server_that_is_gone_is_a_transport_error_to_retry) {
  ASSERT_NO_FATAL_FAILURE(start_server());
  auto gone = sink();
  server_->stop();
  const SinkAnswer answer = gone->deliver(french_reminder("k"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::retry);
  EXPECT_NE(answer.detail.find("transport error"), std::string::npos) << answer.detail;
}

}  // namespace
}  // namespace relance::connectors
