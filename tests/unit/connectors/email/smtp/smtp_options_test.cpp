// email.smtp configuration checks: what make_smtp_sink refuses before any connection.
// Delivery itself is tested against a real server in tests/integration/smtp.

#include <gtest/gtest.h>

#include "connectors/email/smtp/smtp_sink.hpp"

namespace relance::connectors {
namespace {

SmtpSinkOptions valid() {
  SmtpSinkOptions options;
  options.host = "smtp.exemple.fr";
  options.port = 587;
  options.tls = SmtpTls::starttls_required;
  options.username = "relance";
  options.password = "s3cret";
  options.message_id_domain = "relance.exemple.fr";
  return options;
}

std::string refusal(const SmtpSinkOptions& options) {
  auto sink = make_smtp_sink(options);
  return sink.ok() ? std::string() : sink.error().to_string();
}

TEST(SmtpOptions, a_complete_configuration_makes_a_sink) {
  auto sink = make_smtp_sink(valid());
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  EXPECT_EQ((*sink)->name(), "email.smtp");
}

TEST(SmtpOptions, a_password_over_a_connection_that_may_be_clear_is_refused_unless_allowed) {
  for (SmtpTls tls : {SmtpTls::none, SmtpTls::starttls_opportunistic}) {
    SmtpSinkOptions options = valid();
    options.tls = tls;
    EXPECT_NE(refusal(options).find("tls: a password would be sent"), std::string::npos);
    options.plaintext_auth = PlaintextAuth::allowed;
    EXPECT_EQ(refusal(options), "");
  }
  SmtpSinkOptions implicit = valid();
  implicit.tls = SmtpTls::implicit;
  EXPECT_EQ(refusal(implicit), "");
  SmtpSinkOptions no_auth = valid();
  no_auth.tls = SmtpTls::none;
  no_auth.username.clear();
  no_auth.password.clear();
  EXPECT_EQ(refusal(no_auth), "");  // a relay on localhost without AUTH
}

TEST(SmtpOptions, each_bad_field_is_named) {
  SmtpSinkOptions options = valid();
  options.host = "smtp exemple.fr";
  EXPECT_TRUE(refusal(options).starts_with("host:")) << refusal(options);
  options = valid();
  options.host = "";
  EXPECT_TRUE(refusal(options).starts_with("host:"));
  options = valid();
  options.port = 0;
  EXPECT_TRUE(refusal(options).starts_with("port:"));
  options = valid();
  options.helo_domain = "bad_name!";
  EXPECT_TRUE(refusal(options).starts_with("helo_domain:"));
  options = valid();
  options.password.clear();
  EXPECT_TRUE(refusal(options).starts_with("password:"));
  options = valid();
  options.envelope_from = "Bounces <bounces@exemple.fr>";
  EXPECT_TRUE(refusal(options).starts_with("envelope_from:")) << refusal(options);
  options = valid();
  options.envelope_from = "bounces@exemple.fr";
  EXPECT_EQ(refusal(options), "");
  options = valid();
  options.connect_timeout = std::chrono::milliseconds(0);
  EXPECT_TRUE(refusal(options).starts_with("connect_timeout:"));
  options = valid();
  options.total_timeout = std::chrono::milliseconds(5);
  EXPECT_TRUE(refusal(options).starts_with("total_timeout:"));
  options = valid();
  options.message_bytes_max = 0;
  EXPECT_TRUE(refusal(options).starts_with("message_bytes_max:"));
}

}  // namespace
}  // namespace relance::connectors
