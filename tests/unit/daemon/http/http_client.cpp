#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <stdexcept>

namespace relance::testing {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct HttpClient::Impl {
  net::io_context context;
  beast::tcp_stream stream{context};
  beast::flat_buffer buffer;
  std::chrono::milliseconds timeout;
};

HttpClient::HttpClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  impl_->stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
}

HttpClient::~HttpClient() {
  beast::error_code ec;
  impl_->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

HttpReply HttpClient::get(const std::string& target) { return request("GET", target, "", {}); }

HttpReply HttpClient::post(const std::string& target, const std::string& content_type,
                           const std::string& body, const Headers& headers) {
  Headers all = headers;
  all.emplace_back("Content-Type", content_type);
  return request("POST", target, body, all);
}

HttpReply HttpClient::request(const std::string& method, const std::string& target,
                              const std::string& body, const Headers& headers) {
  bhttp::request<bhttp::string_body> request(bhttp::string_to_verb(method), target, 11);
  request.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.keep_alive(true);
  request.prepare_payload();
  // Sync calls have no deadline of their own: the socket option bounds a stuck read.
  timeval tv{static_cast<time_t>(impl_->timeout.count() / 1000),
             static_cast<suseconds_t>((impl_->timeout.count() % 1000) * 1000)};
  setsockopt(impl_->stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  bhttp::write(impl_->stream, request);
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  bhttp::read(impl_->stream, impl_->buffer, parser);
  auto response = parser.release();
  HttpReply reply;
  reply.status = response.result_int();
  reply.body = std::move(response.body());
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    reply.headers[name] = std::string(field.value());
  }
  return reply;
}

RawExchange raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout) {
  net::io_context context;
  tcp::socket socket(context);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  net::write(socket, net::buffer(bytes));
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  RawExchange exchange;
  char chunk[4096];
  for (;;) {
    beast::error_code ec;
    const std::size_t n = socket.read_some(net::buffer(chunk), ec);
    exchange.received.append(chunk, n);
    if (ec == net::error::eof || ec == net::error::connection_reset) {
      exchange.closed_by_server = true;
      break;
    }
    if (ec) break;  // SO_RCVTIMEO expired: the server kept the connection open
  }
  return exchange;
}

}  // namespace relance::testing
