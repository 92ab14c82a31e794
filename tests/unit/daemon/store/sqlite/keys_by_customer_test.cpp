#include "store/sqlite/keys_by_customer.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace relance::store::sqlite {
namespace {

using Ids = std::vector<std::string>;

TEST(KeysByCustomer, answers_with_what_was_added_before_in_byte_order_each_once) {
  KeysByCustomer index;
  index.add("C1", "INV-9");
  index.add("C2", "INV-1");
  index.add("C1", "INV-10");
  index.add("C1", "INV-9");
  EXPECT_EQ(index.of("C1"), (Ids{"INV-10", "INV-9"}));
  EXPECT_EQ(index.of("C2"), (Ids{"INV-1"}));
  EXPECT_EQ(index.of("C3"), Ids{});
  index.add("C2", "INV-0");
  EXPECT_EQ(index.of("C2"), (Ids{"INV-0", "INV-1"}));
}

TEST(KeysByCustomer, its_thread_merges_a_grown_log_and_nothing_is_lost) {
  KeysByCustomer index;
  const std::string big(1000, 'x');
  const int count = static_cast<int>(KeysByCustomer::merge_bytes / big.size()) + 10;
  for (int i = 0; i < count; ++i) index.add("C" + std::to_string(i % 3), big + std::to_string(i));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (index.merges() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(index.merges(), 1u);
  std::size_t total = 0;
  for (int c = 0; c < 3; ++c) total += index.of("C" + std::to_string(c)).size();
  EXPECT_EQ(total, static_cast<std::size_t>(count));
}

// The writer adds, then says so (as its commit would); a reader that saw that finds the entry,
// whether the log was merged by the thread, by another reader or by itself.
TEST(KeysByCustomer, a_reader_finds_everything_added_before_it_asked) {
  KeysByCustomer index;
  constexpr int count = 60000;
  std::atomic<int> added{0};
  std::thread writer([&] {
    for (int i = 0; i < count; ++i) {
      index.add("C" + std::to_string(i % 4), "INV-" + std::to_string(i));
      added.store(i + 1, std::memory_order_release);
    }
  });
  std::vector<std::thread> readers;
  std::atomic<int> misses{0};
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      while (true) {
        const int seen = added.load(std::memory_order_acquire);
        const std::string customer = "C" + std::to_string(r);
        const Ids ids = index.of(customer);
        int expected = 0;
        for (int i = r; i < seen; i += 4) ++expected;
        if (static_cast<int>(ids.size()) < expected) misses.fetch_add(1);
        if (seen == count) return;
      }
    });
  }
  writer.join();
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(misses.load(), 0);
  EXPECT_EQ(index.of("C3").size(), static_cast<std::size_t>(count / 4));
}

}  // namespace
}  // namespace relance::store::sqlite
