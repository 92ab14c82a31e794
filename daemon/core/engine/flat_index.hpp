#pragma once
// Private to the engine: an open-addressing index from a string key to 32-bit values that does
// not store the keys (the caller's `matches` tells whether a value answers to a key). About
// 8-16 bytes per entry where a node-based map costs ~70: it keeps a million receivables small.

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/assert.hpp"
#include "core/large_pages.hpp"

namespace relance::core::engine {

// FNV-1a, 64 bits: stable across runs and platforms (used for ids and tie-breaks too).
inline std::uint64_t fnv1a(std::string_view text, std::uint64_t seed = 14695981039346656037ull) {
  std::uint64_t h = seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

class FlatIndex {
 public:
  // The key's hash, for the calls below that take it: a caller that needs one key in several
  // calls (prefetch, then insert or look up) hashes it once.
  static std::uint32_t tag_of(std::string_view key) {
    std::uint64_t h = fnv1a(key);
    auto tag = static_cast<std::uint32_t>(h ^ (h >> 32));
    return tag < 2 ? tag + 2 : tag;
  }

  // Starts loading the key's first slot: the tables are far larger than the caches, so a lookup
  // is a miss; issuing the misses of one event together lets them overlap.
  void prefetch(std::uint32_t tag) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[position(tag, slots_.size() - 1)]);
  }

  void insert(std::string_view key, std::uint32_t value) { insert_tag(tag_of(key), value); }
  void insert_tag(std::uint32_t tag, std::uint32_t value) {
    if ((used_ + 1) * 4 > slots_.size() * 3 || slots_.empty()) grow();
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = position(tag, mask);; i = (i + 1) & mask) {
      if (slots_[i].tag == empty_tag) {
        slots_[i] = {tag, value};
        ++used_;
        return;
      }
    }
  }

  // Removes the entry (key, value) if present. Leaves a tombstone so probing stays correct.
  void erase(std::string_view key, std::uint32_t value) {
    if (slots_.empty()) return;
    std::uint32_t tag = tag_of(key);
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = position(tag, mask); slots_[i].tag != empty_tag; i = (i + 1) & mask) {
      if (slots_[i].tag == tag && slots_[i].value == value) {
        slots_[i].tag = tombstone_tag;
        return;
      }
    }
  }

  // Calls f(value) for every value whose tag matches and for which matches(value) holds.
  template <class Matches, class F>
  void for_each(std::string_view key, Matches&& matches, F&& f) const {
    for_each_tag(tag_of(key), matches, f);
  }
  template <class Matches, class F>
  void for_each_tag(std::uint32_t tag, Matches&& matches, F&& f) const {
    if (slots_.empty()) return;
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = position(tag, mask); slots_[i].tag != empty_tag; i = (i + 1) & mask) {
      if (slots_[i].tag == tag && matches(slots_[i].value)) f(slots_[i].value);
    }
  }

  template <class Matches>
  std::uint32_t find_first(std::string_view key, Matches&& matches) const {
    return find_first_tag(tag_of(key), matches);
  }
  template <class Matches>
  std::uint32_t find_first_tag(std::uint32_t tag, Matches&& matches) const {
    if (slots_.empty()) return 0xffffffffu;
    std::size_t mask = slots_.size() - 1;
    for (std::size_t i = position(tag, mask); slots_[i].tag != empty_tag; i = (i + 1) & mask) {
      if (slots_[i].tag == tag && matches(slots_[i].value)) return slots_[i].value;
    }
    return 0xffffffffu;
  }

  std::size_t bytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint32_t tag = empty_tag;
    std::uint32_t value = 0;
  };
  static constexpr std::uint32_t empty_tag = 0;
  static constexpr std::uint32_t tombstone_tag = 1;

  static std::size_t position(std::uint32_t tag, std::size_t mask) {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(tag) * 0x9E3779B97F4A7C15ull) >>
                                    20) &
           mask;
  }

  void grow() {
    std::vector<Slot, LargePageAllocator<Slot>> old = std::move(slots_);
    std::size_t live = 0;
    for (const Slot& s : old) live += s.tag >= 2 ? 1 : 0;
    std::size_t size = 16;
    while (size * 3 < (live + 1) * 4 * 2) size *= 2;  // at most ~37% full after growing
    slots_.assign(size, Slot{});
    used_ = 0;
    std::size_t mask = size - 1;
    for (const Slot& s : old) {
      if (s.tag < 2) continue;
      for (std::size_t i = position(s.tag, mask);; i = (i + 1) & mask) {
        if (slots_[i].tag == empty_tag) {
          slots_[i] = s;
          ++used_;
          break;
        }
      }
    }
  }

  std::vector<Slot, LargePageAllocator<Slot>> slots_;
  std::size_t used_ = 0;  // live entries and tombstones
};

}  // namespace relance::core::engine
