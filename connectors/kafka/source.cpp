#include "connectors/kafka/source.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>

#include "connectors/kafka/message.hpp"
#include "core/assert.hpp"
#include "log/log.hpp"

namespace relance::connectors::kafka {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using TopicPartition = std::pair<std::string, std::int32_t>;

// Headers the dead-letter copy carries besides the original ones.
constexpr const char* header_error = "relance.error";
constexpr const char* header_topic = "relance.source.topic";
constexpr const char* header_partition = "relance.source.partition";
constexpr const char* header_offset = "relance.source.offset";

constexpr milliseconds poll_timeout{100};
// While the batch in flight is being stored and the next one is full, wait this long for the
// commit before pausing: pausing drops what librdkafka prefetched, so it is kept for real stalls.
constexpr milliseconds stall_before_pause{500};
constexpr milliseconds backoff_min{10};
constexpr milliseconds backoff_max{1000};
constexpr milliseconds seek_timeout{5000};
constexpr milliseconds lag_update_interval{1000};

// Settings the design depends on: offsets live in the store, never in Kafka.
const std::vector<std::string>& reserved_properties() {
  static const std::vector<std::string> names = {
      "bootstrap.servers",   "group.id",  "enable.auto.commit", "enable.auto.offset.store",
      "enable.idempotence",  "dr_msg_cb", "rebalance_cb",       "offset_commit_cb",
      "enable.partition.eof"};
  return names;
}

struct DeadLetter {
  TopicPartition from;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  std::string error;
  enum class Status { in_flight, delivered, failed } status = Status::failed;
  std::string failure;
};

struct Range {
  std::int64_t first = 0;  // first offset of the partition in the batch
  std::int64_t next = 0;   // one past the last
};

struct Batch {
  std::vector<core::Event> events;
  std::vector<DeadLetter> dead_letters;
  std::map<TopicPartition, Range> ranges;
  std::size_t messages = 0;
  bool empty() const { return messages == 0; }
};

// Shared with the destination's callback, which may outlive the source.
struct Completion {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  Result<void> result;
  rd_kafka_queue_t* wake = nullptr;  // guarded by mutex; null once the consumer is gone
};

struct InFlight {
  std::map<TopicPartition, Range> ranges;
  std::size_t messages = 0;
  std::shared_ptr<Completion> completion;
};

log::Level log_level_of(int syslog_level) {
  if (syslog_level <= 3) return log::Level::error;
  if (syslog_level == 4) return log::Level::warn;
  if (syslog_level <= 6) return log::Level::info;
  return log::Level::debug;
}

void log_callback(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  log::write(log_level_of(level), "kafka client",
             {{"client", rd_kafka_name(rk)}, {"facility", facility}, {"detail", text}});
}

struct ListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
};
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;

PartitionList make_list(const std::vector<TopicPartition>& partitions) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& [topic, partition] : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition);
  }
  return list;
}

std::string error_text(rd_kafka_error_t* error) {
  std::string text = rd_kafka_error_string(error);
  rd_kafka_error_destroy(error);
  return text;
}

}  // namespace

struct KafkaSource::Impl {
  Impl(SourceOptions options_in, Destination& destination_in, metrics::Registry& registry_in)
      : options(std::move(options_in)),
        destination(destination_in),
        registry(registry_in),
        assigned_gauge(registry.gauge("relance_kafka_assigned_partitions",
                                      "Kafka partitions this daemon owns now.")),
        rebalances(registry.counter("relance_kafka_rebalances_total",
                                    "Partition assignments and revocations received.")),
        pauses(registry.counter("relance_kafka_pauses_total",
                                "Times consumption paused because the writer had no room.")),
        rewinds(registry.counter("relance_kafka_rewinds_total",
                                 "Batches read again: refused by a full writer queue, or not "
                                 "stored.")),
        store_failures(registry.counter("relance_kafka_store_failures_total",
                                        "Batches whose transaction failed.")) {
    for (const std::string& topic : options.topics) {
      topic_counters.emplace(
          topic, std::make_pair(
                     &registry.counter("relance_kafka_messages_total",
                                       "Kafka messages read, valid or not.", {{"topic", topic}}),
                     &registry.counter("relance_kafka_dead_letters_total",
                                       "Messages copied to the dead-letter topic "
                                       "because they are not valid events.",
                                       {{"topic", topic}})));
    }
  }

