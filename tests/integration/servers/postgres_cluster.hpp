#pragma once
// A throwaway PostgreSQL cluster for tests: initdb in a temp folder, postgres listening on
// 127.0.0.1 on a free port (its unix socket in the same folder), as the `postgres` user when the
// test runs as root (initdb refuses root). The folder and the server go away with the handle,
// and also when the test process dies without running destructors (a watchdog shell waiting on
// a pipe does the cleanup).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace relance::testing {

struct PostgresClusterOptions {
  // Off by default: tests do not need durability and run several times faster without it.
  bool fsync = false;
};

class PostgresCluster {
 public:
  // Fails with initdb's or the server's own output when it cannot start; never skips.
  static Result<std::unique_ptr<PostgresCluster>> start(const PostgresClusterOptions& options = {});
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  std::uint16_t port() const { return port_; }
  // A libpq URL reaching `database` as the superuser over TCP; with `schema`, that schema is the
  // search_path (where unqualified tables are created and found).
  std::string url(std::string_view database = "postgres", std::string_view schema = "") const;

  // A new empty database named `<prefix>_<n>`, `options` appended to CREATE DATABASE; returns
  // its name.
  Result<std::string> create_database(std::string_view prefix, std::string_view options = "");
  // Drops it, closing whatever connections are still open on it.
  Result<void> drop_database(std::string_view name);
  // A new empty schema `<prefix>_<n>` in the `postgres` database: much cheaper than a database,
  // for tests that need a fresh store each.
  Result<std::string> create_schema(std::string_view prefix);
  Result<void> drop_schema(std::string_view name);
  // Runs SQL as the superuser on `database` (with `schema` as search_path); returns the first
  // column of the first row ("" when no row).
  Result<std::string> query(std::string_view database, std::string_view sql,
                            std::string_view schema = "");
  // Closes every server connection to `database` (what a restart or a network cut does to a
  // client); returns how many were closed.
  Result<int> terminate_connections(std::string_view database);

  // Stops the server (keeping its data) and starts it again on the same port.
  Result<void> stop_server();
  Result<void> start_server();

 private:
  PostgresCluster() = default;
  Result<void> pg_ctl_start();
  // The command prefix that runs a program as the server's user ({} when that is us).
  std::vector<std::string> as_user() const;

  std::string dir_;       // everything lives here; removed at the end
  std::string data_dir_;  // dir_/data
  std::string bin_dir_;   // /usr/lib/postgresql/<major>/bin
  bool as_postgres_user_ = false;
  std::uint16_t port_ = 0;
  int watchdog_pipe_ = -1;  // write end; the watchdog cleans up when it closes
  pid_t watchdog_pid_ = -1;
  int databases_created_ = 0;
};

}  // namespace relance::testing
