#include "memory/page_hints.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace edgerun::memory {

void page_out(const void* data, size_t bytes) {
#if defined(MADV_PAGEOUT)
  static const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + page - 1) / page * page;
  const uintptr_t last = (begin + bytes) / page * page;
  if (last <= first) return;
  // A hint: kernels without MADV_PAGEOUT (before Linux 5.4) refuse it, and nothing changes.
  ::madvise(reinterpret_cast<void*>(first), last - first, MADV_PAGEOUT);
#else
  (void)data;
  (void)bytes;
#endif
}

}  // namespace edgerun::memory