  ~Impl() {
    if (consumer_queue != nullptr) rd_kafka_queue_destroy(consumer_queue);
    if (consumer != nullptr) rd_kafka_destroy(consumer);
    if (producer != nullptr) rd_kafka_destroy(producer);
  }

  Result<void> create_clients();
  void run();

  // The consumer thread's steps.
  void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  void assign(rd_kafka_topic_partition_list_t* partitions, bool cooperative);
  void revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative);
  void track_assigned(const std::vector<TopicPartition>& added);
  void take(rd_kafka_message_t* message);
  void dead_letter(DeadLetter letter);
  void produce(std::size_t index);
  bool settle_dead_letters();
  void try_submit();
  bool absorb_completion();
  bool wait_completion(milliseconds limit);
  void discard_pending();
  void rewind(const std::map<TopicPartition, Range>& from);
  void set_paused(bool paused);
  void back_off();
  void drain(SteadyClock::time_point deadline);
  void update_lag();
  void on_delivery(const rd_kafka_message_t* message);

  const SourceOptions options;
  Destination& destination;
  metrics::Registry& registry;

  rd_kafka_t* consumer = nullptr;
  rd_kafka_t* producer = nullptr;
  rd_kafka_queue_t* consumer_queue = nullptr;

  std::thread thread;
  std::atomic<bool> stop_requested{false};
  std::atomic<std::size_t> assigned_count{0};
  std::atomic<std::uint64_t> stored_messages{0};

  // Consumer thread only, from here down.
  Batch pending;
  std::optional<InFlight> in_flight;
  std::set<TopicPartition> assignment;
  std::map<TopicPartition, std::int64_t> stored_next;  // last offsets the destination stored
  // Dead letters the brokers acknowledged, so that a batch read again does not send them twice.
  std::map<TopicPartition, std::int64_t> dead_lettered_through;
  bool paused = false;
  bool draining = false;             // a refused batch is dropped, not read again
  bool destination_stopped = false;  // the writer is shutting down: read nothing more
  milliseconds backoff = backoff_min;
  SteadyClock::time_point backoff_until{};
  SteadyClock::time_point lag_updated_at{};

  metrics::Gauge& assigned_gauge;
  metrics::Counter& rebalances;
  metrics::Counter& pauses;
  metrics::Counter& rewinds;
  metrics::Counter& store_failures;
  std::map<std::string, std::pair<metrics::Counter*, metrics::Counter*>> topic_counters;
  std::map<TopicPartition, metrics::Gauge*> lag_gauges;
};

namespace {

void error_callback(rd_kafka_t* rk, int err, const char* reason, void*) {
  const bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
  log::write(fatal ? log::Level::error : log::Level::warn, "kafka client error",
             {{"client", rd_kafka_name(rk)},
              {"error", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err))},
              {"detail", reason}});
}

Result<void> set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value,
                 const std::string& field) {
  char error[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof error) !=
      RD_KAFKA_CONF_OK) {
    return Error{field, error};
  }
  return {};
}

}  // namespace

