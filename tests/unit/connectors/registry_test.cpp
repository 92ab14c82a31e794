#include "connectors/registry.hpp"

#include <gtest/gtest.h>

namespace relance::connectors {
namespace {

TEST(Registry, lists_each_sink_once_by_name) {
  std::vector<std::string> names;
  for (const SinkRegistration& registration : sink_registrations()) {
    names.emplace_back(registration.name);
    EXPECT_FALSE(registration.description.empty());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"email.file", "email.smtp", "crm.rest", "kafka"}));
}

TEST(Registry, builds_a_sink_from_its_options) {
  Result<std::unique_ptr<Sink>> sink =
      make_sink("email.file", FileSinkOptions{"var/mail", "relance.exemple.fr"});
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  EXPECT_EQ((*sink)->name(), "email.file");

  SmtpSinkOptions smtp;
  smtp.host = "127.0.0.1";
  smtp.message_id_domain = "relance.exemple.fr";
  sink = make_sink("email.smtp", smtp);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  EXPECT_EQ((*sink)->name(), "email.smtp");

  RestSinkOptions rest;
  rest.preset = CrmPreset::hubspot;
  rest.token = "t";
  sink = make_sink("crm.rest", rest);
  ASSERT_TRUE(sink.ok()) << sink.error().to_string();
  EXPECT_EQ((*sink)->name(), "crm.rest");
}

TEST(Registry, unknown_name_says_which_sinks_exist) {
  Result<std::unique_ptr<Sink>> sink = make_sink("email.fax", FileSinkOptions{});
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.error().field, "sink");
  EXPECT_NE(sink.error().message.find("email.file, email.smtp, crm.rest, kafka"),
            std::string::npos);
}

TEST(Registry, smtp_password_over_an_unencrypted_connection_is_refused) {
  SmtpSinkOptions smtp;
  smtp.host = "mail.exemple.fr";
  smtp.message_id_domain = "relance.exemple.fr";
  smtp.tls = SmtpTls::starttls_opportunistic;
  smtp.username = "relance";
  smtp.password = "secret";
  EXPECT_EQ(make_sink("email.smtp", smtp).error().field, "tls");
  smtp.plaintext_auth = PlaintextAuth::allowed;
  EXPECT_TRUE(make_sink("email.smtp", smtp).ok());
  smtp.host = "mail exemple";
  EXPECT_EQ(make_sink("email.smtp", smtp).error().field, "host");
}

}  // namespace
}  // namespace relance::connectors
