// Kafka -> store end to end, against a bare librdkafka consumer draining the same topic.
//
//   kafka_store_bench [--events N] [--partitions N] [--backend sqlite|postgres|both]
//                     [--batch-messages-max N] [--dir PATH]
//
// A mock cluster (librdkafka's, 3 brokers, real Kafka protocol on loopback) is started in this
// process; N canonical invoice.issued events of ~330 bytes (bench/ingest/event_text.hpp, keyed
// by customer) are produced to a topic of --partitions partitions. Then, each in its own
// consumer group reading the topic from the beginning:
//   (i)  a bare librdkafka consumer: poll, touch the payload, nothing else (the baseline);
//   (ii) relanced's pipeline: KafkaSource -> Writer -> EngineApplier into a fresh SQLite file
//        (WAL, synchronous=FULL, under --dir) and/or a throwaway PostgreSQL cluster.
// Rates are those of the steady state: from the moment a third of the events are read (i) or
// stored (ii) to the last one, over the events in between. The consumer group's join, its first
// batches and the rebalance that sometimes follows the first one (a pause of 0.3-0.5 s) are
// printed apart: a fixed cost, not a rate. The figure is (ii)/(i).
// librdkafka's mock brokers keep about 5 MB per partition (older segments are dropped), so N
// stays under ~15,000 events per partition (--events 60000 with 6 partitions).

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "bench/ingest/event_text.hpp"
#include "connectors/kafka/source.hpp"
#include "connectors/kafka/writer_destination.hpp"
#include "ingest/writer.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "state/engine_applier.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "tests/integration/servers/postgres_cluster.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using relance::Result;

const std::string topic = "relance.bench";

struct Options {
  std::size_t events = 200'000;
  int partitions = 6;
  std::string backend = "both";
  std::size_t batch_messages_max = 10000;
  // PostgreSQL's own view of the run: pg_stat_statements (a server restart) and pg_stat_wal.
  bool pg_profile = false;
  std::string dir = std::filesystem::current_path().string();
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: kafka_store_bench [--events N] [--partitions N] "
               "[--backend sqlite|postgres|both]\n"
               "                         [--batch-messages-max N] [--dir PATH] [--pg-profile 1]\n"
               "--dir must be on a real disk (not tmpfs): SQLite commits fsync.\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help") usage(0);
    if (i + 1 >= argc) usage(64);
    const std::string value = argv[++i];
    if (arg == "--dir") {
      options.dir = value;
    } else if (arg == "--backend") {
      if (value != "sqlite" && value != "postgres" && value != "both") usage(64);
      options.backend = value;
    } else {
      char* end = nullptr;
      const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
      if (*end != '\0' || number == 0) usage(64);
      if (arg == "--events") {
        options.events = number;
      } else if (arg == "--partitions") {
        options.partitions = int(number);
      } else if (arg == "--batch-messages-max") {
        options.batch_messages_max = number;
      } else if (arg == "--pg-profile") {
        options.pg_profile = true;
      } else {
        usage(64);
      }
    }
  }
  return options;
}

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "kafka_store_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string pg(relance::testing::PostgresCluster& cluster, const std::string& database,
               const std::string& sql) {
  auto answer = cluster.query(database, sql);
  if (!answer) fail("postgres profile: " + answer.error().to_string());
  return *answer;
}