Result<void> KafkaSource::Impl::create_clients() {
  for (const auto& [name, value] : options.client) {
    const auto& reserved = reserved_properties();
    if (std::find(reserved.begin(), reserved.end(), name) != reserved.end()) {
      return Error{"kafka.client." + name,
                   "is set by relanced (offsets are stored with the state; brokers and group "
                   "come from kafka.brokers and kafka.group_id)"};
    }
  }
  auto configure =
      [&](rd_kafka_conf_t* conf, const std::vector<std::pair<std::string, std::string>>& defaults,
          const std::vector<std::pair<std::string, std::string>>& forced) -> Result<void> {
    rd_kafka_conf_set_opaque(conf, this);
    rd_kafka_conf_set_log_cb(conf, log_callback);
    rd_kafka_conf_set_error_cb(conf, error_callback);
    for (const auto& [name, value] : defaults) {
      if (auto ok = set(conf, name, value, "kafka"); !ok) return ok;
    }
    for (const auto& [name, value] : options.client) {
      if (auto ok = set(conf, name, value, "kafka.client." + name); !ok) return ok;
    }
    for (const auto& [name, value] : forced) {
      if (auto ok = set(conf, name, value, "kafka"); !ok) return ok;
    }
    return {};
  };
  char error[512];

  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto configured = configure(conf, {{"auto.offset.reset", "earliest"}, {"client.id", "relanced"}},
                              {{"bootstrap.servers", options.brokers},
                               {"group.id", options.group_id},
                               {"enable.auto.commit", "false"},
                               {"enable.auto.offset.store", "false"},
                               {"enable.partition.eof", "false"}});
  if (!configured) {
    rd_kafka_conf_destroy(conf);
    return configured.error();
  }
  rd_kafka_conf_set_rebalance_cb(
      conf, [](rd_kafka_t*, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions,
               void* opaque) { static_cast<Impl*>(opaque)->on_rebalance(err, partitions); });
  consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (consumer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka", std::string("cannot create the consumer: ") + error};
  }
  // Errors, logs and rebalances all come through rd_kafka_consumer_poll().
  rd_kafka_poll_set_consumer(consumer);
  consumer_queue = rd_kafka_queue_get_consumer(consumer);

  conf = rd_kafka_conf_new();
  configured = configure(
      conf, {{"client.id", "relanced-dead-letters"}, {"linger.ms", "5"}},
      {{"bootstrap.servers", options.brokers}, {"enable.idempotence", "true"}, {"acks", "all"}});
  if (!configured) {
    rd_kafka_conf_destroy(conf);
    return configured.error();
  }
  rd_kafka_conf_set_dr_msg_cb(conf,
                              [](rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
                                static_cast<Impl*>(opaque)->on_delivery(message);
                              });
  producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (producer == nullptr) {
    rd_kafka_conf_destroy(conf);
    return Error{"kafka", std::string("cannot create the dead-letter producer: ") + error};
  }

  PartitionList topics(rd_kafka_topic_partition_list_new(static_cast<int>(options.topics.size())));
  for (const std::string& topic : options.topics) {
    rd_kafka_topic_partition_list_add(topics.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  if (const rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer, topics.get())) {
    return Error{"kafka.topics", std::string("cannot subscribe: ") + rd_kafka_err2str(err)};
  }
  return {};
}

void KafkaSource::Impl::run() {
  while (!stop_requested.load()) {
    absorb_completion();
    try_submit();
    const auto now = SteadyClock::now();
    const bool full = pending.messages >= options.batch_messages_max;
    if (full && in_flight && !paused && wait_completion(stall_before_pause)) continue;
    set_paused(destination_stopped || full || now < backoff_until);

    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, int(poll_timeout.count()));
    while (message != nullptr) {
      take(message);
      rd_kafka_message_destroy(message);
      if (pending.messages >= options.batch_messages_max || stop_requested.load()) break;
      message = rd_kafka_consumer_poll(consumer, 0);
    }
    rd_kafka_poll(producer, 0);
    if (SteadyClock::now() - lag_updated_at >= lag_update_interval) update_lag();
  }
  drain(SteadyClock::now() + options.drain_timeout);
  // Leaving the group runs the revocation (nothing left to store) and lets others take over now
  // rather than after the session timeout.
  if (const rd_kafka_resp_err_t err = rd_kafka_consumer_close(consumer)) {
    log::warn("kafka consumer did not leave its group cleanly", {{"error", rd_kafka_err2str(err)}});
  }
  discard_pending();
}

void KafkaSource::Impl::on_rebalance(rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t* partitions) {
  rebalances.inc();
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(consumer), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    assign(partitions, cooperative);
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    revoke(partitions, cooperative);
  } else {
    log::error("kafka rebalance failed; letting every partition go",
               {{"error", rd_kafka_err2str(err)}});
    drain(SteadyClock::now() + options.drain_timeout);
    discard_pending();
    rd_kafka_assign(consumer, nullptr);
    assignment.clear();
    assigned_count.store(0);
    assigned_gauge.set(0);
  }
}

