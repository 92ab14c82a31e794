#pragma once
// Process metrics in the Prometheus text exposition format. Counters and histograms are
// lock-free to update from any thread; registration happens at start-up.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace relance::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(std::uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // Cumulative counts per bucket (last is +Inf), total count and sum.
  struct Snapshot {
    std::vector<double> upper_bounds;
    std::vector<std::uint64_t> cumulative_counts;
    std::uint64_t count = 0;
    double sum = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // one per bound, plus +Inf
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  Registry();
  ~Registry();  // out of line: Family is complete only in metrics.cpp
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Returns the same instrument for the same name and labels. `help` is the one-line HELP text.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& upper_bounds, const Labels& labels = {});
  // Prometheus text format 0.0.4.
  std::string render() const;

 private:
  struct Family;
  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<Family>> families_;
};

// Buckets for latencies in seconds, from 100 µs to 10 s.
std::vector<double> latency_buckets_seconds();

}  // namespace relance::metrics