// pg_stat_statements must be loaded at server start: one restart before the store opens.
void enable_pg_profile(relance::testing::PostgresCluster& cluster, const std::string& database) {
  pg(cluster, "postgres", "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
  pg(cluster, "postgres", "ALTER SYSTEM SET track_wal_io_timing = on");
  if (auto stopped = cluster.stop_server(); !stopped) fail(stopped.error().to_string());
  if (auto started = cluster.start_server(); !started) fail(started.error().to_string());
  // In a schema of its own: the store refuses a schema holding tables it did not create.
  pg(cluster, database, "CREATE SCHEMA profile");
  pg(cluster, database, "CREATE EXTENSION pg_stat_statements SCHEMA profile");
  pg(cluster, database, "SELECT profile.pg_stat_statements_reset()");
  pg(cluster, database, "SELECT pg_stat_reset_shared('wal')");
}

void print_pg_profile(relance::testing::PostgresCluster& cluster, const std::string& database) {
  std::printf("     server, top statements by total time (calls, total ms, rows):\n%s\n",
              pg(cluster, database,
                 "SELECT string_agg(format('     %8s %9s %8s  %s', calls, round(total_exec_time),"
                 " rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 90)), E'\\n' ORDER BY "
                 "total_exec_time DESC) FROM (SELECT * FROM profile.pg_stat_statements ORDER BY "
                 "total_exec_time DESC LIMIT 12) s")
                  .c_str());
  std::printf("     server WAL: %s\n",
              pg(cluster, database,
                 "SELECT format('%s records, %s bytes, %s full-page images, %s writes, %s syncs, "
                 "%s ms sync', wal_records, wal_bytes, wal_fpi, wal_write, wal_sync, "
                 "round(wal_sync_time)) FROM pg_stat_wal")
                  .c_str());
  std::printf("     state rows: %s\n",
              pg(cluster, database,
                 "SELECT string_agg(format('%s %s (avg %s bytes)', kind, n, size), ', ') FROM "
                 "(SELECT kind, count(*) n, round(avg(pg_column_size(s.*))) size FROM state s "
                 "GROUP BY kind ORDER BY kind) k")
                  .c_str());
  std::printf("     server commits: %s\n",
              pg(cluster, database,
                 "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
                  .c_str());
}

void set(rd_kafka_conf_t* conf, const char* name, const std::string& value) {
  char error[512];
  if (rd_kafka_conf_set(conf, name, value.c_str(), error, sizeof error) != RD_KAFKA_CONF_OK) {
    fail(std::string(name) + ": " + error);
  }
}

void produce_all(const std::string& bootstrap, std::size_t events) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "enable.idempotence", "true");
  set(conf, "linger.ms", "20");
  set(conf, "batch.num.messages", "10000");
  set(conf, "queue.buffering.max.messages", "1000000");
  set(conf, "partitioner", "murmur2_random");
  char error[512];
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (producer == nullptr) fail(std::string("producer: ") + error);
  std::string value;
  for (std::size_t n = 0; n < events; ++n) {
    value.clear();
    const std::string id = relance::bench::event_id("kafka", n);
    relance::bench::append_invoice_event(value, id, n);
    const std::string key = "CUST-" + std::to_string(n % 5000);
    for (;;) {
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
        fail(std::string("produce: ") + rd_kafka_err2str(err));
      rd_kafka_poll(producer, 10);
    }
    rd_kafka_poll(producer, 0);
  }
  if (rd_kafka_flush(producer, 120'000) != RD_KAFKA_RESP_ERR_NO_ERROR) fail("flush timed out");
  rd_kafka_destroy(producer);
}

// The steady state starts with this many events handed over (see the top).
std::size_t steady_from(std::size_t events) { return std::max<std::size_t>(1, events / 3); }

struct Measure {
  double join_seconds = 0;  // subscribe -> start of the steady state
  double run_seconds = 0;   // start of the steady state -> last event
  std::size_t messages = 0;
  double rate() const { return run_seconds > 0 ? double(messages) / run_seconds : 0; }
};

// (i): a consumer in its own group that only polls and touches the payloads.
Measure bare_consumer(const std::string& bootstrap, std::size_t events) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "bootstrap.servers", bootstrap);
  set(conf, "group.id", "bench-bare");
  set(conf, "auto.offset.reset", "earliest");
  set(conf, "enable.auto.commit", "false");
  char error[512];
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, error, sizeof error);
  if (consumer == nullptr) fail(std::string("consumer: ") + error);
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  const auto subscribed = Clock::now();
  rd_kafka_subscribe(consumer, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  Clock::time_point first;
  std::size_t read = 0;
  std::uint64_t checksum = 0;
  const auto give_up = Clock::now() + std::chrono::minutes(10);
  while (read < events && Clock::now() < give_up) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
    if (message == nullptr) continue;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (++read == steady_from(events)) first = Clock::now();
      checksum += static_cast<const unsigned char*>(message->payload)[message->len / 2];
    }
    rd_kafka_message_destroy(message);
  }
  const auto last = Clock::now();
  if (read < events) {
    fail("the bare consumer read " + std::to_string(read) + " of " + std::to_string(events) +
         " messages (the mock keeps about 5 MB per partition)");
  }
  Measure measure;
  measure.messages = events - steady_from(events);
  measure.join_seconds = std::chrono::duration<double>(first - subscribed).count();
  measure.run_seconds = std::chrono::duration<double>(last - first).count();
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  if (checksum == 0) fail("empty payloads");
  return measure;
}

