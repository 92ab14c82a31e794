#include "tests/integration/servers/server_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

namespace relance::testing {
namespace {

bool wait_exited(pid_t pid, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    int status = 0;
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid || (done < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<ServerProcess>> ServerProcess::start(const std::vector<std::string>& argv,
                                                            std::chrono::milliseconds deadline) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return Error{"server", std::strerror(errno)};
  const pid_t pid = ::fork();
  if (pid < 0) return Error{"server", std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "cannot exec %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string printed;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (printed.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd fd{out[0], POLLIN, 0};
    if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) break;
    char buffer[512];
    const ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n <= 0) break;
    printed.append(buffer, static_cast<std::size_t>(n));
  }
  // The scripts send their later output to a log file in their data folder, so closing the
  // pipe here cannot break them.
  ::close(out[0]);
  unsigned port = 0;
  if (std::sscanf(printed.c_str(), "PORT %u", &port) != 1 || port == 0 || port > 65535) {
    ::kill(pid, SIGKILL);
    wait_exited(pid, std::chrono::seconds(2));
    return Error{"server", "did not report a port within " + std::to_string(deadline.count()) +
                               " ms; it printed: " + printed};
  }
  return std::unique_ptr<ServerProcess>(new ServerProcess(pid, static_cast<std::uint16_t>(port)));
}

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!wait_exited(pid_, std::chrono::seconds(1))) {
    ::kill(pid_, SIGKILL);
    wait_exited(pid_, std::chrono::seconds(2));
  }
  pid_ = -1;
}

ServerProcess::~ServerProcess() { stop(); }

std::string python3_path() { return RELANCE_PYTHON3; }
std::string servers_dir() { return RELANCE_TEST_SERVERS_DIR; }

std::map<std::string, int> smtp_received_message_ids(const std::filesystem::path& folder) {
  std::map<std::string, int> counts;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with("msg-") || entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const boost::json::value parsed = boost::json::parse(text);
    ++counts[std::string(parsed.at("headers").at("message-id").as_string())];
  }
  return counts;
}

bool CommandOutput::exited_zero() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

CommandOutput run_command(const std::string& command) {
  CommandOutput run;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
    run.out.append(buffer, n);
  }
  run.status = ::pclose(pipe);
  return run;
}

std::string make_temp_dir(const std::string& prefix) {
  std::string pattern = "/tmp/" + prefix + "-XXXXXX";
  char* made = ::mkdtemp(pattern.data());
  RELANCE_ASSERT(made != nullptr);
  return pattern;
}

}  // namespace relance::testing
