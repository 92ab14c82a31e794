#pragma once
// Private to the engine: a vector that never moves its elements (references stay valid while it
// grows, as with std::deque) and indexes with a shift and a mask. std::deque keeps 512-byte
// blocks, 3 receivables each, and its operator[] is general iterator arithmetic; here blocks hold
// 1024 elements, allocated raw so that an unused tail is never touched (not resident).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace relance::core::engine {

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
      blocks_.push_back(
          static_cast<T*>(::operator new (block_size * sizeof(T), std::align_val_t{alignof(T)})));
    }
    T* slot = blocks_[size_ >> block_bits] + (size_ & (block_size - 1));
    ::new (static_cast<void*>(slot)) T(std::forward<Args>(args)...);
    ++size_;
    return *slot;
  }
  void push_back(T&& value) { emplace_back(std::move(value)); }

  void clear() {
    for (std::size_t i = size_; i > 0; --i) (*this)[i - 1].~T();
    for (T* block : blocks_) ::operator delete (block, std::align_val_t{alignof(T)});
    blocks_.clear();
    size_ = 0;
  }

 private:
  std::vector<T*> blocks_;
  std::size_t size_ = 0;
};

}  // namespace relance::core::engine
