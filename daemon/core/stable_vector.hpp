#pragma once
// A vector that never moves its elements (references stay valid while it grows, as with
// std::deque) and indexes with a shift and a mask, for the engine's receivables and the
// scheduler's entries. std::deque keeps 512-byte blocks, 3 receivables each (one per block for
// larger elements, a malloc each), and its operator[] is general iterator arithmetic; here blocks
// hold 1024 elements, allocated raw so that an unused tail is never touched (not resident). Blocks
// are carved from chunks (multiples of 2 MiB) that ask for transparent huge pages: the engine's
// state grows by hundreds of MiB, and a fault per 4 KiB page (slow under virtualization) was ~10%
// of apply().

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include "core/large_pages.hpp"

namespace relance::core {

template <class T>
class StableVector {
 public:
  static constexpr std::size_t block_bits = 10;
  static constexpr std::size_t block_size = std::size_t{1} << block_bits;

  StableVector() = default;
  StableVector(const StableVector&) = delete;
  StableVector& operator=(const StableVector&) = delete;
  ~StableVector() { clear(); }

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  T& operator[](std::size_t i) { return blocks_[i >> block_bits][i & (block_size - 1)]; }
  const T& operator[](std::size_t i) const {
    return blocks_[i >> block_bits][i & (block_size - 1)];
  }
  T& back() { return (*this)[size_ - 1]; }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    if ((size_ & (block_size - 1)) == 0 && (size_ >> block_bits) == blocks_.size()) {
      blocks_.push_back(new_block());
    }
    T* slot = blocks_[size_ >> block_bits] + (size_ & (block_size - 1));
    ::new (static_cast<void*>(slot)) T(std::forward<Args>(args)...);
    ++size_;
    return *slot;
  }
  void push_back(T&& value) { emplace_back(std::move(value)); }

  void clear() {
    for (std::size_t i = size_; i > 0; --i) (*this)[i - 1].~T();
    for (const Chunk& chunk : chunks_) std::free(chunk.memory);
    chunks_.clear();
    blocks_.clear();
    size_ = 0;
  }

 private:
  static constexpr std::size_t block_bytes =
      (block_size * sizeof(T) + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
  // A chunk holds whole blocks and ends on a huge page boundary; its block count (16 to 64) is
  // the one that wastes least of the huge page its last block ends in (resident once touched).
  static constexpr std::size_t blocks_per_chunk = [] {
    std::size_t best = 16;
    for (std::size_t n = 16; n <= 64; ++n) {
      // waste / used, compared without division
      if ((round_up_to_large_pages(n * block_bytes) - n * block_bytes) * (best * block_bytes) <
          (round_up_to_large_pages(best * block_bytes) - best * block_bytes) * (n * block_bytes)) {
        best = n;
      }
    }
    return best;
  }();
  static constexpr std::size_t chunk_bytes =
      round_up_to_large_pages(blocks_per_chunk * block_bytes);
  static_assert(alignof(T) <= alignof(std::max_align_t));

  struct Chunk {
    void* memory;
    std::size_t used;
  };

  T* new_block() {
    if (chunks_.empty() || chunks_.back().used + block_bytes > chunk_bytes) {
      void* memory = allocate_large_pages(chunk_bytes);
      if (memory == nullptr) throw std::bad_alloc();
      chunks_.push_back({memory, 0});
    }
    Chunk& chunk = chunks_.back();
    T* block = reinterpret_cast<T*>(static_cast<char*>(chunk.memory) + chunk.used);
    chunk.used += block_bytes;
    return block;
  }

  std::vector<Chunk> chunks_;
  std::vector<T*> blocks_;
  std::size_t size_ = 0;
};

}  // namespace relance::core
