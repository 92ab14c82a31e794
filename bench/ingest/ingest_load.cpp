// HTTP load generator for POST /v1/events: keeps `--connections` keep-alive connections busy,
// one request in flight on each (no pipelining, like wrk), for `--duration` seconds, and prints
// requests/s, events/s and latency percentiles. Every event has a new id, so the daemon journals
// each one (no duplicate short-cut).
//
//   ingest_load --port N [--connections 64] [--duration 10] [--batch 1] [--threads 1]
//               [--prefix run] [--warmup 1] [--payments]
//
// --payments makes every other event a payment of the invoice before it (by its number in the
// remittance text); a customer's invoices then come a day apart, each after its last payment.
// --batch 1 posts one event per request (application/cloudevents+json); more posts a JSON array
// (application/cloudevents-batch+json). The last line is machine-readable ("RESULT k=v ...").

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "event_text.hpp"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Options {
  std::uint16_t port = 0;
  int connections = 64;
  double duration_s = 10;
  double warmup_s = 1;
  std::size_t batch = 1;
  int threads = 1;
  std::string prefix = "run";
  bool payments = false;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: ingest_load --port N [--connections 64] [--duration 10] [--warmup 1]\n"
               "                   [--batch 1] [--threads 1] [--prefix run] [--payments]\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") usage(0);
    if (arg == "--payments") {
      o.payments = true;
      continue;
    }
    if (i + 1 >= argc) usage(64);
    const std::string value = argv[++i];
    if (arg == "--port") {
      o.port = static_cast<std::uint16_t>(std::stoul(value));
    } else if (arg == "--connections") {
      o.connections = std::stoi(value);
    } else if (arg == "--duration") {
      o.duration_s = std::stod(value);
    } else if (arg == "--warmup") {
      o.warmup_s = std::stod(value);
    } else if (arg == "--batch") {
      o.batch = std::stoul(value);
    } else if (arg == "--threads") {
      o.threads = std::stoi(value);
    } else if (arg == "--prefix") {
      o.prefix = value;
    } else {
      usage(64);
    }
  }
  if (o.port == 0 || o.connections < 1 || o.batch < 1 || o.threads < 1 || o.duration_s <= 0) {
    usage(64);
  }
  return o;
}

// What one client thread measured inside the timed window.
struct Tally {
  std::vector<std::uint32_t> latencies_us;
  std::uint64_t requests = 0;
  std::uint64_t events = 0;
  std::map<unsigned, std::uint64_t> statuses;  // every answer, window or not
  std::uint64_t transport_errors = 0;
};

struct Window {
  Clock::time_point start;  // measuring starts (after the warm-up)
  Clock::time_point end;    // no new request after this
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& context, const Options& options, const Window& window,
             std::atomic<std::uint64_t>& next_event, Tally& tally)
      : socket_(context),
        options_(options),
        window_(window),
        next_event_(next_event),
        tally_(tally) {}

  void start() {
    socket_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), options_.port));
    socket_.set_option(tcp::no_delay(true));
    send();
  }

 private:
  void send() {
    const auto now = Clock::now();
    if (now >= window_.end) return;
    build_request();
    sent_at_ = now;
    net::async_write(socket_, net::buffer(request_),
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->fail();
                       self->receive();
                     });
  }

  void receive() {
    parser_.emplace();
    parser_->body_limit(64 << 20);
    bhttp::async_read(socket_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->fail();
                        self->on_response();
                      });
  }

  void on_response() {
    const auto done = Clock::now();
    const unsigned status = parser_->get().result_int();
    ++tally_.statuses[status];
    if (sent_at_ >= window_.start && done <= window_.end) {
      tally_.latencies_us.push_back(static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(done - sent_at_).count()));
      ++tally_.requests;
      if (status == 202) tally_.events += options_.batch;
    }
    if (status >= 300 && tally_.statuses[status] == 1) {
      std::fprintf(stderr, "HTTP %u: %s\n", status, parser_->get().body().c_str());
    }
    if (!parser_->get().keep_alive()) return fail();
    send();
  }

  void fail() { ++tally_.transport_errors; }

  void append_event(std::uint64_t n) {
    const std::string id = relance::bench::event_id(options_.prefix, n);
    if (!options_.payments) {
      relance::bench::append_invoice_event(body_, id, n);
    } else if (n % 2 == 0) {
      relance::bench::append_invoice_event(body_, id, n, static_cast<unsigned>(n / 5000));
    } else {
      relance::bench::append_payment_event(body_, id, n - 1, static_cast<unsigned>((n - 1) / 5000));
    }
  }

  void build_request() {
    body_.clear();
    const std::uint64_t first = next_event_.fetch_add(options_.batch);
    if (options_.batch == 1) {
      append_event(first);
    } else {
      body_ += '[';
      for (std::size_t i = 0; i < options_.batch; ++i) {
        if (i > 0) body_ += ',';
        append_event(first + i);
      }
      body_ += ']';
    }
    request_.clear();
    request_ += "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: ";
    request_ +=
        options_.batch == 1 ? "application/cloudevents+json" : "application/cloudevents-batch+json";
    request_ += "\r\nContent-Length: ";
    request_ += std::to_string(body_.size());
    request_ += "\r\n\r\n";
    request_ += body_;
  }

  tcp::socket socket_;
  const Options& options_;
  const Window& window_;
  std::atomic<std::uint64_t>& next_event_;
  Tally& tally_;
  std::string body_;
  std::string request_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::response_parser<bhttp::string_body>> parser_;
  Clock::time_point sent_at_;
};

