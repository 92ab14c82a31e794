#include "http/server.hpp"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <future>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "http/api.hpp"
#include "log/log.hpp"

namespace relance::http {
// Named, not anonymous: Server::Impl derives from ServerCore and has external linkage.
namespace server_detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr std::size_t read_chunk_bytes = 16 * 1024;
constexpr std::uint32_t header_bytes_max = 16 * 1024;
// After an error answer on a connection we close, unread request bytes would make the kernel
// reset the connection and the client could lose the answer: read and drop them first, within
// these bounds (nginx calls this a lingering close).
constexpr std::size_t linger_bytes_max = 4 << 20;
constexpr std::chrono::milliseconds linger_time_max{2000};
constexpr std::chrono::milliseconds accept_retry_delay{100};

bool starts_with_ce(std::string_view name) {
  return name.size() > 3 && (name[0] == 'c' || name[0] == 'C') &&
         (name[1] == 'e' || name[1] == 'E') && name[2] == '-';
}

class Session;

struct Worker {
  std::unordered_set<Session*> sessions;  // only touched on this worker's thread
  net::io_context context{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  std::thread thread;
};

// The server's shared state; Server::Impl is this, named so that sessions can use it.
struct ServerCore {
  ServerCore(const config::HttpConfig& config, store::Store& store, ingest::Writer& writer,
             metrics::Registry& metrics, std::size_t request_events_max,
             const state::ViewsOnRead& views)
      : config_(config),
        api_(store, writer, views, metrics, ApiLimits{request_events_max}),
        open_connections_(
            metrics.gauge("relance_http_connections_open", "HTTP connections open now.")),
        accept_pauses_(metrics.counter(
            "relance_http_accept_pauses_total",
            "Times the listener stopped accepting because http.connections_max were open.")) {}

  void accept();
  void connection_closed();
  void post_to_all(const std::function<void(Worker&)>& action);

  config::HttpConfig config_;
  Api api_;
  metrics::Gauge& open_connections_;
  metrics::Counter& accept_pauses_;
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> connections_{0};
  std::uint16_t port_ = 0;
  std::size_t next_worker_ = 0;  // acceptor's thread only
  bool accept_paused_ = false;   // acceptor's thread only
  std::atomic<bool> stopped_{false};
  // Declared last: destroying the workers runs session destructors, which use the members
  // above.
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<net::steady_timer> accept_retry_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerCore& server, Worker& worker)
      : stream_(std::move(socket)), server_(server), worker_(worker) {}

  ~Session() {
    worker_.sessions.erase(this);
    server_.connection_closed();
    if (answer_pending_) server_.in_flight_.fetch_sub(1);
  }

  void start() {
    worker_.sessions.insert(this);
    wait_for_request();
  }

  // The server stops accepting: a connection between requests closes now, the others after
  // their answer.
  void drain() {
    if (state_ == State::idle) close();
  }

  void close() {
    if (state_ == State::closed) return;
    state_ = State::closed;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  enum class State { idle, reading, handling, writing, lingering, closed };

  void wait_for_request() {
    if (state_ == State::closed) return;
    if (server_.draining_.load()) return close();
    if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
    state_ = State::idle;
    stream_.expires_after(server_.config_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(read_chunk_bytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              if (ec) return self->close();
                              self->read_header();
                            });
  }

  void read_header() {
    if (state_ == State::closed) return;
    state_ = State::reading;
    parser_.emplace();
    parser_->body_limit(server_.config_.body_bytes_max);
    parser_->header_limit(header_bytes_max);
    // The whole request (headers and body) must arrive within request_timeout.
    stream_.expires_after(server_.config_.request_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
  }

  void on_header(beast::error_code ec) {
    if (state_ == State::closed) return;
    if (ec) return on_read_error(ec);
    const auto expect = parser_->get()[bhttp::field::expect];
    if (expect.size() == 12 && beast::iequals(expect, "100-continue")) {
      continue_.emplace(bhttp::status::continue_, 11);
      bhttp::async_write(stream_, *continue_,
                         [self = shared_from_this()](beast::error_code ec2, std::size_t) {
                           if (ec2) return self->close();
                           self->read_body();
                         });
      return;
    }
    read_body();
  }

  void read_body() {
    if (state_ == State::closed) return;
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_request(ec); });
  }

