#pragma once
// Which state rows of one kind each customer owns (its receivables, its records), kept in memory
// instead of an index of the state table on (kind, customer_id, key): events come in time order,
// not by customer, so that index took an insert at a random place per new receivable, and each
// commit rewrote most of its pages (in the ingest bench, with 5,000 customers, it halved the
// writer's rate as it grew; 117-119 k events/s without it, 52-60 k with it).
//
// The writer adds a row's key before its transaction commits, so a reader's snapshot never holds
// a row the index lacks; an entry may name a row the snapshot does not hold (yet, or any more, or
// under another owner), which the reader checks against the row itself.
//
// add() only appends to a log: the writer's thread does not walk the sets. A thread of the index
// merges the log into the sets once it has grown, and of() merges what is left before it reads,
// so that it always answers with everything added before it was called.

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/string_map.hpp"

namespace relance::store::sqlite {

class KeysByCustomer {
 public:
  // The log is merged once it holds this many bytes.
  static constexpr std::size_t merge_bytes = 256 * 1024;

  KeysByCustomer();
  ~KeysByCustomer();  // merges nothing more; joins the thread
  KeysByCustomer(const KeysByCustomer&) = delete;
  KeysByCustomer& operator=(const KeysByCustomer&) = delete;

  // Any thread; adding an entry again changes nothing.
  void add(std::string_view customer_id, std::string_view key);
  // The customer's keys, in byte order.
  std::vector<std::string> of(std::string_view customer_id) const;
  // How many times the thread merged the log (tests).
  std::size_t merges() const;

 private:
  using Keys = std::set<std::string, std::less<>>;
  // Called with sets_mutex_ held: takes the log and adds its entries to the sets.
  void merge_log() const;
  void run();

  // Lock order: sets_mutex_, then log_mutex_. add() takes only log_mutex_, briefly.
  mutable std::mutex sets_mutex_;
  mutable core::StringMap<Keys> sets_;  // guarded by sets_mutex_
  mutable std::size_t merges_ = 0;      // guarded by sets_mutex_
  // The log being merged, swapped with log_: each keeps its capacity. Guarded by sets_mutex_.
  mutable std::string merging_;

  mutable std::mutex log_mutex_;
  std::condition_variable log_grown_;
  // Entries as (length, bytes) of customer id then key; guarded by log_mutex_.
  mutable std::string log_;
  bool stopping_ = false;  // guarded by log_mutex_

  std::thread thread_;
};

}  // namespace relance::store::sqlite
