#pragma once
// The routes of the HTTP API, independent of the transport: the server turns a Beast request
// into a Request, and writes the Response it is handed back. No Beast type here.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/event.hpp"
#include "http/event_destination.hpp"
#include "ingest/writer.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace relance::state {
class ViewsOnRead;
}

namespace relance::http {

enum class Method { get, head, post, other };

struct Request {
  Method method = Method::other;
  std::string target;        // origin-form, still percent-encoded
  std::string content_type;  // as sent, parameters included
  // CloudEvents binary-mode attributes: header name without "ce-", lower case; value as sent.
  std::vector<std::pair<std::string, std::string>> ce_headers;
  std::string body;
};

struct Response {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::string allow;        // 405
  std::string retry_after;  // 503
  // When set, the transport calls it on the connection's own thread before writing, and it fills
  // `body`: an answer decided on the writer thread is built off it, so the writer only commits.
  std::function<void(Response&)> complete_body;
};

// Route labels of the metrics; `unmatched` for every path the API does not serve.
enum class Route {
  events_post,
  event_get,
  livez,
  readyz,
  metrics,
  receivable_get,
  customer_get,
  alerts_get,
  outbox_list,
  outbox_retry,
  unmatched
};
inline constexpr std::size_t route_count = 11;
std::string_view route_label(Route route);

struct ApiLimits {
  std::size_t request_events_max = 10000;  // events in one POST: the writer commits it at once
};

class Api {
 public:
  // Called exactly once per request, possibly on the writer thread: must only hand the response
  // over to the connection's own thread.
  using Reply = std::function<void(Response)>;

  // `views` computes the receivable and customer documents; it must outlive the Api.
  Api(store::Store& store, ingest::Writer& writer, const state::ViewsOnRead& views,
      metrics::Registry& metrics, ApiLimits limits);

  void handle(Request request, Reply reply);

  // A check /readyz runs after its own: why the daemon is not ready (the Kafka source owns no
  // partition yet), or nullopt. Set before requests are served; called from any I/O thread.
  using ReadinessCheck = std::function<std::optional<std::string>()>;
  void set_readiness_check(ReadinessCheck check) { readiness_check_ = std::move(check); }
  // Where POST /v1/events sends what it validated (the writer unless set); set before
  // requests are served, must outlive the Api.
  void set_event_destination(EventDestination* destination) {
    destination_ = destination != nullptr ? destination : &writer_destination_;
  }

  // An answer the transport gives on its own (413 over the body limit, 400 for a message that
  // is not HTTP), counted in the metrics like the others.
  Response transport_error(std::string_view target, unsigned status, std::string_view title,
                           std::string_view detail);

  static Route route_of(std::string_view target);

 private:
  void post_events(Request request, Reply reply);
  Response get_event(std::string_view target);
  Response readyz();
  // The outbox: a page of actions, and the replay of a dead one.
  Response get_outbox(std::string_view target);
  Response retry_outbox(std::string_view target);
  // The engine's state: documents computed from the committed blobs as of today; alerts as
  // committed.
  Response get_receivable(std::string_view target);
  Response get_customer(std::string_view target);
  Response get_alerts(std::string_view target);
  void record(Route route, unsigned status, std::chrono::steady_clock::time_point start);
  metrics::Counter& http_counter(Route route, unsigned status);
  void count_rejected(const Request& request);

  store::Store& store_;
  ingest::Writer& writer_;
  const state::ViewsOnRead& views_;
  metrics::Registry& metrics_;
  ApiLimits limits_;
  ReadinessCheck readiness_check_;
  WriterEventDestination writer_destination_{writer_};
  EventDestination* destination_ = &writer_destination_;
  // When a replayed outbox action is due (now).

  // Instruments resolved once: the registry's lookup takes a lock, a request must not.
  static constexpr std::array<unsigned, 12> common_statuses_{200, 202, 400, 404, 405, 408,
                                                             413, 415, 422, 500, 503, 431};
  std::array<std::array<std::atomic<metrics::Counter*>, common_statuses_.size()>, route_count>
      http_counters_{};
  std::array<metrics::Histogram*, route_count> durations_{};
  // [type][outcome]: accepted, duplicate, rejected; the extra row is the unknown type.
  std::array<std::array<metrics::Counter*, 3>, core::event_type_count + 1> events_{};
};

// RFC 7807 problem body (application/problem+json).
struct ProblemError {
  std::int64_t index = -1;  // position in a batch; -1 when not about one event
  std::string field;
  std::string message;
};
Response problem(unsigned status, std::string_view slug, std::string_view title,
                 std::string_view detail, const std::vector<ProblemError>& errors = {});

}  // namespace relance::http
