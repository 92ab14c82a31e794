#pragma once
// Starts a test server (a script) as a child process and learns its port from the first line
// it prints ("PORT 40123"). The server binds port 0 on loopback itself, so tests never race
// for a fixed port. The child is terminated when the handle goes away.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"

namespace relance::testing {

class ServerProcess {
 public:
  // Fails with what the child printed when it does not report a port within `deadline`.
  static Result<std::unique_ptr<ServerProcess>> start(const std::vector<std::string>& argv,
                                                      std::chrono::milliseconds deadline);
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  std::uint16_t port() const { return port_; }
  // Terminates the child now (SIGTERM, then SIGKILL after a second) and reaps it.
  void stop();

 private:
  ServerProcess(pid_t pid, std::uint16_t port) : pid_(pid), port_(port) {}
  pid_t pid_;
  std::uint16_t port_;
};

// python3 and the folder of the server scripts.
std::string python3_path();
std::string servers_dir();

// A fresh empty folder under the system temp dir, removed by the caller.
std::string make_temp_dir(const std::string& prefix);

// What smtp_server.py kept in `folder`: each Message-ID received, and how many times.
std::map<std::string, int> smtp_received_message_ids(const std::filesystem::path& folder);

// Runs `command` through the shell: what it wrote on stdout, and its wait status.
struct CommandOutput {
  int status = -1;
  std::string out;
  bool exited_zero() const;
};
CommandOutput run_command(const std::string& command);

// Asks `done` every 10 ms until it holds or `limit` has passed; its last answer.
template <class Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

}  // namespace relance::testing
