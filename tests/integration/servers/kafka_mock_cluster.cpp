// A Kafka cluster for tests: librdkafka's mock cluster speaks the real Kafka protocol on
// loopback TCP, so relanced and kcat talk to it as to real brokers.
//
//   kafka_mock_cluster [--brokers N] [--topic NAME:PARTITIONS]... [--exit-on-stdin-eof]
//
// Prints one line, "PORT <first broker port> BOOTSTRAP <host:port,...>", then runs until SIGTERM
// or SIGINT (or, with --exit-on-stdin-eof, until its stdin closes, for use from a shell).
// The first line is all it prints on stdout: the test harness closes the pipe after it.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace {

volatile sig_atomic_t stop_requested = 0;

void on_signal(int) { stop_requested = 1; }

int usage(const char* why) {
  std::fprintf(stderr,
               "kafka_mock_cluster: %s\nusage: kafka_mock_cluster [--brokers N] "
               "[--topic NAME:PARTITIONS]... [--exit-on-stdin-eof]\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  bool exit_on_stdin_eof = false;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
      if (brokers < 1 || brokers > 16) return usage("--brokers takes 1..16");
    } else if (arg == "--topic" && i + 1 < argc) {
      const std::string spec = argv[++i];
      const auto colon = spec.rfind(':');
      const int partitions = colon == std::string::npos ? 0 : std::atoi(spec.c_str() + colon + 1);
      if (colon == 0 || partitions < 1 || partitions > 1000) {
        return usage("--topic takes NAME:PARTITIONS, with 1..1000 partitions");
      }
      topics.emplace_back(spec.substr(0, colon), partitions);
    } else if (arg == "--exit-on-stdin-eof") {
      exit_on_stdin_eof = true;
    } else {
      return usage(("unknown argument " + arg).c_str());
    }
  }

  // SIGTERM and SIGINT end the wait below; SIGPIPE must not kill us once the harness closed
  // the read end of our stdout.
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle only hosts the mock cluster's threads; it produces nothing itself.
  if (rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error) != RD_KAFKA_CONF_OK) {
    return usage(error);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: rd_kafka_new: %s\n", error);
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    std::fprintf(stderr, "kafka_mock_cluster: rd_kafka_mock_cluster_new failed\n");
    rd_kafka_destroy(rk);
    return 1;
  }
  for (const auto& [name, partitions] : topics) {
    const int replication = brokers < 3 ? brokers : 3;
    const rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, replication);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::fprintf(stderr, "kafka_mock_cluster: cannot create topic %s: %s\n", name.c_str(),
                   rd_kafka_err2str(err));
      rd_kafka_mock_cluster_destroy(cluster);
      rd_kafka_destroy(rk);
      return 1;
    }
  }

  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  // "127.0.0.1:40123,127.0.0.1:40125,...": the first broker's port, for the harness.
  const auto first = bootstrap.substr(0, bootstrap.find(','));
  const auto colon = first.rfind(':');
  const int port = colon == std::string::npos ? 0 : std::atoi(first.c_str() + colon + 1);
  std::printf("PORT %d BOOTSTRAP %s\n", port, bootstrap.c_str());
  std::fflush(stdout);

  while (!stop_requested) {
    if (exit_on_stdin_eof) {
      pollfd fd{STDIN_FILENO, POLLIN, 0};
      if (::poll(&fd, 1, 200) > 0) {
        char buffer[256];
        if (::read(STDIN_FILENO, buffer, sizeof buffer) <= 0) break;
      }
    } else {
      ::usleep(200 * 1000);
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}