// (ii): the daemon's pipeline into `store`.
Measure pipeline(const std::string& bootstrap, const Options& options, relance::store::Store& store,
                 const std::string& group) {
  relance::metrics::Registry registry;
  auto engine = relance::state::EngineApplier::open(store, {});
  if (!engine) fail("engine: " + engine.error().to_string());
  relance::ingest::Writer writer(store, relance::ingest::WriterLimits{}, registry, nullptr,
                                 engine->get());
  relance::connectors::kafka::WriterDestination destination(writer, store);
  relance::connectors::kafka::SourceOptions source_options;
  source_options.brokers = bootstrap;
  source_options.group_id = group;
  source_options.topics = {topic};
  source_options.dead_letter_topic = topic + ".dead";
  source_options.batch_messages_max = options.batch_messages_max;
  const auto subscribed = Clock::now();
  auto source =
      relance::connectors::kafka::KafkaSource::start(source_options, destination, registry);
  if (!source) fail("source: " + source.error().to_string());
  Measure measure;
  Clock::time_point first;
  std::uint64_t stored_before_first = 0;
  bool started = false;
  const auto give_up = Clock::now() + std::chrono::minutes(30);
  for (;;) {
    const std::uint64_t stored = (*source)->messages_stored();
    if (!started && stored >= steady_from(options.events)) {
      started = true;
      first = Clock::now();
      stored_before_first = stored;
    }
    if (stored >= options.events || Clock::now() > give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const auto last = Clock::now();
  const std::uint64_t stored = (*source)->messages_stored();
  (*source)->stop();
  writer.stop();
  if (stored < options.events) fail("the pipeline did not store every message");
  auto journal = store.journal_size();
  if (!journal || std::size_t(*journal) != options.events) {
    fail("the journal holds " + (journal ? std::to_string(*journal) : journal.error().to_string()) +
         " events, not " + std::to_string(options.events));
  }
  // The batch that crossed the third was read and written before `first`: the rate counts the
  // messages stored after it.
  measure.messages = stored - stored_before_first;
  measure.join_seconds = std::chrono::duration<double>(first - subscribed).count();
  measure.run_seconds = std::chrono::duration<double>(last - first).count();
  return measure;
}

void print(const char* what, const Measure& measure) {
  std::printf("%-34s %10.0f events/s  (%zu events in %.2f s; join + first third %.2f s)\n", what,
              measure.rate(), measure.messages, measure.run_seconds, measure.join_seconds);
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  relance::log::set_level(relance::log::Level::warn);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  set(conf, "log_level", "3");
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (host == nullptr) fail(std::string("mock host: ") + error);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, 3);
  if (cluster == nullptr) fail("rd_kafka_mock_cluster_new failed");
  if (rd_kafka_mock_topic_create(cluster, topic.c_str(), options.partitions, 3) ||
      rd_kafka_mock_topic_create(cluster, (topic + ".dead").c_str(), 1, 3)) {
    fail("cannot create the topics");
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);

  const auto produce_start = Clock::now();
  produce_all(bootstrap, options.events);
  std::printf("produced %zu events (~330 bytes, 5,000 customers) to %d partitions in %.2f s\n",
              options.events, options.partitions,
              std::chrono::duration<double>(Clock::now() - produce_start).count());

  const Measure bare = bare_consumer(bootstrap, options.events);
  print("(i)  bare librdkafka consumer", bare);

  if (options.backend == "sqlite" || options.backend == "both") {
    const std::filesystem::path dir =
        std::filesystem::path(options.dir) / ("kafka-bench-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    {
      auto store = relance::store::open_sqlite_store({.path = (dir / "relance.db").string()});
      if (!store) fail("sqlite: " + store.error().to_string());
      const Measure measure = pipeline(bootstrap, options, **store, "bench-sqlite");
      print("(ii) KafkaSource+Writer+engine, SQLite", measure);
      std::printf("     ratio (ii)/(i) = %.3f\n", measure.rate() / bare.rate());
    }
    std::filesystem::remove_all(dir);
  }
  if (options.backend == "postgres" || options.backend == "both") {
    auto postgres = relance::testing::PostgresCluster::start({.fsync = true});
    if (!postgres) fail("postgres: " + postgres.error().to_string());
    auto database = (*postgres)->create_database("bench");
    if (!database) fail("postgres: " + database.error().to_string());
    if (options.pg_profile) enable_pg_profile(**postgres, *database);
    {
      auto store = relance::store::open_postgres_store({.url = (*postgres)->url(*database)});
      if (!store) fail("postgres store: " + store.error().to_string());
      const Measure measure = pipeline(bootstrap, options, **store, "bench-postgres");
      print("(ii) KafkaSource+Writer+engine, PostgreSQL", measure);
      std::printf("     ratio (ii)/(i) = %.3f\n", measure.rate() / bare.rate());
      if (options.pg_profile) print_pg_profile(**postgres, *database);
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return 0;
}
