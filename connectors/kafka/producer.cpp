#include "connectors/kafka/producer.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "log/log.hpp"

namespace relance::connectors::kafka {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds poll_timeout{50};
// The report of a message that timed out comes a little after message.timeout.ms.
constexpr milliseconds report_margin{5000};

// Settings the guarantees depend on.
const std::vector<std::pair<std::string, std::string>>& forced_properties() {
  static const std::vector<std::pair<std::string, std::string>> forced = {
      {"enable.idempotence", "true"}, {"acks", "all"}};
  return forced;
}

// One publish() call: how many of its records are still waiting for their report.
struct Call {
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<Published> answers;
  std::vector<bool> reported;
  std::size_t waiting = 0;
  bool queued_all = false;  // publish_async() queued every record: the count can reach 0
  std::function<void(std::vector<Published>)> on_done;  // async calls; run once, unlocked
};

// Runs the call's completion when nothing is left to report. Takes the lock held on its mutex.
void complete_if_done(Call& call, std::unique_lock<std::mutex>& lock) {
  if (!call.queued_all || call.waiting > 0 || !call.on_done) return;
  auto done = std::move(call.on_done);
  call.on_done = nullptr;
  std::vector<Published> answers = call.answers;
  lock.unlock();
  done(std::move(answers));
}

// The opaque of one message; freed by its delivery report.
struct Pending {
  std::shared_ptr<Call> call;
  std::size_t index = 0;
};

// Errors that no retry of the same record can cure.
bool is_permanent(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return true;
    default:
      return false;
  }
}

std::string describe(rd_kafka_resp_err_t err) {
  return std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err);
}

void log_callback(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  const log::Level mapped = level <= 3   ? log::Level::error
                            : level == 4 ? log::Level::warn
                            : level <= 6 ? log::Level::info
                                         : log::Level::debug;
  log::write(mapped, "kafka client",
             {{"client", rd_kafka_name(rk)}, {"facility", facility}, {"detail", text}});
}

}  // namespace

struct Producer::Impl {
  explicit Impl(ProducerOptions options_in) : options(std::move(options_in)) {}
  ~Impl() {
    stopping = true;
    if (poller.joinable()) poller.join();
    std::unique_lock lock(handle_mutex);
    close_handle();
  }

  Result<void> open_handle();
  void close_handle();
  void poll_loop();
  void replace_after_fatal(rd_kafka_t* broken);
  // Hands every record to librdkafka (or answers it at once when it cannot be queued).
  void queue(const std::shared_ptr<Call>& call, std::span<const Record> records);

  static void on_report(rd_kafka_t*, const rd_kafka_message_t* message, void*) {
    auto* pending = static_cast<Pending*>(message->_private);
    if (pending == nullptr) return;
    Published answer;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      answer.partition = message->partition;
      answer.offset = message->offset;
    } else {
      answer.outcome = is_permanent(message->err) ? Published::Outcome::permanent
                                                  : Published::Outcome::transient;
      answer.detail = describe(message->err);
      if (message->err == RD_KAFKA_RESP_ERR__FATAL) answer.detail += " (producer replaced)";
    }
    std::shared_ptr<Call> call = std::move(pending->call);
    const std::size_t index = pending->index;
    delete pending;
    std::unique_lock lock(call->mutex);
    if (!call->reported[index]) {
      call->reported[index] = true;
      call->answers[index] = std::move(answer);
      --call->waiting;
    }
    call->cv.notify_all();
    complete_if_done(*call, lock);
  }

  const ProducerOptions options;
  // publish() and the poller use the handle shared; replacing it after a fatal error is
  // exclusive.
  std::shared_mutex handle_mutex;
  rd_kafka_t* handle = nullptr;
  std::atomic<bool> stopping{false};
  std::atomic<bool> fatal_seen{false};
  std::thread poller;
};

Result<void> Producer::Impl::open_handle() {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& name, const std::string& value,
                 const std::string& field) -> Result<void> {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) !=
        RD_KAFKA_CONF_OK) {
      return Error{field, error};
    }
    return {};
  };
  Result<void> configured;
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"client.id", options.client_id},
      {"partitioner", "murmur2_random"},
      {"linger.ms", "1"},
      {"message.timeout.ms",
       std::to_string(std::max<long long>(1, options.delivery_timeout.count()))}};
  for (const auto& [name, value] : defaults) {
    if (configured = set(name, value, options.field + "." + name); !configured) break;
  }
  for (const auto& [name, value] : options.client) {
    if (!configured) break;
    const auto& forced = forced_properties();
    if (name == "bootstrap.servers" || name == "dr_msg_cb" ||
        std::any_of(forced.begin(), forced.end(), [&](const auto& f) { return f.first == name; })) {
      configured = Error{options.field + "." + name,
                         "is set by relanced (the idempotent producer and acks=all are what make "
                         "a publish safe to retry)"};
      break;
    }
    configured = set(name, value, options.field + "." + name);
  }
  if (configured) configured = set("bootstrap.servers", options.brokers, "kafka.brokers");
  for (const auto& [name, value] : forced_properties()) {
    if (!configured) break;
    configured = set(name, value, "kafka");
  }
  if (!configured) {
    rd_kafka_conf_destroy(conf);
    return configured.error();
  }
  rd_kafka_conf_set_log_cb(conf, log_callback);
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_error_cb(conf, [](rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    const bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
    if (fatal) static_cast<Impl*>(opaque)->fatal_seen = true;
    log::write(fatal ? log::Level::error : log::Level::warn, "kafka producer error",
               {{"client", rd_kafka_name(rk)},
                {"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
                {"detail", reason}});
  });
  rd_kafka_conf_set_dr_msg_cb(conf, &Impl::on_report);
  handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (handle == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka", std::string("cannot create the producer: ") + error};
  }
  return {};
}

