#include "connectors/email/file/file_sink.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "connectors/email/mime/mime.hpp"

namespace relance::connectors {
namespace {

namespace fs = std::filesystem;

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("relance-file-sink-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Sink> make(const fs::path& directory) {
    Result<std::unique_ptr<Sink>> sink =
        make_file_sink({directory.string(), "relance.exemple.fr", 1024 * 1024});
    EXPECT_TRUE(sink.ok()) << sink.error().to_string();
    return std::move(sink).value();
  }

  static Delivery reminder(const std::string& key, const std::string& text) {
    EmailMessage message;
    message.from = "Comptabilité <compta@exemple.fr>";
    message.to = {"client@client.fr"};
    message.subject = "Relance facture FA-0042";
    message.text = text;
    message.date = core::Timestamp(std::chrono::sys_days(std::chrono::year(2026) / 3 / 5));
    return Delivery{key, message};
  }

  static std::vector<fs::path> entries(const fs::path& directory) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(directory)) found.push_back(entry.path());
    return found;
  }

  static std::string read(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  fs::path root_;
};

TEST_F(FileSinkTest, writes_the_mime_bytes_to_a_file_named_from_the_key) {
  const fs::path folder = root_ / "mail" / "outbox";  // created on first delivery
  auto sink = make(folder);
  const Delivery delivery = reminder("cust-7/step-2", "Montant dû : 1 234,56 €");
  const SinkAnswer answer = sink->deliver(delivery);
  ASSERT_EQ(answer.outcome, SinkAnswer::Outcome::delivered) << answer.detail;
  const fs::path expected = folder / (mime::key_digest("cust-7/step-2") + ".eml");
  ASSERT_EQ(entries(folder), std::vector<fs::path>{expected});
  Result<std::string> bytes = mime::build_message(std::get<EmailMessage>(delivery.content),
                                                  delivery.idempotency_key, {"relance.exemple.fr"});
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(read(expected), *bytes);
}

TEST_F(FileSinkTest, second_delivery_of_the_same_key_keeps_the_first_message_only) {
  auto sink = make(root_);
  ASSERT_EQ(sink->deliver(reminder("same-key", "premier")).outcome, SinkAnswer::Outcome::delivered);
  const SinkAnswer again = sink->deliver(reminder("same-key", "second"));
  EXPECT_EQ(again.outcome, SinkAnswer::Outcome::delivered);
  EXPECT_NE(again.detail.find("already written"), std::string::npos);
  const std::vector<fs::path> files = entries(root_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(read(files[0]).find("premier"), std::string::npos);
  // A different key is a different action and a second file.
  ASSERT_EQ(sink->deliver(reminder("other-key", "autre")).outcome, SinkAnswer::Outcome::delivered);
  EXPECT_EQ(entries(root_).size(), 2u);
}

TEST_F(FileSinkTest, leftover_temp_file_from_a_crash_does_not_count_as_delivered) {
  auto sink = make(root_);
  const std::string digest = mime::key_digest("crashed");
  std::ofstream(root_ / ("." + digest + ".tmp.1.0")) << "partial mess";
  ASSERT_EQ(sink->deliver(reminder("crashed", "complet")).outcome, SinkAnswer::Outcome::delivered);
  const std::string written = read(root_ / (digest + ".eml"));
  EXPECT_NE(written.find("complet"), std::string::npos);
  EXPECT_EQ(written.find("partial"), std::string::npos);
}

TEST_F(FileSinkTest, unusable_folder_is_retried_with_the_reason) {
  std::ofstream(root_ / "a-file") << "not a folder";
  auto sink = make(root_ / "a-file" / "mail");
  const SinkAnswer answer = sink->deliver(reminder("key", "texte"));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::retry);
  EXPECT_NE(answer.detail.find("a-file"), std::string::npos) << answer.detail;
  EXPECT_NE(answer.detail.find("Not a directory"), std::string::npos) << answer.detail;
}

TEST_F(FileSinkTest, message_that_cannot_be_built_is_rejected_and_nothing_is_written) {
  auto sink = make(root_);
  Delivery delivery = reminder("key", "texte");
  std::get<EmailMessage>(delivery.content).subject = "x\r\nBcc: victime@ailleurs.fr";
  const SinkAnswer answer = sink->deliver(delivery);
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(answer.detail.find("subject"), std::string::npos);
  EXPECT_TRUE(entries(root_).empty());
  const SinkAnswer crm = sink->deliver(Delivery{"key", CrmActivity{}});
  EXPECT_EQ(crm.outcome, SinkAnswer::Outcome::rejected);
}

TEST_F(FileSinkTest, message_above_the_size_limit_is_rejected) {
  Result<std::unique_ptr<Sink>> sink = make_file_sink({root_.string(), "relance.exemple.fr", 200});
  ASSERT_TRUE(sink.ok());
  const SinkAnswer answer = (*sink)->deliver(reminder("key", std::string(500, 'x')));
  EXPECT_EQ(answer.outcome, SinkAnswer::Outcome::rejected);
  EXPECT_NE(answer.detail.find("message_bytes_max"), std::string::npos);
}

TEST(FileSinkOptionsTest, bad_options_are_configuration_errors) {
  EXPECT_EQ(make_file_sink({"", "relance.exemple.fr", 1}).error().field, "directory");
  EXPECT_EQ(make_file_sink({"var/mail", "", 1}).error().field, "message_id_domain");
}

}  // namespace
}  // namespace relance::connectors
