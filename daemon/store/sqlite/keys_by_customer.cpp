#include "store/sqlite/keys_by_customer.hpp"

#include <cstdint>
#include <cstring>

namespace relance::store::sqlite {

namespace {

void append_field(std::string& log, std::string_view field) {
  const auto size = static_cast<std::uint32_t>(field.size());
  log.append(reinterpret_cast<const char*>(&size), sizeof size);
  log.append(field);
}

std::string_view read_field(std::string_view log, std::size_t& at) {
  std::uint32_t size = 0;
  std::memcpy(&size, log.data() + at, sizeof size);
  at += sizeof size;
  const std::string_view field = log.substr(at, size);
  at += size;
  return field;
}

}  // namespace

KeysByCustomer::KeysByCustomer() : thread_([this] { run(); }) {}

KeysByCustomer::~KeysByCustomer() {
  {
    std::lock_guard lock(log_mutex_);
    stopping_ = true;
  }
  log_grown_.notify_one();
  thread_.join();
}

void KeysByCustomer::add(std::string_view customer_id, std::string_view key) {
  bool grown = false;
  {
    std::lock_guard lock(log_mutex_);
    const std::size_t before = log_.size();
    append_field(log_, customer_id);
    append_field(log_, key);
    grown = before < merge_bytes && log_.size() >= merge_bytes;
  }
  if (grown) log_grown_.notify_one();
}

std::vector<std::string> KeysByCustomer::of(std::string_view customer_id) const {
  std::lock_guard lock(sets_mutex_);
  merge_log();
  const auto found = sets_.find(customer_id);
  if (found == sets_.end()) return {};
  return std::vector<std::string>(found->second.begin(), found->second.end());
}

std::size_t KeysByCustomer::merges() const {
  std::lock_guard lock(sets_mutex_);
  return merges_;
}

void KeysByCustomer::merge_log() const {
  merging_.clear();
  {
    std::lock_guard lock(log_mutex_);
    merging_.swap(log_);
  }
  for (std::size_t at = 0; at < merging_.size();) {
    const std::string_view customer_id = read_field(merging_, at);
    const std::string_view key = read_field(merging_, at);
    auto found = sets_.find(customer_id);
    if (found == sets_.end()) found = sets_.emplace(std::string(customer_id), Keys{}).first;
    // A set, not a sorted vector: ids do not always arrive in their sort order ("INV-10000"
    // after "INV-9999"), and a vector would move the customer's later ids at each such insert.
    Keys& keys = found->second;
    const auto place = keys.lower_bound(key);
    if (place == keys.end() || *place != key) keys.emplace_hint(place, key);
  }
}

void KeysByCustomer::run() {
  while (true) {
    {
      std::unique_lock lock(log_mutex_);
      log_grown_.wait(lock, [&] { return stopping_ || log_.size() >= merge_bytes; });
      if (stopping_) return;
    }
    std::lock_guard lock(sets_mutex_);
    merge_log();
    ++merges_;
  }
}

}  // namespace relance::store::sqlite
