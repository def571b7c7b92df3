#include "memory/page_hints.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace edgerun::memory {

void advise_whole_pages(const void* data, size_t bytes, int advice) {
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, advice);
}

void* allocate_hinted(size_t bytes, size_t alignment) {
  if (bytes < kHugePage) {
    return std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
  }
  // aligned_alloc wants a multiple of the alignment; the tail past `bytes` is never touched.
  void* p = std::aligned_alloc(kHugePage, (bytes + kHugePage - 1) / kHugePage * kHugePage);
  if (p != nullptr) ::madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
  return p;
}

void page_out(const void* data, size_t bytes) {
#if defined(MADV_PAGEOUT)
  // Kernels before Linux 5.4 refuse MADV_PAGEOUT, and nothing changes.
  advise_whole_pages(data, bytes, MADV_PAGEOUT);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace edgerun::memory