void KafkaSource::Impl::assign(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
  // Start each partition where the store says its last batch ended. The store is asked once per
  // topic; if it does not answer, keep asking: starting anywhere else would skip or repeat.
  std::map<std::string, std::vector<PartitionOffset>> stored;
  for (int i = 0; i < partitions->cnt; ++i) {
    const std::string topic = partitions->elems[i].topic;
    if (stored.contains(topic)) continue;
    while (true) {
      Result<std::vector<PartitionOffset>> offsets = destination.stored_offsets(topic);
      if (offsets) {
        stored.emplace(topic, std::move(offsets).value());
        break;
      }
      log::error("kafka: cannot read the stored offsets; trying again",
                 {{"topic", topic}, {"reason", offsets.error().to_string()}});
      if (stop_requested.load()) return;
      std::this_thread::sleep_for(backoff_max);
    }
  }
  std::vector<TopicPartition> added;
  for (int i = 0; i < partitions->cnt; ++i) {
    rd_kafka_topic_partition_t& element = partitions->elems[i];
    const std::vector<PartitionOffset>& known = stored[element.topic];
    const auto found = std::find_if(known.begin(), known.end(), [&](const PartitionOffset& o) {
      return o.partition == element.partition;
    });
    element.offset = found != known.end() ? found->offset : RD_KAFKA_OFFSET_BEGINNING;
    TopicPartition tp{element.topic, element.partition};
    if (found != known.end()) {
      stored_next[tp] = found->offset;
    } else {
      stored_next.erase(tp);
    }
    added.push_back(tp);
  }
  rd_kafka_error_t* error = nullptr;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (cooperative) {
    error = rd_kafka_incremental_assign(consumer, partitions);
  } else {
    err = rd_kafka_assign(consumer, partitions);
  }
  if (error != nullptr || err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log::error("kafka: assignment failed",
               {{"reason", error != nullptr ? error_text(error) : rd_kafka_err2str(err)}});
    return;
  }
  for (const TopicPartition& tp : added) {
    assignment.insert(tp);
    if (!lag_gauges.contains(tp)) {
      lag_gauges.emplace(
          tp, &registry.gauge("relance_kafka_consumer_lag_messages",
                              "Messages in a partition after the last offset stored with the "
                              "state (0 while the partition is not owned by this daemon).",
                              {{"topic", tp.first}, {"partition", std::to_string(tp.second)}}));
    }
  }
  // Newly assigned partitions start unpaused; keep them in step with the others.
  if (paused) rd_kafka_pause_partitions(consumer, make_list(added).get());
  track_assigned(added);
  assigned_count.store(assignment.size());
  assigned_gauge.set(static_cast<double>(assignment.size()));
  log::info("kafka partitions assigned",
            {{"count", added.size()}, {"owned", assignment.size()}, {"group", options.group_id}});
  update_lag();
}

void KafkaSource::Impl::track_assigned(const std::vector<TopicPartition>& added) {
  std::set<std::int32_t> owned;
  for (const auto& [topic, partition] : added) {
    if (topic == options.topics.front()) owned.insert(partition);
  }
  if (owned.empty()) return;
  // The daemon's refresh reads the Ownership: it learns the new partitions first.
  struct Notify {
    const SourceOptions& options;
    const std::set<std::int32_t>& owned;
    ~Notify() {
      if (options.on_assigned) options.on_assigned(owned);
    }
  } notify{options, owned};
  if (!options.ownership) return;
  // The partition count decides which customers the partitions hold; the assignment came from
  // metadata the client has, so this is answered locally in the common case.
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer, options.topics.front().c_str(), nullptr);
  const rd_kafka_resp_err_t err =
      rd_kafka_metadata(consumer, 0, topic, &metadata, int(seek_timeout.count()));
  rd_kafka_topic_destroy(topic);
  std::int32_t count = 0;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && metadata->topic_cnt == 1) {
    count = metadata->topics[0].partition_cnt;
  }
  if (metadata != nullptr) rd_kafka_metadata_destroy(metadata);
  if (count <= 0) {
    // Without the count no customer can be placed: own none rather than guess.
    log::error(
        "kafka: cannot read the partition count; acting for no customer of these "
        "partitions until the next assignment",
        {{"topic", options.topics.front()}, {"reason", rd_kafka_err2str(err)}});
    return;
  }
  options.ownership->assigned(count, owned);
}