void Producer::Impl::close_handle() {
  if (handle == nullptr) return;
  if (rd_kafka_flush(handle, int(options.delivery_timeout.count())) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  }
  rd_kafka_poll(handle, 0);  // the reports of what was purged: every Pending is freed
  rd_kafka_destroy(handle);
  handle = nullptr;
}

void Producer::Impl::replace_after_fatal(rd_kafka_t* broken) {
  std::unique_lock lock(handle_mutex);
  if (handle != broken) return;  // another thread replaced it already
  char reason[512];
  const rd_kafka_resp_err_t err = rd_kafka_fatal_error(handle, reason, sizeof reason);
  log::error("kafka producer hit a fatal error; replacing it",
             {{"error", rd_kafka_err2name(err)}, {"detail", reason}});
  // A fatal idempotent producer fails whatever it still holds: its reports free the Pendings.
  rd_kafka_purge(handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(handle, 0);
  rd_kafka_destroy(handle);
  handle = nullptr;
  fatal_seen = false;
  if (auto opened = open_handle(); !opened) {
    log::error("kafka producer could not be recreated", {{"reason", opened.error().to_string()}});
  }
}

void Producer::Impl::poll_loop() {
  while (!stopping) {
    rd_kafka_t* polled = nullptr;
    {
      std::shared_lock lock(handle_mutex);
      polled = handle;
      if (handle != nullptr) rd_kafka_poll(handle, int(poll_timeout.count()));
    }
    if (polled == nullptr) {
      std::this_thread::sleep_for(poll_timeout);
      std::unique_lock lock(handle_mutex);
      if (handle == nullptr) {
        if (auto opened = open_handle(); !opened) {
          log::error("kafka producer could not be recreated",
                     {{"reason", opened.error().to_string()}});
        }
      }
    } else if (fatal_seen) {
      replace_after_fatal(polled);
    }
  }
}

Result<std::unique_ptr<Producer>> Producer::create(ProducerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto opened = impl->open_handle(); !opened) return opened.error();
  impl->poller = std::thread([raw = impl.get()] { raw->poll_loop(); });
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;

void Producer::Impl::queue(const std::shared_ptr<Call>& call, std::span<const Record> records) {
  call->answers.resize(records.size());
  call->reported.assign(records.size(), false);
  {
    std::shared_lock lock(handle_mutex);
    for (std::size_t i = 0; i < records.size(); ++i) {
      if (handle == nullptr) {
        std::lock_guard call_lock(call->mutex);
        call->reported[i] = true;
        call->answers[i] = {Published::Outcome::transient, "the Kafka producer is being recreated"};
        continue;
      }
      const Record& record = records[i];
      rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
      for (const auto& [name, value] : record.headers) {
        rd_kafka_header_add(headers, name.data(), ssize_t(name.size()), value.data(),
                            ssize_t(value.size()));
      }
      auto* pending = new Pending{call, i};
      {
        std::lock_guard call_lock(call->mutex);
        ++call->waiting;
      }
      const void* key = record.key ? record.key->data() : nullptr;
      const std::size_t key_size = record.key ? record.key->size() : 0;
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          handle, RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_KEY(key, key_size),
          RD_KAFKA_V_VALUE(const_cast<char*>(record.value.data()), record.value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
          RD_KAFKA_V_OPAQUE(pending), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(headers);  // only a successful producev takes them
        delete pending;
        std::lock_guard call_lock(call->mutex);
        --call->waiting;
        call->reported[i] = true;
        call->answers[i] = {
            is_permanent(err) ? Published::Outcome::permanent : Published::Outcome::transient,
            describe(err)};
        if (err == RD_KAFKA_RESP_ERR__FATAL) fatal_seen = true;
      }
    }
  }
  std::unique_lock lock(call->mutex);
  call->queued_all = true;
  complete_if_done(*call, lock);
}

void Producer::publish_async(std::span<const Record> records,
                             std::function<void(std::vector<Published>)> done) {
  auto call = std::make_shared<Call>();
  call->on_done = std::move(done);
  impl_->queue(call, records);
}

std::vector<Published> Producer::publish(std::span<const Record> records) {
  auto call = std::make_shared<Call>();
  impl_->queue(call, records);
  // Every queued record gets its report within message.timeout.ms; the margin covers the report
  // itself. What is still unreported then is answered transient (and reported later to nobody).
  const auto deadline = SteadyClock::now() + impl_->options.delivery_timeout + report_margin;
  std::unique_lock lock(call->mutex);
  call->cv.wait_until(lock, deadline, [&] { return call->waiting == 0; });
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!call->reported[i]) {
      call->answers[i] = {Published::Outcome::transient,
                          "no acknowledgement from the brokers within " +
                              std::to_string(impl_->options.delivery_timeout.count()) + " ms"};
    }
  }
  return call->answers;
}

}  // namespace relance::connectors::kafka
