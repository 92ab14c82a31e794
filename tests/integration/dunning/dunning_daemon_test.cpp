// The real relanced, dunning enabled, email.sink file: a customer and two overdue invoices
// posted over HTTP become one French statement in the mail folder (through the outbox and the
// dispatcher), with the amounts and the Message-ID of its idempotency key; a restart sends
// nothing again.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "connectors/email/mime/mime.hpp"
#include "core/date.hpp"
#include "core/dunning/send_window.hpp"
#include "tests/integration/servers/relanced_process.hpp"
#include "tests/integration/servers/server_process.hpp"
#include "tests/unit/daemon/http/http_client.hpp"

namespace relance {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto mail_deadline = 30s;

// Quoted-printable (RFC 2045 6.7) back to bytes: soft breaks joined, =XX decoded; any other
// '=' (the RFC 2047 words of the headers) is kept as it is.
std::string decode_quoted_printable(const std::string& encoded) {
  const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '=' && encoded.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;
    } else if (encoded[i] == '=' && i + 2 < encoded.size() && hex(encoded[i + 1]) &&
               hex(encoded[i + 2])) {
      out += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += encoded[i];
    }
  }
  return out;
}

std::vector<fs::path> mails(const fs::path& folder) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(folder, ec)) {
    if (entry.path().extension() == ".eml") found.push_back(entry.path());
  }
  return found;
}

std::string event(const std::string& id, const char* type, const json::object& data) {
  return testing::cloud_event("erp/test", id, type, data);
}

// GET /v1/outbox: {"actions": [...], "next_after"?}.
json::array actions_of(const std::string& body) {
  json::error_code ec;
  const json::value value = json::parse(body, ec);
  if (ec || !value.is_object() || !value.as_object().contains("actions")) return {};
  return value.at("actions").as_array();
}

class DunningDaemon : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::make_temp_dir("relance-dunning-test");
    const std::string dunning = testing::write_dunning_setup(
        dir_, {"{name: first_reminder, at: due+3d, channel: email, template: reminder}",
               "{name: second_reminder, at: due+300d, channel: email, template: statement}"});
    config_ = dir_ / "relance.yaml";
    std::ofstream(config_) << "http:\n  listen_address: 127.0.0.1\n  port: 0\n"
                           << "store:\n  sqlite:\n    path: " << (dir_ / "relance.db").string()
                           << "\n"
                           << dunning << "email:\n  sink: file\n  file:\n    directory: "
                           << (dir_ / "mail").string() << "\n"
                           << "  from: \"Exemple SAS <relances@exemple.fr>\"\n"
                           << "dispatcher:\n  poll_interval: 200ms\n"
                           << "log:\n  level: info\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  fs::path dir_;
  fs::path config_;
};

// A date as a French letter writes it: 24/11/2026.
std::string french_date(core::Date date) {
  const std::string iso = core::format_date(date);
  return iso.substr(8, 2) + "/" + iso.substr(5, 2) + "/" + iso.substr(0, 4);
}

// Today where the customer is: the daemon's default time zone, which the customer keeps.
core::Date today_in_paris() {
  const auto paris = core::dunning::TimeZone::find("Europe/Paris");
  EXPECT_TRUE(paris) << paris.error().to_string();
  return paris->local_date(
      std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now()));
}