void KafkaSource::Impl::revoke(rd_kafka_topic_partition_list_t* partitions, bool cooperative) {
  // Store what was read from these partitions before letting them go, so that their new owner
  // starts exactly after it.
  drain(SteadyClock::now() + options.drain_timeout);
  discard_pending();
  if (cooperative) {
    if (rd_kafka_error_t* error = rd_kafka_incremental_unassign(consumer, partitions)) {
      log::error("kafka: unassignment failed", {{"reason", error_text(error)}});
    }
  } else {
    rd_kafka_assign(consumer, nullptr);
  }
  for (int i = 0; i < partitions->cnt; ++i) {
    TopicPartition tp{partitions->elems[i].topic, partitions->elems[i].partition};
    assignment.erase(tp);
    dead_lettered_through.erase(tp);
    if (auto gauge = lag_gauges.find(tp); gauge != lag_gauges.end()) gauge->second->set(0);
  }
  if (options.ownership) {
    // What was read from them is stored (drain above): their customers go to the next owner.
    std::set<std::int32_t> gone;
    for (int i = 0; i < partitions->cnt; ++i) {
      if (partitions->elems[i].topic == options.topics.front()) {
        gone.insert(partitions->elems[i].partition);
      }
    }
    if (!cooperative) gone = options.ownership->partitions();
    options.ownership->revoked(gone);
    if (options.on_revoked && !gone.empty()) options.on_revoked(gone);
  }
  if (!cooperative) assignment.clear();
  assigned_count.store(assignment.size());
  assigned_gauge.set(static_cast<double>(assignment.size()));
  log::info(
      "kafka partitions revoked",
      {{"count", partitions->cnt}, {"owned", assignment.size()}, {"group", options.group_id}});
}

void KafkaSource::Impl::take(rd_kafka_message_t* message) {
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    log::warn("kafka consumer error", {{"error", rd_kafka_err2name(message->err)},
                                       {"detail", rd_kafka_message_errstr(message)}});
    return;
  }
  TopicPartition tp{rd_kafka_topic_name(message->rkt), message->partition};
  if (!assignment.contains(tp)) return;  // fetched before a revocation: its new owner reads it
  auto [range, inserted] = pending.ranges.try_emplace(tp, Range{message->offset, 0});
  range->second.next = std::max(range->second.next, message->offset + 1);
  ++pending.messages;
  if (auto counters = topic_counters.find(tp.first); counters != topic_counters.end()) {
    counters->second.first->inc();
  }

  std::vector<HeaderView> headers;
  rd_kafka_headers_t* kafka_headers = nullptr;
  if (rd_kafka_message_headers(message, &kafka_headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; rd_kafka_header_get_all(kafka_headers, i, &name, &value, &size) ==
                            RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      headers.push_back({name, value == nullptr ? std::nullopt
                                                : std::optional<std::string_view>(std::string_view(
                                                      static_cast<const char*>(value), size))});
    }
  }
  const std::string_view value(static_cast<const char*>(message->payload),
                               message->payload == nullptr ? 0 : message->len);
  Result<core::Event> event = event_from_message(value, headers);
  if (event) {
    pending.events.push_back(std::move(event).value());
    return;
  }
  if (auto through = dead_lettered_through.find(tp);
      through != dead_lettered_through.end() && message->offset <= through->second) {
    return;  // read again after a rewind; its copy is already in the dead-letter topic
  }
  DeadLetter letter;
  letter.from = tp;
  letter.offset = message->offset;
  if (message->key != nullptr) {
    letter.key.emplace(static_cast<const char*>(message->key), message->key_len);
  }
  if (message->payload != nullptr) letter.value.emplace(value);
  for (const HeaderView& header : headers) {
    letter.headers.emplace_back(
        std::string(header.name),
        header.value ? std::optional<std::string>(*header.value) : std::nullopt);
  }
  letter.error = event.error().to_string();
  log::warn("kafka message is not a valid event; sending it to the dead-letter topic",
            {{"topic", tp.first},
             {"partition", tp.second},
             {"offset", message->offset},
             {"reason", letter.error}});
  dead_letter(std::move(letter));
}

