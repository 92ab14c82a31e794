#include "connectors/email/file/file_sink.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <variant>

#include "connectors/email/mime/mime.hpp"

namespace relance::connectors {
namespace {

std::string errno_text(int error) { return std::strerror(error); }

// Closes on every path; the sink checks close() itself where the result matters.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

SinkAnswer retry(std::string detail) {
  return SinkAnswer{SinkAnswer::Outcome::retry, std::nullopt, std::move(detail)};
}

class FileSink final : public Sink {
 public:
  explicit FileSink(FileSinkOptions options) : options_(std::move(options)) {}

  std::string_view name() const override { return "email.file"; }
  // The file is named after the idempotency key and never replaced: a second copy is a no-op.
  bool redelivery_safe() const override { return true; }

  SinkAnswer deliver(const Delivery& delivery) override {
    const auto* message = std::get_if<EmailMessage>(&delivery.content);
    if (message == nullptr) {
      return {SinkAnswer::Outcome::rejected, std::nullopt,
              "email.file delivers emails only, not CRM activities or alerts"};
    }
    Result<std::string> bytes =
        mime::build_message(*message, delivery.idempotency_key, {options_.message_id_domain});
    if (!bytes) {
      return {SinkAnswer::Outcome::rejected, std::nullopt,
              "message cannot be built: " + bytes.error().to_string()};
    }
    if (bytes->size() > options_.message_bytes_max) {
      return {SinkAnswer::Outcome::rejected, std::nullopt,
              "message is " + std::to_string(bytes->size()) + " bytes, above message_bytes_max " +
                  std::to_string(options_.message_bytes_max)};
    }
    const std::filesystem::path directory(options_.directory);
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) {
      return retry("cannot create folder " + directory.string() + ": " + error.message());
    }
    const std::string digest = mime::key_digest(delivery.idempotency_key);
    const std::filesystem::path final_path = directory / (digest + ".eml");
    struct stat existing {};
    if (::stat(final_path.c_str(), &existing) == 0) {
      return {SinkAnswer::Outcome::delivered, std::nullopt,
              "already written: " + final_path.string()};
    }
    // A dot-name in the same folder: invisible to pickup tools that skip hidden files, and on
    // the same file system so the rename below is atomic.
    const std::filesystem::path temp_path =
        directory / ("." + digest + ".tmp." + std::to_string(::getpid()) + "." +
                     std::to_string(temp_counter_.fetch_add(1)));
    if (std::string problem = write_synced(temp_path, *bytes); !problem.empty()) {
      ::unlink(temp_path.c_str());
      return retry(problem);
    }
    // RENAME_NOREPLACE: if another writer got the same key in first, keep its file; both hold a
    // message for the same action, so this delivery is done either way.
    if (::renameat2(AT_FDCWD, temp_path.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) !=
        0) {
      const int rename_error = errno;
      if (rename_error == EEXIST) {
        ::unlink(temp_path.c_str());
        return {SinkAnswer::Outcome::delivered, std::nullopt,
                "already written: " + final_path.string()};
      }
      // File systems without RENAME_NOREPLACE: link() also refuses to replace.
      if (rename_error == EINVAL || rename_error == ENOSYS) {
        const int linked = ::link(temp_path.c_str(), final_path.c_str());
        const int link_error = errno;
        ::unlink(temp_path.c_str());
        if (linked != 0 && link_error != EEXIST) {
          return retry("cannot publish " + final_path.string() + ": " + errno_text(link_error));
        }
      } else {
        ::unlink(temp_path.c_str());
        return retry("cannot rename into " + final_path.string() + ": " + errno_text(rename_error));
      }
    }
    // The rename is only durable once the folder entry is on disk.
    FileDescriptor folder(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (folder.get() < 0 || ::fsync(folder.get()) != 0) {
      return retry("cannot sync folder " + directory.string() + ": " + errno_text(errno));
    }
    return {SinkAnswer::Outcome::delivered, std::nullopt, "written: " + final_path.string()};
  }

 private:
  // Empty on success, else what went wrong.
  static std::string write_synced(const std::filesystem::path& path, const std::string& bytes) {
    FileDescriptor file(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, S_IRUSR | S_IWUSR | S_IRGRP));
    if (file.get() < 0) return "cannot create " + path.string() + ": " + errno_text(errno);
    std::size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n = ::write(file.get(), bytes.data() + written, bytes.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        return "cannot write " + path.string() + ": " + errno_text(errno);
      }
      written += static_cast<std::size_t>(n);
    }
    if (::fsync(file.get()) != 0) return "cannot sync " + path.string() + ": " + errno_text(errno);
    // close() can report a deferred write error (NFS, quotas).
    if (::close(file.release()) != 0) {
      return "cannot close " + path.string() + ": " + errno_text(errno);
    }
    return {};
  }

  FileSinkOptions options_;
  std::atomic<unsigned long> temp_counter_{0};
};

}  // namespace

Result<std::unique_ptr<Sink>> make_file_sink(const FileSinkOptions& options) {
  if (options.directory.empty()) return Error{"directory", "is empty"};
  if (options.message_bytes_max == 0) return Error{"message_bytes_max", "must be above 0"};
  if (Result<void> checked = mime::check_options({options.message_id_domain}); !checked) {
    return checked.error();
  }
  return std::unique_ptr<Sink>(std::make_unique<FileSink>(options));
}

}  // namespace relance::connectors
