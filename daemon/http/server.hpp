#pragma once
// The HTTP/1.1 listener (Boost.Beast behind a pimpl: nothing of Beast or Asio leaks from here).
// One io_context per I/O thread, each connection stays on one thread; keep-alive, and
// pipelined requests are answered in order, one at a time.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"
#include "http/event_destination.hpp"
#include "ingest/writer.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace relance::state {
class ViewsOnRead;
}

namespace relance::http {

class Server {
 public:
  // Binds config.listen_address:config.port (0: any free port) and starts the I/O threads.
  // `request_events_max`: most events one POST may carry (the writer commits it whole).
  // `views`: the documents of receivables and customers (outlives the server).
  // `readiness_check`: see Api::set_readiness_check. `events`: see
  // Api::set_event_destination (nullptr: the writer).
  static Result<std::unique_ptr<Server>> start(
      const config::HttpConfig& config, store::Store& store, ingest::Writer& writer,
      metrics::Registry& metrics, std::size_t request_events_max, const state::ViewsOnRead& views,
      std::function<std::optional<std::string>()> readiness_check = {},
      EventDestination* events = nullptr);
  ~Server();  // stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  std::uint16_t port() const;

  // Closes the listener and idle keep-alive connections; a request already being read or
  // waiting for the writer still gets its answer, then its connection closes.
  void stop_accepting();
  // Requests read whole whose answer is not written yet.
  std::size_t requests_in_flight() const;
  // Closes every connection and joins the I/O threads.
  void stop();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace relance::http