void KafkaSource::Impl::dead_letter(DeadLetter letter) {
  pending.dead_letters.push_back(std::move(letter));
  produce(pending.dead_letters.size() - 1);
}

void KafkaSource::Impl::produce(std::size_t index) {
  DeadLetter& letter = pending.dead_letters[index];
  rd_kafka_headers_t* headers = rd_kafka_headers_new(letter.headers.size() + 4);
  for (const auto& [name, value] : letter.headers) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()),
                        value ? value->data() : nullptr,
                        value ? static_cast<ssize_t>(value->size()) : 0);
  }
  const std::string partition = std::to_string(letter.from.second);
  const std::string offset = std::to_string(letter.offset);
  rd_kafka_header_add(headers, header_error, -1, letter.error.data(),
                      static_cast<ssize_t>(letter.error.size()));
  rd_kafka_header_add(headers, header_topic, -1, letter.from.first.data(),
                      static_cast<ssize_t>(letter.from.first.size()));
  rd_kafka_header_add(headers, header_partition, -1, partition.data(),
                      static_cast<ssize_t>(partition.size()));
  rd_kafka_header_add(headers, header_offset, -1, offset.data(),
                      static_cast<ssize_t>(offset.size()));
  // Locals, not expressions: the RD_KAFKA_V_* macros cast their arguments without parentheses.
  const void* key = letter.key ? letter.key->data() : nullptr;
  const std::size_t key_size = letter.key ? letter.key->size() : 0;
  void* value = letter.value ? letter.value->data() : nullptr;
  const std::size_t value_size = letter.value ? letter.value->size() : 0;
  void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(index));
  const rd_kafka_resp_err_t err =
      rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(options.dead_letter_topic.c_str()),
                        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, key_size),
                        RD_KAFKA_V_VALUE(value, value_size), RD_KAFKA_V_HEADERS(headers),
                        RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_headers_destroy(headers);  // only a successful producev takes them
    letter.status = DeadLetter::Status::failed;
    letter.failure = rd_kafka_err2str(err);
    return;
  }
  letter.status = DeadLetter::Status::in_flight;
}

void KafkaSource::Impl::on_delivery(const rd_kafka_message_t* message) {
  // Delivery reports are served by rd_kafka_poll/flush on the consumer thread, while the batch
  // the index points into is still `pending` (it is flushed before it is handed over or dropped).
  const auto index = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(message->_private));
  RELANCE_ASSERT(index < pending.dead_letters.size());
  DeadLetter& letter = pending.dead_letters[index];
  if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    letter.status = DeadLetter::Status::failed;
    letter.failure = rd_kafka_err2str(message->err);
    return;
  }
  letter.status = DeadLetter::Status::delivered;
  std::int64_t& through = dead_lettered_through[letter.from];
  through = std::max(through, letter.offset);
  if (auto counters = topic_counters.find(letter.from.first); counters != topic_counters.end()) {
    counters->second.second->inc();
  }
}

bool KafkaSource::Impl::settle_dead_letters() {
  // A dead letter must be in its topic before the offset that skips it is stored.
  if (pending.dead_letters.empty()) return true;
  rd_kafka_flush(producer, int(options.dead_letter_timeout.count()));
  bool settled = true;
  for (std::size_t i = 0; i < pending.dead_letters.size(); ++i) {
    DeadLetter& letter = pending.dead_letters[i];
    if (letter.status == DeadLetter::Status::delivered) continue;
    settled = false;
    if (letter.status == DeadLetter::Status::failed) {
      log::error("kafka: the dead-letter topic did not take a message; trying again",
                 {{"topic", options.dead_letter_topic},
                  {"from_topic", letter.from.first},
                  {"from_partition", letter.from.second},
                  {"from_offset", letter.offset},
                  {"reason", letter.failure}});
      produce(i);
    }
  }
  return settled;
}

