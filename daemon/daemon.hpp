#pragma once
// The running daemon: store, writer, HTTP API, wired from a Config. main() runs it until a
// signal; tests start one in-process on port 0.

#include <cstdint>
#include <memory>

#include "config/config.hpp"
#include "core/result.hpp"

namespace relance {

class Daemon {
 public:
  // Opens the store and starts the writer and the HTTP listener.
  static Result<std::unique_ptr<Daemon>> start(const config::Config& config);
  ~Daemon();  // stop()

  std::uint16_t http_port() const;  // the bound port (useful with port 0)
  // Stops accepting, finishes requests and batches in flight, commits, closes the store.
  // Bounded by config.shutdown_timeout.
  void stop();

 private:
  struct Impl;
  explicit Daemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// main(): runs the daemon until SIGTERM or SIGINT; returns the process exit code.
int run_until_signal(const config::Config& config);

}  // namespace relance