double percentile_ms(const std::vector<std::uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t index =
      std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())));
  return sorted[index] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  Window window;
  const auto now = Clock::now();
  window.start = now + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(options.warmup_s));
  window.end = window.start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(options.duration_s));
  std::atomic<std::uint64_t> next_event{0};
  std::vector<Tally> tallies(options.threads);
  std::vector<std::thread> threads;
  std::mutex error_mutex;
  std::string error;
  for (int t = 0; t < options.threads; ++t) {
    threads.emplace_back([&, t] {
      try {
        net::io_context context(1);
        for (int c = t; c < options.connections; c += options.threads) {
          std::make_shared<Connection>(context, options, window, next_event, tallies[t])->start();
        }
        context.run();
      } catch (const std::exception& e) {
        std::lock_guard lock(error_mutex);
        error = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (!error.empty()) {
    std::fprintf(stderr, "ingest_load: %s\n", error.c_str());
    return 1;
  }

  Tally all;
  for (Tally& tally : tallies) {
    all.latencies_us.insert(all.latencies_us.end(), tally.latencies_us.begin(),
                            tally.latencies_us.end());
    all.requests += tally.requests;
    all.events += tally.events;
    all.transport_errors += tally.transport_errors;
    for (const auto& [status, count] : tally.statuses) all.statuses[status] += count;
  }
  std::sort(all.latencies_us.begin(), all.latencies_us.end());
  const double seconds = options.duration_s;
  std::string statuses;
  for (const auto& [status, count] : all.statuses) {
    statuses +=
        (statuses.empty() ? "" : ",") + std::to_string(status) + ":" + std::to_string(count);
  }
  std::printf(
      "%d connections, %zu event(s) per request, %.1f s: %.0f requests/s, %.0f events/s; latency "
      "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; answers %s; transport errors %llu\n",
      options.connections, options.batch, seconds, all.requests / seconds, all.events / seconds,
      percentile_ms(all.latencies_us, 0.50), percentile_ms(all.latencies_us, 0.90),
      percentile_ms(all.latencies_us, 0.99),
      all.latencies_us.empty() ? 0.0 : all.latencies_us.back() / 1000.0, statuses.c_str(),
      static_cast<unsigned long long>(all.transport_errors));
  std::printf("RESULT requests_per_s=%.0f events_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%llu\n",
              all.requests / seconds, all.events / seconds, percentile_ms(all.latencies_us, 0.50),
              percentile_ms(all.latencies_us, 0.99),
              static_cast<unsigned long long>(all.transport_errors +
                                              (all.requests - all.events / options.batch)));
  return all.transport_errors == 0 ? 0 : 1;
}