TEST_F(DunningDaemon, overdue_invoices_become_one_french_statement_sent_once_across_a_restart) {
  const core::Date today = today_in_paris();
  const auto day = [&](int offset) { return core::format_date(core::add_days(today, offset)); };
  json::array batch;
  batch.push_back(json::parse(event("cust-42", "customer.upserted",
                                    {{"customer_id", "CUST-42"},
                                     {"name", "Société Dupré"},
                                     {"emails", json::array{"compta@dupre.fr"}},
                                     {"language", "fr"}})));
  batch.push_back(json::parse(event("inv-1", "invoice.issued",
                                    {{"invoice_id", "INV-0001"},
                                     {"customer_id", "CUST-42"},
                                     {"number", "F-0001"},
                                     {"amount", {{"amount", "1234.56"}, {"currency", "EUR"}}},
                                     {"issue_date", day(-40)},
                                     {"due_date", day(-10)}})));
  batch.push_back(json::parse(event("inv-2", "invoice.issued",
                                    {{"invoice_id", "INV-0002"},
                                     {"customer_id", "CUST-42"},
                                     {"number", "F-0002"},
                                     {"amount", {{"amount", "500.00"}, {"currency", "EUR"}}},
                                     {"issue_date", day(-50)},
                                     {"due_date", day(-20)}})));

  std::string key;
  {
    auto started = testing::RelancedProcess::start(config_, dir_ / "relanced-1.log");
    ASSERT_TRUE(started) << started.error().to_string();
    testing::RelancedProcess& daemon = **started;
    testing::HttpClient http(daemon.port());
    const auto posted =
        http.post("/v1/events", "application/cloudevents-batch+json", json::serialize(batch));
    ASSERT_EQ(posted.status, 202u) << posted.body;

    const auto until = Clock::now() + mail_deadline;
    while (mails(dir_ / "mail").empty() && Clock::now() < until) std::this_thread::sleep_for(50ms);
    const auto written = mails(dir_ / "mail");
    ASSERT_EQ(written.size(), 1u) << testing::read_file(daemon.log());

    // The outbox row behind it: delivered once.
    testing::HttpReply outbox;
    for (auto wait = Clock::now() + mail_deadline; Clock::now() < wait;) {
      outbox = http.get("/v1/outbox");
      if (outbox.body.find("\"delivered\"") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(outbox.status, 200u) << outbox.body;
    const json::array items = actions_of(outbox.body);
    ASSERT_EQ(items.size(), 1u) << outbox.body;
    const json::object& row = items.at(0).as_object();
    EXPECT_EQ(row.at("status").as_string(), "delivered") << outbox.body;
    key = std::string(row.at("idempotency_key").as_string());
    EXPECT_TRUE(key.starts_with("dunning/CUST-42/first_reminder/")) << key;

    const std::string eml = testing::read_file(written[0]);
    EXPECT_NE(eml.find("Message-ID: " + connectors::mime::message_id(key, "relance.invalid")),
              std::string::npos)
        << eml;
    EXPECT_NE(eml.find("To: compta@dupre.fr"), std::string::npos) << eml;
    const std::string body = decode_quoted_printable(eml);
    // The statement is dated the day it was written in Paris (the next one if midnight passed
    // since the events were made); days late count from then.
    const int days_since =
        body.find("impayées au " + french_date(today)) != std::string::npos ? 0 : 1;
    EXPECT_NE(body.find("impayées au " + french_date(core::add_days(today, days_since))),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("Sauf erreur ou omission de notre part"), std::string::npos) << body;
    EXPECT_NE(body.find("Société Dupré"), std::string::npos) << body;
    EXPECT_NE(body.find("Facture F-0001"), std::string::npos) << body;
    EXPECT_NE(body.find("Facture F-0002"), std::string::npos) << body;
    EXPECT_NE(body.find("1\u202f234,56\u00a0EUR restant dû (" + std::to_string(10 + days_since) +
                        " jours de retard)"),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("500,00\u00a0EUR restant dû (" + std::to_string(20 + days_since) +
                        " jours de retard)"),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("Solde à régler (EUR) : 1\u202f734,56\u00a0EUR"), std::string::npos)
        << body;
    EXPECT_NE(body.find("IBAN FR76 3000 6000 0112 3456 7890 189"), std::string::npos) << body;

    // The receivable shows the step reached.
    const auto receivable = http.get("/v1/receivables/INV-0001");
    ASSERT_EQ(receivable.status, 200u);
    EXPECT_EQ(json::parse(receivable.body).at("dunning_level").as_int64(), 1) << receivable.body;
    EXPECT_TRUE(daemon.terminate()) << testing::read_file(daemon.log());
  }

  // Restarted: the schedule continues from the stored progress; nothing is queued again.
  auto started = testing::RelancedProcess::start(config_, dir_ / "relanced-2.log");
  ASSERT_TRUE(started) << started.error().to_string();
  testing::RelancedProcess& daemon = **started;
  std::this_thread::sleep_for(2s);  // ten ticks
  EXPECT_EQ(mails(dir_ / "mail").size(), 1u);
  testing::HttpClient http(daemon.port());
  const auto outbox = http.get("/v1/outbox");
  ASSERT_EQ(outbox.status, 200u);
  const json::array items = actions_of(outbox.body);
  ASSERT_EQ(items.size(), 1u) << outbox.body;
  EXPECT_EQ(items.at(0).at("idempotency_key").as_string(), key);
  EXPECT_EQ(items.at(0).at("attempts").as_int64(), 1) << outbox.body;
}

}  // namespace
}  // namespace relance