  void on_read_error(beast::error_code ec) {
    std::string target;
    if (parser_ && parser_->is_header_done()) target = std::string(parser_->get().target());
    if (ec == bhttp::error::body_limit) {
      return answer_and_close(server_.api_.transport_error(
          target, 413, "Content Too Large",
          "the body is larger than http.body_bytes_max (" +
              std::to_string(server_.config_.body_bytes_max) + " bytes)"));
    }
    if (ec == bhttp::error::header_limit) {
      return answer_and_close(server_.api_.transport_error(
          target, 431, "Request Header Fields Too Large",
          "the request headers exceed " + std::to_string(header_bytes_max) + " bytes"));
    }
    if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return answer_and_close(server_.api_.transport_error(
          target, 400, "Bad Request", "the request is not valid HTTP/1.1: " + ec.message()));
    }
    if (ec == beast::error::timeout) {
      log::debug("http connection cut", {{"reason", "request_timeout"}});
    }
    close();  // the peer left, or was too slow: nobody to answer
  }

  void on_request(beast::error_code ec) {
    if (state_ == State::closed) return;
    if (ec) return on_read_error(ec);
    state_ = State::handling;
    stream_.expires_never();  // waiting for the writer is bounded by the writer, not the peer
    auto message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();

    Request request;
    switch (message.method()) {
      case bhttp::verb::get:
        request.method = Method::get;
        break;
      case bhttp::verb::head:
        request.method = Method::head;
        break;
      case bhttp::verb::post:
        request.method = Method::post;
        break;
      default:
        request.method = Method::other;
    }
    request.target = std::string(message.target());
    request.content_type = std::string(message[bhttp::field::content_type]);
    for (const auto& field : message) {
      const std::string_view name = field.name_string();
      if (!starts_with_ce(name)) continue;
      std::string key(name.substr(3));
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request.ce_headers.emplace_back(std::move(key), std::string(field.value()));
    }
    request.body = std::move(message.body());

    answer_pending_ = true;
    server_.in_flight_.fetch_add(1);
    // The reply may run on the writer thread: it only hands the answer to this connection's
    // thread, and gives its reference to the session away so the session dies on its own thread.
    server_.api_.handle(std::move(request), [self = shared_from_this()](Response response) mutable {
      auto executor = self->stream_.get_executor();
      net::post(executor, [self = std::move(self), response = std::move(response)]() mutable {
        self->write(std::move(response), Close::if_asked);
      });
    });
  }

  enum class Close { if_asked, always };

  void answer_and_close(Response response) { write(std::move(response), Close::always); }

  void write(Response response, Close close_mode) {
    // Even for a peer gone: it also counts the events the answer reports.
    if (response.complete_body) response.complete_body(response);
    if (state_ == State::closed) return finish_answer();
    state_ = State::writing;
    const bool keep = close_mode == Close::if_asked && keep_alive_ && !server_.draining_.load();
    response_ = {};
    response_.version(11);
    response_.result(response.status);
    if (!response.content_type.empty()) {
      response_.set(bhttp::field::content_type, response.content_type);
    }
    if (!response.allow.empty()) response_.set(bhttp::field::allow, response.allow);
    if (!response.retry_after.empty()) {
      response_.set(bhttp::field::retry_after, response.retry_after);
    }
    response_.body() = std::move(response.body);
    response_.keep_alive(keep);
    response_.prepare_payload();
    stream_.expires_after(server_.config_.request_timeout);
    bhttp::async_write(stream_, response_,
                       [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
                         self->finish_answer();
                         if (ec) return self->close();
                         if (keep) return self->wait_for_request();
                         self->linger();
                       });
  }

  void finish_answer() {
    if (!answer_pending_) return;
    answer_pending_ = false;
    server_.in_flight_.fetch_sub(1);
  }

  void linger() {
    if (state_ == State::closed) return;
    state_ = State::lingering;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return close();
    stream_.expires_after(
        std::min<std::chrono::milliseconds>(linger_time_max, server_.config_.request_timeout));
    buffer_.clear();
    linger_read();
  }

  void linger_read() {
    stream_.async_read_some(
        buffer_.prepare(read_chunk_bytes),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) {
          self->lingered_bytes_ += n;
          if (ec || self->lingered_bytes_ > linger_bytes_max || self->state_ == State::closed)
            return self->close();
          self->linger_read();
        });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  bhttp::response<bhttp::string_body> response_;
  ServerCore& server_;
  Worker& worker_;
  State state_ = State::idle;
  bool keep_alive_ = true;
  bool answer_pending_ = false;
  std::size_t lingered_bytes_ = 0;
};

}  // namespace server_detail

using namespace server_detail;

struct Server::Impl : ServerCore {
  using ServerCore::ServerCore;
};

