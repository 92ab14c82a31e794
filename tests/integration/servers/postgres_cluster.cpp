#include "tests/integration/servers/postgres_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace relance::testing {
namespace {

namespace fs = std::filesystem;

// Attempts at finding a free port: another process may take the one we picked before the
// server binds it.
constexpr int start_attempts_max = 3;
constexpr const char* server_user = "postgres";

Error cluster_error(std::string message) { return Error{"postgres cluster", std::move(message)}; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The newest installed major version, e.g. /usr/lib/postgresql/15/bin.
Result<std::string> find_bin_dir() {
  std::vector<std::pair<int, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const fs::path bin = entry.path() / "bin";
    if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl")) {
      found.emplace_back(std::atoi(entry.path().filename().c_str()), bin.string());
    }
  }
  if (found.empty()) {
    return cluster_error(
        "no initdb/pg_ctl under /usr/lib/postgresql/*/bin; install the Debian package "
        "`postgresql` (packaging/install-deps.sh)");
  }
  std::sort(found.begin(), found.end());
  return found.back().second;
}

Result<std::uint16_t> pick_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return cluster_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return cluster_error(std::string("finding a free port: ") + std::strerror(saved));
  return ntohs(address.sin_port);
}

// Runs argv to completion in `cwd` with its output in `output_path`; fails with that output.
Result<void> run(const std::vector<std::string>& argv, const std::string& cwd,
                 const std::string& output_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  std::string command;
  for (const std::string& arg : argv) command += (command.empty() ? "" : " ") + arg;
  if (spawned != 0) return cluster_error(command + ": " + std::strerror(spawned));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return cluster_error(command + " failed (status " + std::to_string(status) +
                       "): " + read_file(output_path));
}

// libpq connection for the helper's own statements.
struct Connection {
  explicit Connection(const std::string& url) : conn(PQconnectdb(url.c_str())) {}
  ~Connection() { PQfinish(conn); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  PGconn* conn;
};

Result<std::string> query_once(const std::string& url, std::string_view sql) {
  Connection connection(url);
  if (PQstatus(connection.conn) != CONNECTION_OK) {
    return cluster_error("connecting to " + url + ": " + PQerrorMessage(connection.conn));
  }
  PGresult* result = PQexec(connection.conn, std::string(sql).c_str());
  const ExecStatusType status = PQresultStatus(result);
  std::string value;
  Result<std::string> outcome = std::string();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    outcome = cluster_error(std::string(sql) + ": " + PQresultErrorMessage(result));
  } else if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 && PQnfields(result) > 0) {
    outcome = std::string(PQgetvalue(result, 0, 0));
  }
  PQclear(result);
  return outcome;
}