void KafkaSource::Impl::try_submit() {
  if (pending.empty() || in_flight || SteadyClock::now() < backoff_until) return;
  if (!settle_dead_letters()) {
    back_off();
    return;
  }
  std::vector<PartitionOffset> offsets;
  offsets.reserve(pending.ranges.size());
  for (const auto& [tp, range] : pending.ranges) {
    offsets.push_back({tp.first, tp.second, range.next});
  }
  auto completion = std::make_shared<Completion>();
  completion->wake = consumer_queue;
  const Admission admission = destination.submit(std::move(pending.events), std::move(offsets),
                                                 [completion](Result<void> result) {
                                                   std::lock_guard lock(completion->mutex);
                                                   completion->done = true;
                                                   completion->result = std::move(result);
                                                   if (completion->wake != nullptr)
                                                     rd_kafka_queue_yield(completion->wake);
                                                   completion->cv.notify_all();
                                                 });
  switch (admission) {
    case Admission::queued:
      in_flight = InFlight{std::move(pending.ranges), pending.messages, std::move(completion)};
      pending = Batch{};
      return;
    case Admission::queue_full:
      // The refused events are gone with the request: read the batch again once there is room
      // (its dead letters are not sent twice: dead_lettered_through).
      pauses.inc();
      if (draining) {
        pending = Batch{};
        return;
      }
      rewinds.inc();
      back_off();
      rewind(pending.ranges);
      pending = Batch{};
      return;
    case Admission::stopped:
      // Shutting down: what was not stored is read again at the next start.
      if (!destination_stopped) log::info("kafka: the writer is stopping; consumption stops");
      destination_stopped = true;
      pending = Batch{};
      return;
  }
}

bool KafkaSource::Impl::absorb_completion() {
  if (!in_flight) return false;
  Completion& completion = *in_flight->completion;
  Result<void> result;
  {
    std::lock_guard lock(completion.mutex);
    if (!completion.done) return false;
    result = completion.result;
  }
  InFlight done = std::move(*in_flight);
  in_flight.reset();
  if (result) {
    stored_messages.fetch_add(done.messages);
    for (const auto& [tp, range] : done.ranges) stored_next[tp] = range.next;
    backoff = backoff_min;
    return true;
  }
  // Nothing of the batch is stored: read it again (what comes after it too), after a pause so
  // that a broken store is not hammered.
  store_failures.inc();
  rewinds.inc();
  log::error("kafka: a batch could not be stored; reading it again",
             {{"messages", done.messages}, {"reason", result.error().to_string()}});
  for (const auto& [tp, range] : pending.ranges) done.ranges.try_emplace(tp, range);
  discard_pending();
  back_off();
  rewind(done.ranges);
  return true;
}

bool KafkaSource::Impl::wait_completion(milliseconds limit) {
  if (!in_flight) return false;
  {
    Completion& completion = *in_flight->completion;
    std::unique_lock lock(completion.mutex);
    if (!completion.cv.wait_for(lock, limit, [&] { return completion.done; })) return false;
  }
  return absorb_completion();
}

void KafkaSource::Impl::discard_pending() {
  // Outstanding dead letters still point into `pending`: let their reports arrive first.
  if (!pending.dead_letters.empty()) {
    if (rd_kafka_flush(producer, int(options.dead_letter_timeout.count())) ==
        RD_KAFKA_RESP_ERR__TIMED_OUT) {
      // Their reports would land in the next batch: cancel them and take the reports now.
      rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(producer, 0);
    }
  }
  pending = Batch{};
}

void KafkaSource::Impl::rewind(const std::map<TopicPartition, Range>& from) {
  std::vector<TopicPartition> owned;
  for (const auto& [tp, range] : from) {
    if (assignment.contains(tp)) owned.push_back(tp);
  }
  if (owned.empty()) return;
  PartitionList list = make_list(owned);
  for (int i = 0; i < list->cnt; ++i) {
    list->elems[i].offset =
        from.at(TopicPartition{list->elems[i].topic, list->elems[i].partition}).first;
  }
  if (rd_kafka_error_t* error =
          rd_kafka_seek_partitions(consumer, list.get(), int(seek_timeout.count()))) {
    log::error("kafka: cannot seek back to a batch that was not stored",
               {{"reason", error_text(error)}});
    return;
  }
  for (int i = 0; i < list->cnt; ++i) {
    if (list->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log::error("kafka: cannot seek back to a batch that was not stored",
                 {{"topic", list->elems[i].topic},
                  {"partition", list->elems[i].partition},
                  {"reason", rd_kafka_err2str(list->elems[i].err)}});
    }
  }
}

