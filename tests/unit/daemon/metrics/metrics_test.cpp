#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace relance::metrics {
namespace {

TEST(Registry, counter_renders_help_type_and_value) {
  Registry registry;
  registry.counter("relance_events_total", "Events received.").inc(3);
  EXPECT_EQ(registry.render(),
            "# HELP relance_events_total Events received.\n"
            "# TYPE relance_events_total counter\n"
            "relance_events_total 3\n");
}

TEST(Registry, same_name_and_labels_return_the_same_instrument) {
  Registry registry;
  Counter& a = registry.counter("c_total", "h", {{"source", "erp"}});
  Counter& b = registry.counter("c_total", "h", {{"source", "erp"}});
  Counter& other = registry.counter("c_total", "h", {{"source", "bank"}});
  EXPECT_EQ(&a, &b);
  EXPECT_NE(&a, &other);
}

TEST(Registry, help_and_type_appear_once_per_family_with_every_labelled_child) {
  Registry registry;
  registry.counter("c_total", "Per outcome.", {{"outcome", "appended"}}).inc(2);
  registry.counter("c_total", "Per outcome.", {{"outcome", "duplicate"}}).inc(1);
  EXPECT_EQ(registry.render(),
            "# HELP c_total Per outcome.\n"
            "# TYPE c_total counter\n"
            "c_total{outcome=\"appended\"} 2\n"
            "c_total{outcome=\"duplicate\"} 1\n");
}

TEST(Registry, label_values_escape_backslash_quote_and_newline) {
  Registry registry;
  registry.gauge("g", "h", {{"path", "C:\\dir \"x\"\nend"}, {"b", "2"}}).set(1);
  EXPECT_NE(registry.render().find("g{path=\"C:\\\\dir \\\"x\\\"\\nend\",b=\"2\"} 1\n"),
            std::string::npos)
      << registry.render();
}

TEST(Registry, help_text_escapes_backslash_and_newline) {
  Registry registry;
  registry.gauge("g", "line one\nback\\slash \"quoted\"").set(0);
  EXPECT_NE(registry.render().find("# HELP g line one\\nback\\\\slash \"quoted\"\n"),
            std::string::npos)
      << registry.render();
}

TEST(Registry, gauge_renders_fractions_and_special_values) {
  Registry registry;
  registry.gauge("a", "h").set(0.25);
  registry.gauge("b", "h").set(-3);
  registry.gauge("c", "h").set(std::numeric_limits<double>::infinity());
  registry.gauge("d", "h").set(std::numeric_limits<double>::quiet_NaN());
  const std::string text = registry.render();
  EXPECT_NE(text.find("\na 0.25\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nb -3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nc +Inf\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nd NaN\n"), std::string::npos) << text;
}

TEST(Registry, histogram_renders_cumulative_buckets_sum_and_count) {
  Registry registry;
  Histogram& h = registry.histogram("lat_seconds", "Latency.", {0.5, 1, 5}, {{"op", "commit"}});
  h.observe(0.125);
  h.observe(0.5);  // bounds are inclusive
  h.observe(0.75);
  h.observe(7);
  EXPECT_EQ(registry.render(),
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"commit\",le=\"0.5\"} 2\n"
            "lat_seconds_bucket{op=\"commit\",le=\"1\"} 3\n"
            "lat_seconds_bucket{op=\"commit\",le=\"5\"} 3\n"
            "lat_seconds_bucket{op=\"commit\",le=\"+Inf\"} 4\n"
            "lat_seconds_sum{op=\"commit\"} 8.375\n"
            "lat_seconds_count{op=\"commit\"} 4\n");
}

TEST(Histogram, snapshot_counts_match_the_inf_bucket) {
  Histogram h({1, 2});
  h.observe(0.5);
  h.observe(1.5);
  h.observe(3);
  const auto snap = h.snapshot();
  ASSERT_EQ(snap.cumulative_counts.size(), 3u);
  EXPECT_EQ(snap.cumulative_counts[0], 1u);
  EXPECT_EQ(snap.cumulative_counts[1], 2u);
  EXPECT_EQ(snap.cumulative_counts[2], 3u);
  EXPECT_EQ(snap.count, 3u);
  EXPECT_DOUBLE_EQ(snap.sum, 5.0);
}

TEST(Registry, unlabelled_histogram_puts_le_alone_in_braces) {
  Registry registry;
  registry.histogram("batch_events", "Events per batch.", {1, 10}).observe(4);
  EXPECT_EQ(registry.render(),
            "# HELP batch_events Events per batch.\n"
            "# TYPE batch_events histogram\n"
            "batch_events_bucket{le=\"1\"} 0\n"
            "batch_events_bucket{le=\"10\"} 1\n"
            "batch_events_bucket{le=\"+Inf\"} 1\n"
            "batch_events_sum 4\n"
            "batch_events_count 1\n");
}

TEST(Registry, latency_buckets_render_without_exponent_notation) {
  Registry registry;
  registry.histogram("l", "h", latency_buckets_seconds());
  const std::string text = registry.render();
  EXPECT_NE(text.find("le=\"0.0001\""), std::string::npos) << text;
  EXPECT_NE(text.find("le=\"10\""), std::string::npos) << text;
  EXPECT_EQ(text.find("e-"), std::string::npos) << text;
}

TEST(Registry, families_render_in_registration_order) {
  Registry registry;
  registry.gauge("zeta", "h");
  registry.counter("alpha_total", "h");
  const std::string text = registry.render();
  EXPECT_LT(text.find("zeta"), text.find("alpha_total"));
}

TEST(Metrics, concurrent_updates_are_all_counted) {
  Registry registry;
  Counter& counter = registry.counter("c_total", "h");
  Histogram& histogram = registry.histogram("h", "h", {0.5});
  constexpr int threads = 4;
  constexpr int per_thread = 20000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) {
        counter.inc();
        histogram.observe(1);
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(counter.value(), std::uint64_t{threads * per_thread});
  const auto snap = histogram.snapshot();
  EXPECT_EQ(snap.count, std::uint64_t{threads * per_thread});
  EXPECT_DOUBLE_EQ(snap.sum, double{threads * per_thread});
}

TEST(RegistryDeathTest, registering_a_name_with_another_type_is_a_bug) {
  Registry registry;
  registry.counter("x", "h");
  EXPECT_DEATH(registry.gauge("x", "h"), "different types");
}

TEST(RegistryDeathTest, invalid_metric_name_is_a_bug) {
  Registry registry;
  EXPECT_DEATH(registry.counter("1bad-name", "h"), "not valid");
}

}  // namespace
}  // namespace relance::metrics
