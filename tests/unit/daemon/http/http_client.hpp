#pragma once
// A small blocking HTTP/1.1 client over one keep-alive connection, for tests.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace relance::testing {

struct HttpReply {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpReply get(const std::string& target);
  HttpReply post(const std::string& target, const std::string& content_type,
                 const std::string& body, const Headers& headers = {});
  HttpReply request(const std::string& method, const std::string& target, const std::string& body,
                    const Headers& headers);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Sends raw bytes on a new connection and returns everything read until the server closes it
// or `timeout` passes; `closed_by_server` tells which.
struct RawExchange {
  std::string received;
  bool closed_by_server = false;
};
RawExchange raw_exchange(std::uint16_t port, const std::string& bytes,
                         std::chrono::milliseconds timeout);

}  // namespace relance::testing