void KafkaSource::Impl::set_paused(bool wanted) {
  if (wanted == paused || assignment.empty()) {
    paused = wanted;
    return;
  }
  PartitionList list = make_list({assignment.begin(), assignment.end()});
  if (wanted) {
    rd_kafka_pause_partitions(consumer, list.get());
  } else {
    rd_kafka_resume_partitions(consumer, list.get());
  }
  paused = wanted;
}

void KafkaSource::Impl::back_off() {
  backoff_until = SteadyClock::now() + backoff;
  backoff = std::min(backoff * 2, backoff_max);
  set_paused(true);
}

void KafkaSource::Impl::drain(SteadyClock::time_point deadline) {
  draining = true;
  while (SteadyClock::now() < deadline) {
    absorb_completion();
    if (in_flight) {
      wait_completion(std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now()));
      continue;
    }
    if (pending.empty() || destination_stopped) break;
    backoff_until = {};
    try_submit();
    if (!in_flight && !pending.empty()) std::this_thread::sleep_for(backoff_min);
  }
  if (in_flight) {
    log::warn(
        "kafka: a batch was still being stored when its partitions were let go; its "
        "messages may be read again (the journal drops the repeats)",
        {{"messages", in_flight->messages}});
    std::lock_guard lock(in_flight->completion->mutex);
    in_flight->completion->wake = nullptr;
  }
  in_flight.reset();
  draining = false;
}

void KafkaSource::Impl::update_lag() {
  lag_updated_at = SteadyClock::now();
  for (const TopicPartition& tp : assignment) {
    std::int64_t low = -1;
    std::int64_t high = -1;
    if (rd_kafka_get_watermark_offsets(consumer, tp.first.c_str(), tp.second, &low, &high) !=
            RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;  // not fetched yet: unknown
    }
    const auto stored = stored_next.find(tp);
    const std::int64_t from =
        stored != stored_next.end() ? stored->second : std::max<std::int64_t>(low, 0);
    lag_gauges.at(tp)->set(static_cast<double>(std::max<std::int64_t>(high - from, 0)));
  }
}

Result<std::unique_ptr<KafkaSource>> KafkaSource::start(SourceOptions options,
                                                        Destination& destination,
                                                        metrics::Registry& metrics) {
  if (options.topics.empty()) return Error{"kafka.topics", "no topic to consume"};
  if (options.dead_letter_topic.empty()) {
    return Error{"kafka.dead_letter_topic", "is needed: invalid messages go there"};
  }
  RELANCE_ASSERT(options.batch_messages_max >= 1);
  auto impl = std::make_unique<Impl>(std::move(options), destination, metrics);
  if (auto created = impl->create_clients(); !created) return created.error();
  impl->thread = std::thread([raw = impl.get()] { raw->run(); });
  log::info("kafka source started", {{"brokers", impl->options.brokers},
                                     {"group", impl->options.group_id},
                                     {"topics", impl->options.topics.size()},
                                     {"dead_letter_topic", impl->options.dead_letter_topic}});
  return std::unique_ptr<KafkaSource>(new KafkaSource(std::move(impl)));
}

KafkaSource::KafkaSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

KafkaSource::~KafkaSource() { stop(); }

std::size_t KafkaSource::assigned_partitions() const { return impl_->assigned_count.load(); }

std::uint64_t KafkaSource::messages_stored() const { return impl_->stored_messages.load(); }

void KafkaSource::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->stop_requested.store(true);
  rd_kafka_queue_yield(impl_->consumer_queue);
  impl_->thread.join();
  impl_->assigned_count.store(0);
}

}  // namespace relance::connectors::kafka
