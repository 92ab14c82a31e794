#include "daemon.hpp"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "connectors/kafka/event_publisher.hpp"
#include "connectors/kafka/ownership.hpp"
#include "connectors/kafka/source.hpp"
#include "connectors/kafka/writer_destination.hpp"
#include "connectors/registry.hpp"
#include "core/clock.hpp"
#include "http/server.hpp"
#include "ingest/writer.hpp"
#include "log/log.hpp"
#include "metrics/metrics.hpp"
#include "outbox/dispatcher.hpp"
#include "outbox/recheck.hpp"
#include "sinks.hpp"
#include "state/alert_topic.hpp"
#include "state/dunning_applier.hpp"
#include "state/dunning_setup.hpp"
#include "state/engine_applier.hpp"
#include "state/views_on_read.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace relance {
namespace {

constexpr std::chrono::milliseconds drain_poll_interval{5};

log::Level to_log_level(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::debug:
      return log::Level::debug;
    case config::LogLevel::info:
      return log::Level::info;
    case config::LogLevel::warn:
      return log::Level::warn;
    case config::LogLevel::error:
      return log::Level::error;
  }
  return log::Level::info;
}

Result<std::unique_ptr<store::Store>> open_store(const config::StoreConfig& config,
                                                 metrics::Registry& registry) {
  if (config.backend == config::StoreBackend::postgres) {
    return store::open_postgres_store(
        store::PostgresOptions{.url = config.postgres_url, .metrics = &registry});
  }
  const std::filesystem::path path(config.sqlite_path);
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
      return Error{"store.sqlite_path",
                   "cannot create the folder " + path.parent_path().string() + ": " + ec.message()};
    }
  }
  return store::open_sqlite_store(store::SqliteOptions{config.sqlite_path});
}

}  // namespace

struct Daemon::Impl {
  config::Config config;
  // Declaration order is destruction order reversed: the server uses the writer, which uses
  // the store and the registry.
  metrics::Registry registry;
  std::unique_ptr<store::Store> store;
  // The receivable engine, fed by the writer: it outlives the writer.
  std::unique_ptr<state::EngineApplier> engine;
  // Dunning (dunning.enabled): the scheduler decorating the engine in the writer's
  // transaction. Destroyed after the writer, before the engine.
  std::unique_ptr<state::DunningApplier> dunning;
  // GET /v1/receivables and /v1/customers, and the outbox's recheck: documents from the blobs.
  std::unique_ptr<state::ViewsOnRead> views;
  std::unique_ptr<ingest::Writer> writer;
  // The dispatcher delivers what the writer put in the outbox through the sinks.
  core::SystemClock clock;
  std::vector<std::unique_ptr<connectors::Sink>> sinks;
  std::unique_ptr<outbox::Dispatcher> dispatcher;
  // The Kafka source (kafka.enabled) hands its batches to the writer; /readyz asks it.
  std::unique_ptr<connectors::kafka::WriterDestination> kafka_destination;
  std::unique_ptr<connectors::kafka::KafkaSource> kafka;
  // kafka.enabled: the customers of the partitions this daemon owns (source -> dispatcher).
  std::shared_ptr<connectors::kafka::Ownership> ownership;
  // kafka.webhook_publish: POST /v1/events goes to Kafka; destroyed after the server.
  std::unique_ptr<connectors::kafka::EventPublisher> publisher;
  std::unique_ptr<http::Server> server;
  std::mutex stop_mutex;
  bool stopped = false;
};

