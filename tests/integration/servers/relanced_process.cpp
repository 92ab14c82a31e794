#include "tests/integration/servers/relanced_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace relance::testing {
namespace {

namespace json = boost::json;

// The port of the "relanced started" line of a JSON log, if it is there yet.
std::optional<std::uint16_t> started_port(const std::string& log) {
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    json::error_code ec;
    const json::value value = json::parse(line, ec);
    if (ec || !value.is_object()) continue;
    const json::value* message = value.as_object().if_contains("msg");
    const json::value* port = value.as_object().if_contains("port");
    if (message == nullptr || !message->is_string() ||
        message->get_string() != "relanced started" || port == nullptr) {
      continue;
    }
    return static_cast<std::uint16_t>(port->to_number<unsigned>());
  }
  return std::nullopt;
}

}  // namespace

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string cloud_event(const std::string& source, const std::string& id, const std::string& type,
                        const json::object& data) {
  return json::serialize(json::object{
      {"specversion", "1.0"}, {"id", id}, {"source", source}, {"type", type}, {"data", data}});
}

std::string write_dunning_setup(const std::filesystem::path& dir,
                                const std::vector<std::string>& steps) {
  std::filesystem::create_directories(dir / "policies");
  std::filesystem::create_directories(dir / "calendars");
  std::ofstream(dir / "calendars" / "always.yaml") << "name: always\nweekend: []\n";
  std::ofstream policy(dir / "policies" / "test.yaml");
  policy << "policies:\n  test:\n    calendar: always\n    steps:\n";
  for (const std::string& step : steps) policy << "      - " << step << "\n";
  policy << "assignment:\n"
            "  default: test\n"
            "delivery:\n"
            "  send_days: [mon, tue, wed, thu, fri, sat, sun]\n"
            "  send_hours: [\"00:00-24:00\"]\n"
            "  contact_interval_min_hours: 48\n"
            "  contacts_per_week_max: 2\n";
  const std::string source_dir = RELANCE_SOURCE_DIR;
  return "dunning:\n"
         "  policies_directory: " +
         (dir / "policies").string() +
         "\n"
         "  calendars_directory: " +
         (dir / "calendars").string() +
         "\n"
         "  templates_directory: " +
         source_dir +
         "/config/templates\n"
         "  rates_directory: " +
         source_dir +
         "/config/rates\n"
         "  tick_interval: 200ms\n"
         "  company_name: Exemple SAS\n"
         "  company_iban: FR76 3000 6000 0112 3456 7890 189\n"
         "  company_bic: AGRIFRPP\n"
         "  company_email: compta@exemple.fr\n";
}

Result<std::unique_ptr<RelancedProcess>> RelancedProcess::start(
    const std::filesystem::path& config, const std::filesystem::path& log,
    std::chrono::milliseconds deadline) {
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) return Error{log.string(), std::string("cannot create: ") + std::strerror(errno)};
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Error{"relanced", std::string("fork: ") + std::strerror(errno)};
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a test that aborts leaves no daemon behind
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execl(RELANCE_RELANCED_PATH, RELANCE_RELANCED_PATH, "--config", config.c_str(),
            static_cast<char*>(nullptr));
    std::fprintf(stderr, "cannot exec %s: %s\n", RELANCE_RELANCED_PATH, std::strerror(errno));
    ::_exit(127);
  }
  ::close(log_fd);
  std::unique_ptr<RelancedProcess> process(new RelancedProcess(pid, log));
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (const auto port = started_port(read_file(log))) {
      process->port_ = *port;
      return process;
    }
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      process->pid_ = -1;
      return Error{"relanced", "exited before it started (wait status " + std::to_string(status) +
                                   "); its log:\n" + read_file(log)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return Error{"relanced", "did not log \"relanced started\" within " +
                               std::to_string(deadline.count()) + " ms; its log:\n" +
                               read_file(log)};
}

RelancedProcess::~RelancedProcess() {
  if (pid_ > 0) kill();
}

void RelancedProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

bool RelancedProcess::terminate() {
  if (pid_ <= 0) return false;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::optional<HttpReply> RelancedProcess::get(const std::string& target) const {
  try {
    HttpClient client(port_, std::chrono::seconds(5));
    return client.get(target);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool RelancedProcess::ready() const {
  const auto reply = get("/readyz");
  return reply && reply->status == 200;
}

std::optional<double> RelancedProcess::metric(const std::string& sample) const {
  const auto reply = get("/metrics");
  if (!reply || reply->status != 200) return std::nullopt;
  std::istringstream lines(reply->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with(sample + " ")) return std::stod(line.substr(sample.size() + 1));
  }
  return std::nullopt;
}

}  // namespace relance::testing