std::string quote_identifier(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string quote_literal(std::string_view text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

}  // namespace

Result<std::unique_ptr<PostgresCluster>> PostgresCluster::start(
    const PostgresClusterOptions& options) {
  auto bin_dir = find_bin_dir();
  if (!bin_dir) return bin_dir.error();
  std::unique_ptr<PostgresCluster> cluster(new PostgresCluster());
  cluster->bin_dir_ = *bin_dir;
  cluster->as_postgres_user_ = ::geteuid() == 0;

  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/relance-pg-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    return cluster_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  cluster->dir_ = pattern;
  cluster->data_dir_ = pattern + "/data";

  // initdb and postgres refuse to run as root: the folder then belongs to the postgres user.
  if (cluster->as_postgres_user_) {
    const passwd* user = ::getpwnam(server_user);
    if (user == nullptr) {
      std::error_code ignored;
      fs::remove_all(cluster->dir_, ignored);
      return cluster_error(
          std::string("running as root, and there is no `") + server_user +
          "` user to run the server as (the Debian package postgresql creates it)");
    }
    if (::chown(cluster->dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      const std::string reason = std::strerror(errno);
      std::error_code ignored;
      fs::remove_all(cluster->dir_, ignored);
      return cluster_error("chown " + cluster->dir_ + ": " + reason);
    }
  }
  const std::vector<std::string> as_user = cluster->as_user();

  // The watchdog: a shell that blocks reading a pipe whose only writer is this process. When
  // the pipe closes (the destructor, or this process dying in any way) it stops the server and
  // removes the folder. One cleanup path for success, failure and crashes.
  {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      std::error_code ignored;
      fs::remove_all(cluster->dir_, ignored);
      return cluster_error(std::string("pipe: ") + std::strerror(errno));
    }
    std::vector<std::string> argv = {
        "/bin/sh",
        "-c",
        "dir=$1; data=$2; shift 2; trap '' INT TERM HUP; read -r _; "
        "\"$@\" -D \"$data\" -m immediate -w -t 30 stop >/dev/null 2>&1; rm -rf \"$dir\"",
        "relance-pg-watchdog",
        cluster->dir_,
        cluster->data_dir_};
    argv.insert(argv.end(), as_user.begin(), as_user.end());
    argv.push_back(cluster->bin_dir_ + "/pg_ctl");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[0], STDIN_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addchdir_np(&actions, "/");
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    const int spawned =
        ::posix_spawn(&cluster->watchdog_pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[0]);
    if (spawned != 0) {
      ::close(pipe_fds[1]);
      std::error_code ignored;
      fs::remove_all(cluster->dir_, ignored);
      return cluster_error(std::string("starting the cleanup watchdog: ") + std::strerror(spawned));
    }
    cluster->watchdog_pipe_ = pipe_fds[1];
  }
  // From here on, returning drops `cluster`, whose destructor releases the watchdog.

  std::vector<std::string> initdb = as_user;
  initdb.insert(initdb.end(),
                {cluster->bin_dir_ + "/initdb", "-D", cluster->data_dir_, "-U", "postgres",
                 "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
                 // 1 MB WAL segments instead of 16: less to copy for each test process.
                 "--wal-segsize=1"});
#ifdef RELANCE_PG_TEMPLATE_DIR
  // initdb costs seconds; a cluster initialised once per build folder is copied instead (ctest
  // runs each test in its own process). A lock keeps parallel tests from building it twice.
  const std::string template_dir = RELANCE_PG_TEMPLATE_DIR;
  {
    std::error_code ignored;
    fs::create_directories(fs::path(template_dir).parent_path(), ignored);
    const int lock = ::open((template_dir + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
      if (lock >= 0) ::close(lock);
      return cluster_error("locking " + template_dir + ".lock: " + std::strerror(errno));
    }
    // The template is reused only if the same initdb made it with the same options.
    std::string made_by;
    for (std::size_t i = as_user.size(); i < initdb.size(); ++i) {
      made_by += (initdb[i] == cluster->data_dir_ ? std::string("DATA") : initdb[i]) + "\n";
    }
    Result<void> made;
    if (read_file(template_dir + ".made-by") == made_by &&
        fs::exists(template_dir + "/PG_VERSION")) {
      made = run({"/bin/cp", "-a", template_dir, cluster->data_dir_}, cluster->dir_,
                 cluster->dir_ + "/cp.log");
    } else {
      fs::remove_all(template_dir, ignored);
      made = run(initdb, cluster->dir_, cluster->dir_ + "/initdb.log");
      if (made) {
        made = run({"/bin/cp", "-a", cluster->data_dir_, template_dir + ".new"}, cluster->dir_,
                   cluster->dir_ + "/cp.log");
      }
      if (made && ::rename((template_dir + ".new").c_str(), template_dir.c_str()) != 0) {
        made = cluster_error("rename to " + template_dir + ": " + std::strerror(errno));
      }
      if (made) std::ofstream(template_dir + ".made-by", std::ios::trunc) << made_by;
      fs::remove_all(template_dir + ".new", ignored);
    }
    ::close(lock);
    if (!made) return made.error();
  }
#else
  if (auto made = run(initdb, cluster->dir_, cluster->dir_ + "/initdb.log"); !made) {
    return made.error();
  }
#endif

  {
    std::ofstream conf(cluster->data_dir_ + "/postgresql.conf", std::ios::app);
    conf << "\n# relance tests\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '"
         << cluster->dir_ << "'\nfsync = " << (options.fsync ? "on" : "off")
         << "\nfull_page_writes = " << (options.fsync ? "on" : "off") << "\n";
    if (!conf) return cluster_error("cannot write " + cluster->data_dir_ + "/postgresql.conf");
  }
  Result<void> started = cluster_error("not started");
  for (int attempt = 0; attempt < start_attempts_max && !started; ++attempt) {
    auto port = pick_free_port();
    if (!port) return port.error();
    cluster->port_ = *port;
    started = cluster->pg_ctl_start();
  }
  if (!started) return started.error();
  return cluster;
}

std::vector<std::string> PostgresCluster::as_user() const {
  if (!as_postgres_user_) return {};
  return {fs::exists("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser", "-u",
          server_user, "--"};
}

Result<void> PostgresCluster::pg_ctl_start() {
  std::vector<std::string> argv = as_user();
  // The port on the command line, not in postgresql.conf, so that a retry needs no rewrite.
  argv.insert(argv.end(), {bin_dir_ + "/pg_ctl", "-D", data_dir_, "-l", dir_ + "/server.log", "-o",
                           "-p " + std::to_string(port_), "-w", "-t", "60", "start"});
  auto started = run(argv, dir_, dir_ + "/pg_ctl.log");
  if (!started) {
    return cluster_error(started.error().message + "\nserver log:\n" +
                         read_file(dir_ + "/server.log"));
  }
  return {};
}

PostgresCluster::~PostgresCluster() {
  if (watchdog_pipe_ >= 0) ::close(watchdog_pipe_);
  if (watchdog_pid_ > 0) {
    int status = 0;
    while (::waitpid(watchdog_pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

std::string PostgresCluster::url(std::string_view database, std::string_view schema) const {
  std::string url = "postgresql://postgres@127.0.0.1:" + std::to_string(port_) + "/" +
                    std::string(database) + "?sslmode=disable&connect_timeout=10";
  if (!schema.empty()) url += "&options=-csearch_path%3D" + std::string(schema);
  return url;
}

Result<std::string> PostgresCluster::create_schema(std::string_view prefix) {
  const std::string name = std::string(prefix) + "_" + std::to_string(++databases_created_);
  auto created = query_once(url(), "CREATE SCHEMA " + quote_identifier(name));
  if (!created) return created.error();
  return name;
}

Result<void> PostgresCluster::drop_schema(std::string_view name) {
  auto dropped = query_once(url(), "DROP SCHEMA IF EXISTS " + quote_identifier(name) + " CASCADE");
  if (!dropped) return dropped.error();
  return {};
}

Result<std::string> PostgresCluster::create_database(std::string_view prefix,
                                                     std::string_view options) {
  const std::string name = std::string(prefix) + "_" + std::to_string(++databases_created_);
  auto created =
      query_once(url(), "CREATE DATABASE " + quote_identifier(name) + " " + std::string(options));
  if (!created) return created.error();
  return name;
}

Result<void> PostgresCluster::drop_database(std::string_view name) {
  auto dropped =
      query_once(url(), "DROP DATABASE IF EXISTS " + quote_identifier(name) + " WITH (FORCE)");
  if (!dropped) return dropped.error();
  return {};
}

Result<std::string> PostgresCluster::query(std::string_view database, std::string_view sql,
                                           std::string_view schema) {
  return query_once(url(database, schema), sql);
}

Result<int> PostgresCluster::terminate_connections(std::string_view database) {
  // The timeout makes pg_terminate_backend wait until each backend is gone.
  auto count = query_once(url(),
                          "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM "
                          "pg_stat_activity WHERE datname = " +
                              quote_literal(database) + " AND pid <> pg_backend_pid()");
  if (!count) return count.error();
  return std::atoi(count->c_str());
}

Result<void> PostgresCluster::stop_server() {
  std::vector<std::string> argv = as_user();
  argv.insert(argv.end(),
              {bin_dir_ + "/pg_ctl", "-D", data_dir_, "-m", "fast", "-w", "-t", "60", "stop"});
  return run(argv, dir_, dir_ + "/pg_ctl.log");
}

Result<void> PostgresCluster::start_server() { return pg_ctl_start(); }

}  // namespace relance::testing
