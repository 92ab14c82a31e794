#pragma once
// email.file: the embedded default email sink. Writes each message as an .eml file (the exact
// bytes an SMTP server would receive) into a folder that a mail pickup service, an archiver or a
// human can read. The file name derives from the idempotency key, so a second delivery of the
// same action finds the file and writes nothing.

#include <cstddef>
#include <memory>
#include <string>

#include "connectors/sink.hpp"
#include "core/result.hpp"

namespace relance::connectors {

struct FileSinkOptions {
  std::string directory = "var/mail";  // created (with parents) when missing
  std::string message_id_domain;       // see mime::MimeOptions
  std::size_t message_bytes_max = 10 * 1024 * 1024;
};

// Errors describe the option that cannot work ("directory: is empty").
Result<std::unique_ptr<Sink>> make_file_sink(const FileSinkOptions& options);

}  // namespace relance::connectors