void ServerCore::accept() {
  Worker& target = *workers_[next_worker_++ % workers_.size()];
  acceptor_->async_accept(
      target.context, [this, &target](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
        if (ec) {
          // Out of file descriptors, most often: wait a little rather than spin.
          log::warn("http accept failed", {{"error", ec.message()}});
          accept_retry_->expires_after(accept_retry_delay);
          accept_retry_->async_wait([this](beast::error_code wait_ec) {
            if (!wait_ec && acceptor_->is_open()) accept();
          });
          return;
        }
        const auto open = connections_.fetch_add(1) + 1;
        open_connections_.set(static_cast<double>(open));
        beast::error_code option_ec;
        socket.set_option(tcp::no_delay(true), option_ec);  // small answers must not wait
        net::post(target.context, [this, &target, socket = std::move(socket)]() mutable {
          std::make_shared<Session>(std::move(socket), *this, target)->start();
        });
        if (open >= config_.connections_max) {
          // Further clients wait in the listen backlog until a connection closes.
          accept_paused_ = true;
          accept_pauses_.inc();
          return;
        }
        accept();
      });
}

void ServerCore::connection_closed() {
  const auto open = connections_.fetch_sub(1) - 1;
  open_connections_.set(static_cast<double>(open));
  // While stopping, the first worker may already be gone.
  if (open + 1 < config_.connections_max || stopped_.load()) return;
  net::post(workers_.front()->context, [this] {
    if (accept_paused_ && acceptor_->is_open() && connections_.load() < config_.connections_max) {
      accept_paused_ = false;
      accept();
    }
  });
}

void ServerCore::post_to_all(const std::function<void(Worker&)>& action) {
  std::vector<std::future<void>> done;
  for (auto& worker : workers_) {
    auto promise = std::make_shared<std::promise<void>>();
    done.push_back(promise->get_future());
    net::post(worker->context, [&action, &worker = *worker, promise] {
      action(worker);
      promise->set_value();
    });
  }
  for (auto& f : done) f.wait();
}

Result<std::unique_ptr<Server>> Server::start(
    const config::HttpConfig& config, store::Store& store, ingest::Writer& writer,
    metrics::Registry& metrics, std::size_t request_events_max, const state::ViewsOnRead& views,
    std::function<std::optional<std::string>()> readiness_check, EventDestination* events) {
  auto impl = std::make_unique<Impl>(config, store, writer, metrics, request_events_max, views);
  impl->api_.set_readiness_check(std::move(readiness_check));
  impl->api_.set_event_destination(events);
  beast::error_code ec;
  tcp::endpoint endpoint;
  if (const auto address = net::ip::make_address(config.listen_address, ec); !ec) {
    endpoint = tcp::endpoint(address, config.port);
  } else {
    net::io_context resolver_context;
    tcp::resolver resolver(resolver_context);
    const auto found = resolver.resolve(config.listen_address, std::to_string(config.port),
                                        tcp::resolver::passive, ec);
    if (ec || found.empty()) {
      return Error{"http.listen_address", config.listen_address +
                                              " is neither an IP address nor a host name that " +
                                              "resolves: " + ec.message()};
    }
    endpoint = found.begin()->endpoint();
  }
  const int threads = std::max(1, config.threads);
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->guard.emplace(worker->context.get_executor());
    impl->workers_.push_back(std::move(worker));
  }
  impl->acceptor_ = std::make_unique<tcp::acceptor>(impl->workers_.front()->context);
  impl->accept_retry_ = std::make_unique<net::steady_timer>(impl->workers_.front()->context);
  const std::string where = config.listen_address + ":" + std::to_string(config.port);
  tcp::acceptor& acceptor = *impl->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Error{"http.port", "cannot listen on " + where + ": " + ec.message()};
  impl->port_ = acceptor.local_endpoint().port();
  impl->accept();
  for (auto& worker : impl->workers_) {
    worker->thread = std::thread([&context = worker->context] { context.run(); });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { stop(); }

std::uint16_t Server::port() const { return impl_->port_; }

std::size_t Server::requests_in_flight() const { return impl_->in_flight_.load(); }

void Server::stop_accepting() {
  if (impl_->stopped_ || impl_->draining_.exchange(true)) return;
  net::post(impl_->workers_.front()->context, [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor_->close(ec);
    impl->accept_retry_->cancel();
  });
  impl_->post_to_all([](Worker& worker) {
    // drain() may close a session but never destroys it here: copy first all the same.
    std::vector<Session*> sessions(worker.sessions.begin(), worker.sessions.end());
    for (Session* session : sessions) session->drain();
  });
}

void Server::stop() {
  if (impl_->stopped_) return;
  stop_accepting();
  impl_->stopped_ = true;
  impl_->post_to_all([](Worker& worker) {
    std::vector<Session*> sessions(worker.sessions.begin(), worker.sessions.end());
    for (Session* session : sessions) session->close();
  });
  for (auto& worker : impl_->workers_) {
    worker->guard.reset();
    // Closed sessions finish their aborted operations and release themselves; nothing new
    // starts, so run() returns.
    if (worker->thread.joinable()) worker->thread.join();
  }
}

}  // namespace relance::http
