#pragma once
// The relanced binary as a child process, for the tests that run the daemon itself. Its
// configuration asks for HTTP port 0; the port it bound comes from its "relanced started" log
// line. Its stdout and stderr (the JSON log) go to a file per start, so that a failing test can
// show what the daemon said. The child never outlives the test (PR_SET_PDEATHSIG, and SIGKILL
// when the handle goes away).

#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "tests/unit/daemon/http/http_client.hpp"

namespace relance::testing {

class RelancedProcess {
 public:
  // `relanced --config <config>`, its output into `log` (truncated). Waits up to `deadline` for
  // the daemon to listen; fails with its log so far when it exits first or does not start.
  static Result<std::unique_ptr<RelancedProcess>> start(
      const std::filesystem::path& config, const std::filesystem::path& log,
      std::chrono::milliseconds deadline = std::chrono::seconds(60));
  RelancedProcess(const RelancedProcess&) = delete;
  RelancedProcess& operator=(const RelancedProcess&) = delete;
  ~RelancedProcess();

  std::uint16_t port() const { return port_; }
  const std::filesystem::path& log() const { return log_; }
  // SIGKILL now, and reap: a crash, nothing flushed.
  void kill();
  // SIGTERM and wait for the exit; true when it exited with status 0 (a clean stop).
  bool terminate();
  // GET `target` on a fresh connection; nullopt while nothing answers.
  std::optional<HttpReply> get(const std::string& target) const;
  // GET /readyz answers 200.
  bool ready() const;
  // One sample of /metrics by its full name with labels (`name{label="v"}`); nullopt when absent.
  std::optional<double> metric(const std::string& sample) const;

 private:
  RelancedProcess(pid_t pid, std::filesystem::path log) : pid_(pid), log_(std::move(log)) {}
  pid_t pid_;
  std::filesystem::path log_;
  std::uint16_t port_ = 0;
};

// The whole content of a file; empty when it cannot be read.
std::string read_file(const std::filesystem::path& path);

// A canonical event (CloudEvents JSON, structured mode) as text.
std::string cloud_event(const std::string& source, const std::string& id, const std::string& type,
                        const boost::json::object& data);

// The dunning setup of the tests that run relanced with dunning on, written under `dir`: a
// calendar where every day is a business day, a send window open all day (reminders go out at
// once, whatever the day), and one policy made of `steps` (YAML flow mappings such as
// "{name: first_reminder, at: due+3d, channel: email, template: reminder}") assigned to every
// customer. Returns the `dunning:` section of relance.yaml that uses it, with the shipped
// templates and rates, a 200 ms tick and the company "Exemple SAS".
std::string write_dunning_setup(const std::filesystem::path& dir,
                                const std::vector<std::string>& steps);

}  // namespace relance::testing
