#pragma once
// Private to the engine: an allocator for its large arrays (index tables) that asks the kernel
// for transparent huge pages (madvise). A lookup in a table of a million entries is a random
// access: with 4 KiB pages nearly every one also misses the TLB, which costs as much as the
// cache miss itself (more under virtualization). Small arrays use the ordinary heap.

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace relance::core::engine {

inline constexpr std::size_t large_page_bytes = std::size_t{2} << 20;

template <class T>
struct LargePageAllocator {
  using value_type = T;
  LargePageAllocator() = default;
  template <class U>
  LargePageAllocator(const LargePageAllocator<U>&) {}

  static bool large(std::size_t n) { return n * sizeof(T) >= large_page_bytes; }

  T* allocate(std::size_t n) {
    if (!large(n)) return std::allocator<T>().allocate(n);
    const std::size_t bytes = (n * sizeof(T) + large_page_bytes - 1) & ~(large_page_bytes - 1);
    void* p = std::aligned_alloc(large_page_bytes, bytes);
    if (p == nullptr) throw std::bad_alloc();
    // Advice only: without THP the memory is ordinary pages.
    (void)madvise(p, bytes, MADV_HUGEPAGE);
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) {
    if (!large(n)) {
      std::allocator<T>().deallocate(p, n);
      return;
    }
    std::free(p);
  }
  template <class U>
  bool operator==(const LargePageAllocator<U>&) const {
    return true;
  }
};

}  // namespace relance::core::engine