Result<std::unique_ptr<Daemon>> Daemon::start(const config::Config& config) {
  log::set_level(to_log_level(config.log_level));
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  auto store = open_store(config.store, impl->registry);
  if (!store) return store.error();
  impl->store = std::move(store).value();
  // Loads the stored state (or rebuilds it from the journal) before the writer takes events.
  auto engine_options = state::engine_options(config.engine);
  if (!engine_options) return engine_options.error();
  auto engine = state::EngineApplier::open(*impl->store, *engine_options);
  if (!engine) return engine.error();
  impl->engine = std::move(engine).value();
  // kafka.alerts_topic: every alert raised or resolved (engine and dunning) also goes to the
  // topic, through the outbox (sink kafka.alerts, daemon/sinks.cpp).
  if (!config.kafka.alerts_topic.empty()) {
    impl->engine->publish_alerts_to(std::string(state::alerts_sink_name));
  }
  ingest::Applier* applier = impl->engine.get();
  std::chrono::milliseconds advance_interval{60'000};
  if (config.dunning.enabled) {
    // Policies, templates, rates and calendars are read once, here: a bad file stops the
    // start with its name, rather than the first reminder.
    auto setup = state::load_dunning_setup(config);
    if (!setup) return setup.error();
    auto dunning =
        state::DunningApplier::open(*impl->store, *impl->engine, std::move(setup).value());
    if (!dunning) return dunning.error();
    impl->dunning = std::move(dunning).value();
    applier = impl->dunning.get();
    // kafka.actions_topic: every action also goes to the topic, through the outbox as the rest.
    if (!config.kafka.actions_topic.empty()) impl->dunning->copy_actions_to("kafka");
    // Idle, the writer looks for due steps at least this often.
    advance_interval = std::min(advance_interval, config.dunning.tick_interval);
    log::info("dunning enabled",
              {{"receivables_scheduled", impl->dunning->glue().scheduler().scheduled_count()},
               {"policies", impl->dunning->glue().setup().policies.policies().size()}});
  }
  if (config.kafka.enabled) {
    // Several daemons: the customers of the partitions the group gives this one.
    const auto partitioner = config.kafka.client.find("partitioner");
    auto placed = connectors::kafka::partitioner_of(
        partitioner == config.kafka.client.end() ? "" : partitioner->second);
    if (!placed) return placed.error();
    impl->ownership = std::make_shared<connectors::kafka::Ownership>(*placed);
    // Time alone changes receivables of every customer in memory: only the owned ones are
    // written, the others' owner writes them. Set before the writer's thread starts.
    impl->engine->set_ownership([ownership = impl->ownership](std::string_view customer) {
      return ownership->owns(customer);
    });
  }
  impl->views = std::make_unique<state::ViewsOnRead>(*impl->store, *engine_options, impl->clock);
  impl->writer = std::make_unique<ingest::Writer>(
      *impl->store,
      ingest::WriterLimits{.batch_events_max = config.writer.batch_events_max,
                           .batch_delay_max = config.writer.batch_delay_max,
                           .queue_events_max = config.writer.queue_events_max,
                           .advance_interval = advance_interval},
      impl->registry, nullptr, applier);
  auto sinks = make_sinks(config, impl->clock);
  if (!sinks) {
    impl->writer->stop();
    return sinks.error();
  }
  impl->sinks = std::move(sinks).value();
  std::map<std::string, connectors::Sink*> sinks_by_name;
  for (const auto& sink : impl->sinks) sinks_by_name.emplace(sink->name(), sink.get());
  // Several daemons (kafka.enabled): each sends only for the customers of the partitions the
  // group gave it, and takes over what a dead one left in `sending` after a lease longer than
  // any sink's deadline.
  auto dispatch_options = dispatcher_options(config.dispatcher);
  if (config.kafka.enabled) {
    dispatch_options.owns = [ownership = impl->ownership](std::string_view customer) {
      return ownership->owns(customer);
    };
    dispatch_options.sending_lease =
        2 * std::max(config.email.smtp.total_timeout, config.crm.total_timeout) +
        std::chrono::seconds(30);
  }
  impl->dispatcher = std::make_unique<outbox::Dispatcher>(
      *impl->store, impl->clock, std::move(sinks_by_name),
      outbox::recheck_from_views(
          [views = impl->views.get()](std::string_view id) { return views->receivable(id); }),
      std::move(dispatch_options), &impl->registry);
  if (impl->dunning) {
    // Actions the writer enqueued go out now rather than at the next poll.
    impl->dunning->set_on_enqueued([dispatcher = impl->dispatcher.get()] { dispatcher->notify(); });
  }
  // Rows a previous run left in `sending` first: requeued, or parked as dead when their sink
  // cannot drop a second copy (see outbox::Dispatcher::recover).
  if (auto started = impl->dispatcher->start(); !started) {
    impl->writer->stop();
    return started.error();
  }
  if (config.kafka.enabled) {
    impl->kafka_destination =
        std::make_unique<connectors::kafka::WriterDestination>(*impl->writer, *impl->store);
    connectors::kafka::SourceOptions options;
    options.brokers = config.kafka.brokers;
    options.group_id = config.kafka.group_id;
    options.topics = config.kafka.topics;
    options.dead_letter_topic = config.kafka.dead_letter_topic;
    options.batch_messages_max = config.kafka.batch_messages_max;
    options.client = config.kafka.client;
    options.drain_timeout = config.shutdown_timeout;
    options.ownership = impl->ownership;
    // Several daemons on one store: new partitions come with customers another daemon changed
    // meanwhile; the writer reloads the engine (and the dunning schedule) from the store before
    // it applies any of their events.
    options.on_assigned = [engine = impl->engine.get()](const std::set<std::int32_t>&) {
      engine->request_refresh();
    };
    if (impl->dunning) {
      // Each daemon schedules the customers of its partitions only; a new assignment makes the
      // writer rescan which those are before its next transaction.
      impl->dunning->set_ownership([ownership = impl->ownership](std::string_view customer) {
        return ownership->owns(customer);
      });
      options.on_assigned = [dunning = impl->dunning.get()](const std::set<std::int32_t>&) {
        dunning->ownership_changed();
      };
      options.on_revoked = [dunning = impl->dunning.get()](const std::set<std::int32_t>&) {
        dunning->ownership_reduced();
      };
    }
    auto source = connectors::kafka::KafkaSource::start(std::move(options),
                                                        *impl->kafka_destination, impl->registry);
    if (!source) {
      impl->writer->stop();
      return source.error();
    }
    impl->kafka = std::move(source).value();
  }
  if (config.kafka.enabled && config.kafka.webhook_publish) {
    auto publisher = connectors::kafka::EventPublisher::create(
        connectors::kafka::ProducerOptions{.brokers = config.kafka.brokers,
                                           .client = config.kafka.client,
                                           .client_id = "relanced-webhook"},
        config.kafka.topics.empty() ? std::string() : config.kafka.topics.front(),
        config.writer.queue_events_max, impl->registry);
    if (!publisher) {
      if (impl->kafka) impl->kafka->stop();
      impl->writer->stop();
      return publisher.error();
    }
    impl->publisher = std::move(publisher).value();
  }
  auto server = http::Server::start(
      config.http, *impl->store, *impl->writer, impl->registry, config.writer.batch_events_max,
      *impl->views,
      [kafka = impl->kafka.get(), group = config.kafka.group_id]() -> std::optional<std::string> {
        if (kafka == nullptr || kafka->assigned_partitions() > 0) return std::nullopt;
        return "the Kafka consumer owns no partition yet (group " + group + ")";
      },
      impl->publisher.get());
  if (!server) {
    if (impl->kafka) impl->kafka->stop();
    impl->writer->stop();
    return server.error();
  }
  impl->server = std::move(server).value();
  log::info("relanced started", {{"address", config.http.listen_address},
                                 {"port", impl->server->port()},
                                 {"http_threads", config.http.threads},
                                 // Not the PostgreSQL URL: it may hold a password.
                                 {"store", config.store.backend == config::StoreBackend::postgres
                                               ? std::string("postgres")
                                               : config.store.sqlite_path}});
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Daemon::~Daemon() { stop(); }

std::uint16_t Daemon::http_port() const { return impl_->server->port(); }

void Daemon::stop() {
  std::lock_guard lock(impl_->stop_mutex);
  if (impl_->stopped) return;
  impl_->stopped = true;
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + impl_->config.shutdown_timeout;
  log::info("relanced stopping", {{"requests_in_flight", impl_->server->requests_in_flight()}});
  // 1. No new connection or request; requests already read wait for their commit.
  impl_->server->stop_accepting();
  while (impl_->server->requests_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(drain_poll_interval);
  }
  const std::size_t unanswered = impl_->server->requests_in_flight();
  // 2. The Kafka source hands over what it read and leaves its group (what it could not store
  // is read again by the partitions' next owner).
  if (impl_->kafka) impl_->kafka->stop();
  // 3. Commit what is queued (a request cut by the deadline is still committed or refused as a
  // whole; its client just gets no answer and will retry, which dedupe makes harmless).
  impl_->writer->stop();
  // 4. The dispatcher ends its current send (each sink has its own deadline) and stops.
  impl_->dispatcher->stop();
  impl_->server->stop();
  impl_->server.reset();
  impl_->publisher.reset();  // after the server: answers what is still in flight
  impl_->kafka.reset();
  impl_->writer.reset();
  impl_->dispatcher.reset();
  impl_->dunning.reset();
  impl_->engine.reset();
  impl_->store.reset();
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  if (unanswered > 0) {
    log::warn("relanced stopped before answering every request",
              {{"unanswered", unanswered}, {"elapsed_ms", elapsed.count()}});
  }
  log::info("relanced stopped", {{"elapsed_ms", elapsed.count()}});
}

int run_until_signal(const config::Config& config) {
  // Block the signals before any thread starts so that every thread inherits the mask and only
  // sigwait() below receives them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A client that disconnects must not kill the process with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  auto daemon = Daemon::start(config);
  if (!daemon) {
    log::error("relanced could not start",
               {{"field", daemon.error().field}, {"reason", daemon.error().message}});
    return 1;
  }
  int received = 0;
  sigwait(&signals, &received);
  log::info("relanced received a signal", {{"signal", received == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*daemon)->stop();
  return 0;
}

}  // namespace relance
