#pragma once
// Memory in transparent huge pages (madvise), for large arrays read at random or filled at once:
// the engine's index tables and state blocks, SQLite's page cache. A lookup in a table of a
// million entries is a random access: with 4 KiB pages nearly every one also misses the TLB, which
// costs as much as the cache miss itself (more under virtualization); and memory touched all at
// once takes a fault per 2 MiB instead of per 4 KiB. Small arrays use the ordinary heap.

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace relance::core {

inline constexpr std::size_t large_page_bytes = std::size_t{2} << 20;

constexpr std::size_t round_up_to_large_pages(std::size_t bytes) {
  return (bytes + large_page_bytes - 1) & ~(large_page_bytes - 1);
}

// At least `bytes`, aligned on a huge page and asking for them; nullptr when out of memory.
// Released with std::free.
inline void* allocate_large_pages(std::size_t bytes) {
  const std::size_t rounded = round_up_to_large_pages(bytes);
  void* memory = std::aligned_alloc(large_page_bytes, rounded);
  // Advice only: without THP the memory is ordinary pages.
  if (memory != nullptr) (void)madvise(memory, rounded, MADV_HUGEPAGE);
  return memory;
}

template <class T>
struct LargePageAllocator {
  using value_type = T;
  LargePageAllocator() = default;
  template <class U>
  LargePageAllocator(const LargePageAllocator<U>&) {}

  static bool large(std::size_t n) { return n * sizeof(T) >= large_page_bytes; }

  T* allocate(std::size_t n) {
    if (!large(n)) return std::allocator<T>().allocate(n);
    void* p = allocate_large_pages(n * sizeof(T));
    if (p == nullptr) throw std::bad_alloc();
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

}  // namespace relance::core
